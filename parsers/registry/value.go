package registry

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"

	"www.velocidex.com/golang/regparser"
)

// maxValueSize caps one value's data; real values (AppCompatCache, big
// binary blobs) stay in the hundreds of KiB.
const maxValueSize = 64 << 20

// bigDataSegment is the payload of one big-data segment (hive format 1.4+).
const bigDataSegment = 16344

// Registry value types.
const (
	RegNone     = regparser.REG_NONE
	RegSZ       = regparser.REG_SZ
	RegExpandSZ = regparser.REG_EXPAND_SZ
	RegBinary   = regparser.REG_BINARY
	RegDword    = regparser.REG_DWORD
	RegDwordBE  = regparser.REG_DWORD_BIG_ENDIAN
	RegMultiSZ  = regparser.REG_MULTI_SZ
	RegQword    = regparser.REG_QWORD
)

// Value is one value record (vk) of a key.
type Value struct {
	h   *Hive
	off int64 // file offset of the "vk" signature
}

func (v Value) rec() *regparser.CM_KEY_VALUE { return v.h.prof.CM_KEY_VALUE(v.h.rd, v.off) }

// Name decodes the value name (D13); "" is the default value.
func (v Value) Name() string {
	r := v.rec()
	start := v.off + v.h.prof.Off_CM_KEY_VALUE_Name
	end := start + int64(r.NameLength())
	if end > int64(len(v.h.data)) {
		end = int64(len(v.h.data))
	}
	return decodeName(v.h.data[start:end], r.Flags()&1 != 0)
}

// Type is the registry data type (REG_SZ, ...).
func (v Value) Type() uint32 { return v.rec().Type() }

// Data returns the value's raw data, following big-data segment lists. An
// error reports data that points outside the hive or is cut short; the
// bytes that could be read are returned with it.
func (v Value) Data() ([]byte, error) {
	r := v.rec()
	size := r.DataLength()
	if size&0x80000000 != 0 {
		// Four bytes or less live in the offset field itself.
		size &^= 0x80000000
		if size > 4 {
			size = 4
		}
		off := v.off + v.h.prof.Off_CM_KEY_VALUE_Data
		return v.h.data[off : off+int64(size)], nil
	}
	if size == 0 {
		return nil, nil
	}
	if size > maxValueSize {
		return nil, fmt.Errorf("value at 0x%x: data size %d over the %d byte cap", v.off, size, maxValueSize)
	}
	c, ok := v.h.cell(r.Data())
	if !ok {
		return nil, fmt.Errorf("value at 0x%x: data cell at 0x%x out of range", v.off, baseBlockSize+int64(r.Data()))
	}
	if size > bigDataSegment && len(c) >= 8 && c[0] == 'd' && c[1] == 'b' && v.h.minorVersion() >= 4 {
		return v.bigData(c, int(size))
	}
	if int(size) > len(c) {
		return c, fmt.Errorf("value at 0x%x: data size %d larger than its cell (%d)", v.off, size, len(c))
	}
	return c[:size], nil
}

func (v Value) bigData(db []byte, size int) ([]byte, error) {
	n := int(binary.LittleEndian.Uint16(db[2:]))
	list, ok := v.h.cell(binary.LittleEndian.Uint32(db[4:]))
	if !ok || n*4 > len(list) {
		return nil, fmt.Errorf("value at 0x%x: big-data segment list damaged", v.off)
	}
	out := make([]byte, 0, size)
	for i := 0; i < n && len(out) < size; i++ {
		seg, ok := v.h.cell(binary.LittleEndian.Uint32(list[i*4:]))
		if !ok {
			return out, fmt.Errorf("value at 0x%x: big-data segment %d out of range", v.off, i)
		}
		take := min(size-len(out), bigDataSegment, len(seg))
		out = append(out, seg[:take]...)
	}
	if len(out) < size {
		return out, fmt.Errorf("value at 0x%x: big data has %d of %d bytes", v.off, len(out), size)
	}
	return out, nil
}

func (h *Hive) minorVersion() uint32 { return binary.LittleEndian.Uint32(h.data[24:]) }

// String decodes REG_SZ/REG_EXPAND_SZ (and any UTF-16 data) up to the first NUL.
func (v Value) String() string {
	d, _ := v.Data()
	switch v.Type() {
	case RegDword, RegDwordBE, RegQword:
		if n, ok := v.Uint(); ok {
			return fmt.Sprint(n)
		}
	}
	return utf16z(d)
}

// Uint decodes REG_DWORD, REG_DWORD_BIG_ENDIAN and REG_QWORD (and binary
// data of exactly 4 or 8 bytes).
func (v Value) Uint() (uint64, bool) {
	d, err := v.Data()
	if err != nil {
		return 0, false
	}
	switch {
	case v.Type() == RegDwordBE && len(d) == 4:
		return uint64(binary.BigEndian.Uint32(d)), true
	case len(d) == 4:
		return uint64(binary.LittleEndian.Uint32(d)), true
	case len(d) == 8:
		return binary.LittleEndian.Uint64(d), true
	}
	return 0, false
}

// MultiSz splits REG_MULTI_SZ data: each string ends with NUL and the list
// with one more. Empty strings inside the list are kept.
func (v Value) MultiSz() []string {
	d, _ := v.Data()
	s := utf16all(d)
	if t, ok := strings.CutSuffix(s, "\x00\x00"); ok {
		s = t
	} else {
		s = strings.TrimSuffix(s, "\x00")
	}
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// cp1252 maps 0x80-0x9F; the rest of Windows-1252 equals Latin-1.
var cp1252 = [32]rune{
	'€', 0xFFFD, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0xFFFD, 'Ž', 0xFFFD,
	0xFFFD, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0xFFFD, 'ž', 'Ÿ',
}

func decodeName(b []byte, compressed bool) string {
	if !compressed {
		return utf16all(b)
	}
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c < 0x80 || c >= 0xA0:
			sb.WriteRune(rune(c))
		default:
			sb.WriteRune(cp1252[c-0x80])
		}
	}
	return sb.String()
}

// utf16all decodes UTF-16LE; unpaired surrogates become U+FFFD, an odd
// trailing byte is dropped.
func utf16all(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// utf16z decodes UTF-16LE up to the first NUL character.
func utf16z(b []byte) string {
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			return utf16all(b[:i])
		}
	}
	return utf16all(b)
}
