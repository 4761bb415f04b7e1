package evtx

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// Typed wrappers for the BinXML value types that have no natural Go type.
// Plain Go values map as Windows declares them in manifests: string is
// UnicodeString, uint8/16/32/64 are UInt8..UInt64, int32/int64 are
// Int32/Int64, bool is Boolean (4 bytes), event.FileTime is FILETIME, and
// nil is an empty string: Windows writes absent EventData values as empty
// values of their type, and libevtx cannot substitute a NULL value into
// EventData (it aborts the whole export).
type (
	// HexInt32 is win:HexInt32, rendered 0x.. (Status, AccessMask).
	HexInt32 uint32
	// HexInt64 is win:HexInt64, rendered 0x.. (LogonId, Keywords).
	HexInt64 uint64
	// SID is a binary security identifier given in S-1-... form.
	SID string
	// GUID is given as {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}; the braces
	// are optional and the case is free (Windows renders upper case).
	GUID string
	// SysTime is a SYSTEMTIME (UTC, millisecond precision; the sub-ms
	// part of the FILETIME is dropped as Windows would).
	SysTime event.FileTime
	// Binary is win:Binary, rendered as upper-case hex.
	Binary []byte
	// SizeT is win:Pointer / size_t, stored as 8 bytes (a 64-bit
	// Windows) and rendered 0x.. (4624 ProcessId, 4688 NewProcessId).
	SizeT uint64
)

// BinXML value types (MS-EVEN6; libyal's EVTX format document).
const (
	tNull     = 0x00
	tString   = 0x01
	tUint8    = 0x04
	tUint16   = 0x06
	tInt32    = 0x07
	tUint32   = 0x08
	tInt64    = 0x09
	tUint64   = 0x0a
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
)

// maxValue is the largest value a template value descriptor can size.
const maxValue = math.MaxUint16

// val is one encoded substitution value.
type val struct {
	typ byte
	b   []byte
}

// encodeValue turns a field value into its BinXML type and bytes.
func encodeValue(v any) (val, error) {
	var out val
	switch x := v.(type) {
	case nil:
		return val{typ: tString}, nil
	case string:
		out = val{tString, wire.UTF16(x)}
	case uint8:
		out = val{tUint8, []byte{x}}
	case uint16:
		out = val{tUint16, binary.LittleEndian.AppendUint16(nil, x)}
	case uint32:
		out = val{tUint32, binary.LittleEndian.AppendUint32(nil, x)}
	case uint64:
		out = val{tUint64, binary.LittleEndian.AppendUint64(nil, x)}
	case int32:
		out = val{tInt32, binary.LittleEndian.AppendUint32(nil, uint32(x))}
	case int64:
		out = val{tInt64, binary.LittleEndian.AppendUint64(nil, uint64(x))}
	case bool:
		var n uint32
		if x {
			n = 1
		}
		out = val{tBool, binary.LittleEndian.AppendUint32(nil, n)}
	case event.FileTime:
		out = val{tFileTime, binary.LittleEndian.AppendUint64(nil, uint64(x))}
	case HexInt32:
		out = val{tHex32, binary.LittleEndian.AppendUint32(nil, uint32(x))}
	case HexInt64:
		out = val{tHex64, binary.LittleEndian.AppendUint64(nil, uint64(x))}
	case SizeT:
		out = val{tSizeT, binary.LittleEndian.AppendUint64(nil, uint64(x))}
	case SID:
		b, err := wire.SID(string(x))
		if err != nil {
			return val{}, err
		}
		out = val{tSID, b}
	case GUID:
		b, err := guidBytes(string(x))
		if err != nil {
			return val{}, err
		}
		out = val{tGUID, b}
	case SysTime:
		out = val{tSysTime, sysTimeBytes(event.FileTime(x))}
	case Binary:
		out = val{tBinary, append([]byte(nil), x...)}
	default:
		return val{}, fmt.Errorf("unsupported value type %T (use string, uintN, int32, int64, bool, event.FileTime or a wrapper of this package)", v)
	}
	if len(out.b) > maxValue {
		return val{}, fmt.Errorf("value of %d bytes exceeds the %d a template value can hold", len(out.b), maxValue)
	}
	return out, nil
}

// guidBytes encodes a GUID in its mixed-endian binary form.
func guidBytes(s string) ([]byte, error) {
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return nil, fmt.Errorf("GUID %q: want {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}", s)
	}
	raw, err := hex.DecodeString(t[0:8] + t[9:13] + t[14:18] + t[19:23] + t[24:36])
	if err != nil {
		return nil, fmt.Errorf("GUID %q: %w", s, err)
	}
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b, binary.BigEndian.Uint32(raw[0:]))
	binary.LittleEndian.PutUint16(b[4:], binary.BigEndian.Uint16(raw[4:]))
	binary.LittleEndian.PutUint16(b[6:], binary.BigEndian.Uint16(raw[6:]))
	copy(b[8:], raw[8:])
	return b, nil
}

// sysTimeBytes encodes a SYSTEMTIME: year, month, weekday, day, hour,
// minute, second, millisecond.
func sysTimeBytes(ft event.FileTime) []byte {
	t := ft.Time()
	if ft == 0 {
		return make([]byte, 16)
	}
	b := make([]byte, 0, 16)
	for _, v := range []int{t.Year(), int(t.Month()), int(t.Weekday()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond() / 1e6} {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}
