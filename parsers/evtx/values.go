package evtx

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/foothold/foothold/parsers/event"
)

// Value types of Binary XML substitutions.
const (
	tNull     = 0x00
	tString   = 0x01
	tAnsi     = 0x02
	tInt8     = 0x03
	tUint8    = 0x04
	tInt16    = 0x05
	tUint16   = 0x06
	tInt32    = 0x07
	tUint32   = 0x08
	tInt64    = 0x09
	tUint64   = 0x0a
	tReal32   = 0x0b
	tReal64   = 0x0c
	tBool     = 0x0d
	tBinary   = 0x0e
	tGUID     = 0x0f
	tSizeT    = 0x10
	tFileTime = 0x11
	tSysTime  = 0x12
	tSID      = 0x13
	tHex32    = 0x14
	tHex64    = 0x15
	tBinXML   = 0x21
	tArray    = 0x80
)

// render formats a scalar or array value the way Windows renders it in
// event XML: decimal integers, 0x-prefixed lower-case hex for HexInt and
// size_t, upper-case GUIDs in braces, upper-case hex for binary, S-1-...
// SIDs, ISO-8601 UTC times (FILETIME with 100 ns, SYSTEMTIME with ms).
// Array elements are joined with ", ". BinXML values are not rendered
// here (the walker expands them).
func render(v value) string {
	if v.typ&tArray != 0 {
		return strings.Join(renderArray(v), ", ")
	}
	b := v.b
	switch v.typ {
	case tNull:
		return ""
	case tString:
		return decodeUTF16(b)
	case tAnsi:
		return decodeANSI(b)
	case tInt8:
		if len(b) >= 1 {
			return strconv.FormatInt(int64(int8(b[0])), 10)
		}
	case tUint8:
		if len(b) >= 1 {
			return strconv.FormatUint(uint64(b[0]), 10)
		}
	case tInt16:
		if len(b) >= 2 {
			return strconv.FormatInt(int64(int16(binary.LittleEndian.Uint16(b))), 10)
		}
	case tUint16:
		if len(b) >= 2 {
			return strconv.FormatUint(uint64(binary.LittleEndian.Uint16(b)), 10)
		}
	case tInt32:
		if len(b) >= 4 {
			return strconv.FormatInt(int64(int32(binary.LittleEndian.Uint32(b))), 10)
		}
	case tUint32:
		if len(b) >= 4 {
			return strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 10)
		}
	case tInt64:
		if len(b) >= 8 {
			return strconv.FormatInt(int64(binary.LittleEndian.Uint64(b)), 10)
		}
	case tUint64:
		if len(b) >= 8 {
			return strconv.FormatUint(binary.LittleEndian.Uint64(b), 10)
		}
	case tReal32:
		if len(b) >= 4 {
			return strconv.FormatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 'g', -1, 32)
		}
	case tReal64:
		if len(b) >= 8 {
			return strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)), 'g', -1, 64)
		}
	case tBool:
		if len(b) > 0 {
			for _, c := range b {
				if c != 0 {
					return "true"
				}
			}
			return "false"
		}
	case tBinary:
		return hexUpper(b)
	case tGUID:
		if len(b) >= 16 {
			return formatGUID(b)
		}
	case tSizeT, tHex32, tHex64:
		// size_t is 4 or 8 bytes and Windows renders it like HexInt (D12).
		switch len(b) {
		case 4:
			return "0x" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b)), 16)
		case 8:
			return "0x" + strconv.FormatUint(binary.LittleEndian.Uint64(b), 16)
		}
	case tFileTime:
		if len(b) >= 8 {
			return formatFileTime(binary.LittleEndian.Uint64(b))
		}
	case tSysTime:
		if len(b) >= 16 {
			return formatSystemTime(b)
		}
	case tSID:
		if s, ok := formatSID(b); ok {
			return s
		}
	}
	// Unknown types and values too short for their type: keep the bytes.
	return hexUpper(b)
}

// renderArray splits an array value into its rendered elements.
func renderArray(v value) []string {
	b := v.b
	base := v.typ &^ tArray
	switch base {
	case tString:
		// Each element ends with a NUL; an empty array is one empty
		// element.
		return splitTerminated(utf16String(b, len(b)/2))
	case tAnsi:
		return splitTerminated(decodeANSIRaw(b))
	case tSID:
		var out []string
		for len(b) >= 8 {
			n := 8 + 4*int(b[1])
			if n > len(b) {
				break
			}
			s, _ := formatSID(b[:n])
			out = append(out, s)
			b = b[n:]
		}
		return out
	}
	size := 0
	switch base {
	case tInt8, tUint8:
		size = 1
	case tInt16, tUint16:
		size = 2
	case tInt32, tUint32, tReal32, tBool, tHex32:
		size = 4
	case tInt64, tUint64, tReal64, tFileTime, tHex64:
		size = 8
	case tSizeT:
		size = 8
		if len(b)%8 != 0 {
			size = 4
		}
	case tGUID, tSysTime:
		size = 16
	default:
		return []string{hexUpper(b)}
	}
	out := make([]string, 0, len(b)/size)
	for i := 0; i+size <= len(b); i += size {
		out = append(out, render(value{typ: base, b: b[i : i+size]}))
	}
	return out
}

const upperHex = "0123456789ABCDEF"

func hexUpper(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = upperHex[c>>4]
		out[2*i+1] = upperHex[c&15]
	}
	return string(out)
}

func formatGUID(b []byte) string {
	var out [38]byte
	out[0] = '{'
	p := 1
	put := func(v uint64, digits int) {
		for i := digits - 1; i >= 0; i-- {
			out[p+i] = upperHex[v&15]
			v >>= 4
		}
		p += digits
	}
	put(uint64(binary.LittleEndian.Uint32(b)), 8)
	out[p] = '-'
	p++
	put(uint64(binary.LittleEndian.Uint16(b[4:])), 4)
	out[p] = '-'
	p++
	put(uint64(binary.LittleEndian.Uint16(b[6:])), 4)
	out[p] = '-'
	p++
	put(uint64(binary.BigEndian.Uint16(b[8:])), 4)
	out[p] = '-'
	p++
	for _, c := range b[10:16] {
		put(uint64(c), 2)
	}
	out[p] = '}'
	return string(out[:])
}

// formatSID renders a binary SID: revision, sub-authority count, 48-bit
// big-endian authority, little-endian 32-bit sub-authorities.
func formatSID(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	n := int(b[1])
	if 8+4*n > len(b) {
		return "", false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	out := make([]byte, 0, 16+11*n)
	out = append(out, "S-"...)
	out = strconv.AppendUint(out, uint64(b[0]), 10)
	out = append(out, '-')
	out = strconv.AppendUint(out, auth, 10)
	for i := 0; i < n; i++ {
		out = append(out, '-')
		out = strconv.AppendUint(out, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return string(out), true
}

// formatFileTime renders a FILETIME as ISO-8601 UTC with seven fractional
// digits, from the integer (no float, D11).
func formatFileTime(ft uint64) string {
	secs := int64(ft / 10_000_000)
	t := time.Unix(secs-11644473600, 0).UTC()
	if t.Year() > 9999 {
		return "FILETIME:" + strconv.FormatUint(ft, 10)
	}
	b := make([]byte, 0, 28)
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	frac := ft % 10_000_000
	b = append(b, '.')
	for d := uint64(1_000_000); d > 0; d /= 10 {
		b = append(b, byte('0'+frac/d%10))
	}
	return string(append(b, 'Z'))
}

// formatSystemTime renders a SYSTEMTIME (year, month, weekday, day, hour,
// minute, second, millisecond) as ISO-8601 with milliseconds.
func formatSystemTime(b []byte) string {
	f := func(i int) int { return int(binary.LittleEndian.Uint16(b[2*i:])) }
	out := make([]byte, 0, 24)
	pad := func(v, w int) {
		s := strconv.Itoa(v)
		for i := len(s); i < w; i++ {
			out = append(out, '0')
		}
		out = append(out, s...)
	}
	pad(f(0), 4)
	out = append(out, '-')
	pad(f(1), 2)
	out = append(out, '-')
	pad(f(3), 2)
	out = append(out, 'T')
	pad(f(4), 2)
	out = append(out, ':')
	pad(f(5), 2)
	out = append(out, ':')
	pad(f(6), 2)
	out = append(out, '.')
	pad(f(7), 3)
	return string(append(out, 'Z'))
}

func splitTerminated(s string) []string {
	if s == "" {
		return []string{""}
	}
	parts := strings.Split(s, "\x00")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

func decodeANSI(b []byte) string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return decodeANSIRaw(b)
}

// decodeANSIRaw decodes in Windows-1252, evtxexport's default code page
// for ANSI strings, which prints undefined bytes as U+FFFD.
func decodeANSIRaw(b []byte) string { return event.Windows1252(b, event.Replacement) }

// interner keeps one copy of the strings that repeat from record to
// record and chunk to chunk (provider, channel, computer, keywords, user
// SID; Data values that repeat the previous record's), keyed by value type
// and raw bytes, so a repeated value costs a comparison or a map lookup
// instead of a decode and an allocation. It belongs to one scratch, so
// one goroutine.
type interner struct {
	m [tHex64 + 1]map[string]string
	n int

	recent [64]lastValue // in front of m: most lookups are repeats
	atPos  [64]lastValue // Data values by position in the record
}

// lastValue is a value's raw bytes and its rendering.
type lastValue struct {
	typ uint8
	raw []byte
	s   string
	box any
}

func (lv *lastValue) is(v value) bool {
	return lv.box != nil && lv.typ == v.typ && bytes.Equal(lv.raw, v.b)
}

func (lv *lastValue) set(v value, s string) {
	lv.typ, lv.raw, lv.s, lv.box = v.typ, append(lv.raw[:0], v.b...), s, s
}

// maxRecent bounds the size of the values kept by recent and atPos.
const maxRecent = 256

// data returns render(v) and its boxed form for the Data value at
// position pos of a record, reusing the previous ones when the value is
// the same.
func (in *interner) data(pos int, v value) (string, any) {
	if pos >= len(in.atPos) || len(v.b) > maxRecent {
		return render(v), nil
	}
	lv := &in.atPos[pos]
	if !lv.is(v) {
		lv.set(v, render(v))
	}
	return lv.s, lv.box
}

// maxInterned bounds an interner; past it, it starts over.
const maxInterned = 4096

// render is render(v), interned.
func (in *interner) render(v value) string {
	if int(v.typ) >= len(in.m) || len(v.b) > maxRecent {
		return render(v)
	}
	h := uint(v.typ) + uint(len(v.b))*31
	if len(v.b) > 0 {
		h += uint(v.b[0])*7 + uint(v.b[len(v.b)/2])*13 + uint(v.b[len(v.b)-1])*17
	}
	lv := &in.recent[h%uint(len(in.recent))]
	if lv.is(v) {
		return lv.s
	}
	if s, ok := in.m[v.typ][string(v.b)]; ok {
		lv.set(v, s)
		return s
	}
	s := render(v)
	lv.set(v, s)
	if in.n >= maxInterned {
		for i := range in.m {
			in.m[i] = nil
		}
		in.n = 0
	}
	if in.m[v.typ] == nil {
		in.m[v.typ] = make(map[string]string, 16)
	}
	in.m[v.typ][string(v.b)] = s
	in.n++
	return s
}
