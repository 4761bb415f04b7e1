// Package wire encodes the small values every Windows artifact writer
// needs in the same on-disk form: UTF-16LE strings and binary SIDs.
package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// UTF16 encodes s as UTF-16LE, without a terminator.
func UTF16(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// UTF16Z encodes s as UTF-16LE with a terminating NUL, as Windows stores
// REG_SZ data, LNK strings, resource strings and SRUM id blobs.
func UTF16Z(s string) []byte { return append(UTF16(s), 0, 0) }

// UTF16Len is the length of s in UTF-16 code units.
func UTF16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// SID encodes S-R-A-S1-S2... as Windows stores it: revision, sub-authority
// count, 48-bit big-endian authority, little-endian 32-bit sub-authorities.
func SID(s string) ([]byte, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || !strings.EqualFold(parts[0], "S") || len(parts)-3 > 15 {
		return nil, fmt.Errorf("SID %q: want S-1-<authority>[-<sub>...] with at most 15 sub-authorities", s)
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return nil, fmt.Errorf("SID %q: revision: %w", s, err)
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return nil, fmt.Errorf("SID %q: authority: %w", s, err)
	}
	b := make([]byte, 8, 8+4*(len(parts)-3))
	b[0] = byte(rev)
	b[1] = byte(len(parts) - 3)
	for i := 0; i < 6; i++ {
		b[2+i] = byte(auth >> (8 * (5 - i)))
	}
	for _, p := range parts[3:] {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("SID %q: sub-authority %q: %w", s, p, err)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
	}
	return b, nil
}
