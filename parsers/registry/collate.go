package registry

import (
	"encoding/binary"
	"unicode"
)

// collationKey is a key name as the configuration manager compares names
// to keep a subkey list sorted: UTF-16 code units, upcased. A compressed
// name's bytes are zero-extended, as Windows copies them (so 0x9F is
// U+009F there, whatever Name shows; yarp's CompHive holds both that and
// U+0178 under one key).
type collationKey struct {
	b          []byte
	compressed bool
}

func collate(b []byte, compressed bool) collationKey { return collationKey{b, compressed} }

func (k collationKey) len() int {
	if k.compressed {
		return len(k.b)
	}
	return len(k.b) / 2
}

func (k collationKey) unit(i int) uint16 {
	if k.compressed {
		return uint16(k.b[i])
	}
	return binary.LittleEndian.Uint16(k.b[2*i:])
}

// upcase is Windows's RtlUpcaseUnicodeChar where Go's Unicode tables are
// known to agree with it. Windows 10's table predates later Unicode case
// pairs (Georgian Mtavruli, Cherokee lowercase, Latin Extended-D…) and has
// no one-way mappings such as ı→I or ſ→S. Within the ranges below the two
// agree on every unit (checked against the table yarp extracted from
// Windows 10); outside them a unit with a Unicode case pair reports ok
// false.
func upcase(u uint16) (uint16, bool) {
	if u < 0x80 {
		if 'a' <= u && u <= 'z' {
			return u - 'a' + 'A', true
		}
		return u, true
	}
	r := rune(u)
	x := unicode.ToUpper(r)
	if x == r || x > 0xFFFF || unicode.ToLower(x) != r {
		return u, true
	}
	switch {
	case r < 0x0250 && r != 0x023F && r != 0x0240,
		r >= 0x0370 && r < 0x0524 && r != 0x03F3, // Greek, Coptic, Cyrillic
		r >= 0x0561 && r < 0x0587,                // Armenian
		r >= 0xFF41 && r <= 0xFF5A:               // fullwidth Latin
		return uint16(x), true
	}
	return u, false
}

// compareNames orders two names as Windows does: by upcased code units,
// then by length. known is false when two units that differ, up to the
// first difference, have a case pair Windows's table may not share.
func compareNames(a, b collationKey) (c int, known bool) {
	n, m := a.len(), b.len()
	for i := 0; i < n && i < m; i++ {
		ua, ub := a.unit(i), b.unit(i)
		if ua == ub {
			continue
		}
		x, okA := upcase(ua)
		y, okB := upcase(ub)
		switch {
		case !okA || !okB:
			// Windows's table may fold these two, or order them the
			// other way.
			return 0, false
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
	}
	switch {
	case n < m:
		return -1, true
	case n > m:
		return 1, true
	}
	return 0, true
}
