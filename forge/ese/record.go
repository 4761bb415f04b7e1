package ese

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/foothold/foothold/forge/wire"
)

// ColumnType is a JET_COLTYP value.
type ColumnType uint32

// Column types.
const (
	Bit           ColumnType = 1
	UnsignedByte  ColumnType = 2
	Short         ColumnType = 3
	Long          ColumnType = 4
	Currency      ColumnType = 5
	IEEESingle    ColumnType = 6
	IEEEDouble    ColumnType = 7
	DateTime      ColumnType = 8
	Binary        ColumnType = 9
	Text          ColumnType = 10
	LongBinary    ColumnType = 11
	LongText      ColumnType = 12
	UnsignedLong  ColumnType = 14
	LongLong      ColumnType = 15
	GUID          ColumnType = 16
	UnsignedShort ColumnType = 17
)

// fixedSize is the record size of fixed-size types (0: variable).
func (t ColumnType) fixedSize() int {
	switch t {
	case Bit, UnsignedByte:
		return 1
	case Short, UnsignedShort:
		return 2
	case Long, UnsignedLong, IEEESingle:
		return 4
	case Currency, IEEEDouble, DateTime, LongLong:
		return 8
	case GUID:
		return 16
	}
	return 0
}

// Column identifiers decide where a value lives in a record.
const (
	maxFixedID    = 127 // 1..127: fixed-size columns
	maxVariableID = 255 // 128..255: variable-size columns; 256 and up: tagged
)

// maxIntrinsic bounds a tagged value kept inside its record; longer ones
// would need a long-value tree, which this writer does not build.
const maxIntrinsic = 1024

// nullFill is what ESENT leaves in the fixed-size space of a NULL column.
const nullFill = 0x2a

// encodeValue turns a Go value into the bytes a record stores for col.
func encodeValue(col *Column, v any) ([]byte, error) {
	size := col.Type.fixedSize()
	switch col.Type {
	case Bit:
		b, ok := v.(bool)
		if !ok {
			return nil, typeErr(col, v)
		}
		if b {
			return []byte{0xff}, nil
		}
		return []byte{0}, nil
	case Binary, LongBinary:
		b, ok := v.([]byte)
		if !ok {
			return nil, typeErr(col, v)
		}
		return append([]byte(nil), b...), nil
	case Text, LongText:
		switch x := v.(type) {
		case []byte:
			return append([]byte(nil), x...), nil
		case string:
			if col.CodePage == 1200 {
				return wire.UTF16(x), nil
			}
			for _, r := range x {
				if r > 0x7f {
					return nil, fmt.Errorf("column %s: non-ASCII text in code page %d", col.Name, col.CodePage)
				}
			}
			return []byte(x), nil
		}
		return nil, typeErr(col, v)
	case GUID:
		g, ok := v.([16]byte)
		if !ok {
			return nil, typeErr(col, v)
		}
		return g[:], nil
	case IEEESingle:
		f, ok := v.(float32)
		if !ok {
			return nil, typeErr(col, v)
		}
		return binary.LittleEndian.AppendUint32(nil, math.Float32bits(f)), nil
	case IEEEDouble, DateTime:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case time.Time:
			if col.Type != DateTime {
				return nil, typeErr(col, v)
			}
			var err error
			if f, err = OLEDate(x); err != nil {
				return nil, fmt.Errorf("column %s: %w", col.Name, err)
			}
		default:
			return nil, typeErr(col, v)
		}
		return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)), nil
	}
	// Integers: accept any Go integer that fits the column.
	n, signed, ok := integer(v)
	if !ok {
		return nil, typeErr(col, v)
	}
	var lo, hi int64
	var uhi uint64
	switch col.Type {
	case UnsignedByte:
		uhi = math.MaxUint8
	case Short:
		lo, hi = math.MinInt16, math.MaxInt16
	case UnsignedShort:
		uhi = math.MaxUint16
	case Long:
		lo, hi = math.MinInt32, math.MaxInt32
	case UnsignedLong:
		uhi = math.MaxUint32
	case Currency, LongLong:
		lo, hi = math.MinInt64, math.MaxInt64
	default:
		return nil, fmt.Errorf("column %s: unsupported type %d", col.Name, col.Type)
	}
	if uhi != 0 {
		if signed && int64(n) < 0 || n > uhi {
			return nil, fmt.Errorf("column %s: %v out of range", col.Name, v)
		}
	} else if !signed && n > math.MaxInt64 || signed && (int64(n) < lo || int64(n) > hi) {
		return nil, fmt.Errorf("column %s: %v out of range", col.Name, v)
	}
	b := binary.LittleEndian.AppendUint64(nil, n)
	return b[:size], nil
}

func typeErr(col *Column, v any) error {
	return fmt.Errorf("column %s (type %d): value of Go type %T not accepted", col.Name, col.Type, v)
}

// integer reports v as raw 64 bits and whether it came from a signed type.
func integer(v any) (uint64, bool, bool) {
	switch x := v.(type) {
	case int:
		return uint64(x), true, true
	case int8:
		return uint64(x), true, true
	case int16:
		return uint64(x), true, true
	case int32:
		return uint64(x), true, true
	case int64:
		return uint64(x), true, true
	case uint:
		return uint64(x), false, true
	case uint8:
		return uint64(x), false, true
	case uint16:
		return uint64(x), false, true
	case uint32:
		return uint64(x), false, true
	case uint64:
		return x, false, true
	}
	return 0, false, false
}

// oleEpoch is 1899-12-30, day 0 of an OLE Automation date, in Unix seconds.
const oleEpoch = -2209161600

// OLEDate converts t to an OLE Automation date (days since 1899-12-30 as
// a float64), the encoding of JET_coltypDateTime. t is kept to the whole
// second. Of the doubles nearest the exact value the one not below it is
// chosen, so that readers which multiply by 86400 and truncate (go-ese)
// still land on the right second.
func OLEDate(t time.Time) (float64, error) {
	secs := t.Unix() - oleEpoch
	if t.Year() < 1900 || t.Year() > 9999 {
		return 0, fmt.Errorf("time %s outside the OLE date range this writer accepts (1900-9999)", t.UTC().Format(time.RFC3339))
	}
	n := float64(secs) // exact: |secs| < 2^53
	d := n / 86400
	if math.FMA(d, 86400, -n) < 0 {
		d = math.Nextafter(d, math.Inf(1))
	}
	return d, nil
}

// normalizedKey builds the key of a row for an index over cols: for each
// column a prefix byte (0x7f: value present) and the value transformed so
// that bytewise order is numeric order (big-endian, sign bit flipped).
func normalizedKey(cols []*Column, vals [][]byte) ([]byte, error) {
	var key []byte
	for i, col := range cols {
		v := vals[i]
		if v == nil {
			return nil, fmt.Errorf("key column %s is NULL", col.Name)
		}
		key = append(key, 0x7f)
		be := make([]byte, len(v))
		for j := range v {
			be[j] = v[len(v)-1-j]
		}
		switch col.Type {
		case UnsignedByte, UnsignedShort, UnsignedLong:
		case Short, Long, LongLong, Currency:
			be[0] ^= 0x80
		case Bit:
			if be[0] != 0 {
				be[0] = 0xff
			}
		case IEEESingle, IEEEDouble, DateTime:
			if be[0]&0x80 == 0 {
				be[0] ^= 0x80
			} else {
				for j := range be {
					be[j] = ^be[j]
				}
			}
		default:
			return nil, fmt.Errorf("key column %s: type %d not supported in keys", col.Name, col.Type)
		}
		key = append(key, be...)
	}
	return key, nil
}

// encodeRecord lays out one row: a 4-byte header (last fixed column id,
// last variable column id, offset of the variable offsets), the fixed
// columns with a NULL bitmap, the variable columns' end offsets and data,
// then the tagged columns' identifier/offset array and data. Trailing
// NULL fixed and variable columns are left out, as ESENT does.
func encodeRecord(t *tableLayout, vals map[uint32][]byte) ([]byte, error) {
	lastFixed, lastVar := 0, maxFixedID
	for id := range vals {
		switch {
		case id <= maxFixedID:
			lastFixed = max(lastFixed, int(id))
		case id <= maxVariableID:
			lastVar = max(lastVar, int(id))
		}
	}
	rec := []byte{byte(lastFixed), byte(lastVar), 0, 0}
	bitmap := make([]byte, (lastFixed+7)/8)
	for i := range bitmap {
		bitmap[i] = 0xff
	}
	for id := 1; id <= lastFixed; id++ {
		col := t.byID[uint32(id)]
		v, ok := vals[uint32(id)]
		if ok {
			rec = append(rec, v...)
			bitmap[(id-1)/8] &^= 1 << ((id - 1) % 8)
		} else {
			for range col.Type.fixedSize() {
				rec = append(rec, nullFill)
			}
		}
	}
	rec = append(rec, bitmap...)
	binary.LittleEndian.PutUint16(rec[2:], uint16(len(rec)))
	var vdata []byte
	end := 0
	for id := maxFixedID + 1; id <= lastVar; id++ {
		v, ok := vals[uint32(id)]
		if !ok {
			rec = binary.LittleEndian.AppendUint16(rec, uint16(0x8000|end))
			continue
		}
		vdata = append(vdata, v...)
		end += len(v)
		rec = binary.LittleEndian.AppendUint16(rec, uint16(end))
	}
	rec = append(rec, vdata...)

	var tagged []uint32
	for id := range vals {
		if id > maxVariableID {
			tagged = append(tagged, id)
		}
	}
	sort.Slice(tagged, func(i, j int) bool { return tagged[i] < tagged[j] })
	off := 4 * len(tagged)
	var tdata []byte
	for _, id := range tagged {
		v := vals[id]
		entry := uint16(off + len(tdata))
		switch t.byID[id].Type {
		case LongBinary, LongText:
			// Long-value columns carry a flags byte: 0x01, a long value
			// kept inside the record.
			entry |= 0x4000
			tdata = append(tdata, 0x01)
		}
		tdata = append(tdata, v...)
		rec = binary.LittleEndian.AppendUint16(rec, uint16(id))
		rec = binary.LittleEndian.AppendUint16(rec, entry)
	}
	if off+len(tdata) > 0x1fff {
		return nil, fmt.Errorf("tagged columns take %d bytes, more than a 4 KiB page record allows", off+len(tdata))
	}
	rec = append(rec, tdata...)
	return rec, nil
}
