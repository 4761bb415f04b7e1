// Package regf writes Windows registry hive files (regf, format 1.5) from an
// in-memory key tree, and builds the binary value contents Windows stores in
// hives for the artifacts Foothold's forge plants (AppCompatCache,
// UserAssist).
//
// The layout follows libyal's "Windows NT Registry File (REGF) format"
// document: a 4 KiB base block, then hive bins of 4 KiB multiples holding
// 8-byte aligned cells (negative size = allocated). Output is a clean hive
// (equal sequence numbers, valid checksum) and is a pure function of the
// input tree and Options, so the same scenario gives the same bytes.
package regf

import (
	"encoding/binary"
	"strings"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// Registry value types.
const (
	TypeNone             uint32 = 0
	TypeString           uint32 = 1 // REG_SZ
	TypeExpandString     uint32 = 2 // REG_EXPAND_SZ
	TypeBinary           uint32 = 3 // REG_BINARY
	TypeDWORD            uint32 = 4 // REG_DWORD (little-endian)
	TypeDWORDBigEndian   uint32 = 5 // REG_DWORD_BIG_ENDIAN
	TypeLink             uint32 = 6 // REG_LINK
	TypeMultiString      uint32 = 7 // REG_MULTI_SZ
	TypeResourceList     uint32 = 8
	TypeFullResource     uint32 = 9
	TypeResourceRequired uint32 = 10
	TypeQWORD            uint32 = 11 // REG_QWORD (little-endian)
)

// Key is one registry key of the tree to write. Subkeys may be given in any
// order: Write sorts them as Windows does. Values keep their order, as
// Windows keeps insertion order in a key's value list.
type Key struct {
	Name      string
	LastWrite event.FileTime
	Values    []Value
	Subkeys   []*Key
	Class     string // optional class name; "" writes none
}

// Value is one registry value; Name "" is the key's default value. Data is
// the raw bytes Windows stores (use the constructors for typed data).
type Value struct {
	Name string
	Type uint32
	Data []byte
}

// String is a REG_SZ value.
func String(name, s string) Value { return Value{Name: name, Type: TypeString, Data: wire.UTF16Z(s)} }

// ExpandString is a REG_EXPAND_SZ value (environment variables left
// unexpanded, e.g. %SystemRoot%).
func ExpandString(name, s string) Value {
	return Value{Name: name, Type: TypeExpandString, Data: wire.UTF16Z(s)}
}

// DWORD is a REG_DWORD value.
func DWORD(name string, v uint32) Value {
	return Value{Name: name, Type: TypeDWORD, Data: binary.LittleEndian.AppendUint32(nil, v)}
}

// QWORD is a REG_QWORD value.
func QWORD(name string, v uint64) Value {
	return Value{Name: name, Type: TypeQWORD, Data: binary.LittleEndian.AppendUint64(nil, v)}
}

// Binary is a REG_BINARY value; b is copied.
func Binary(name string, b []byte) Value {
	return Value{Name: name, Type: TypeBinary, Data: append([]byte{}, b...)}
}

// MultiString is a REG_MULTI_SZ value: each string NUL-terminated, then one
// more NUL ending the list (an empty list is that single NUL).
func MultiString(name string, s ...string) Value {
	var d []byte
	for _, x := range s {
		d = append(d, wire.UTF16Z(x)...)
	}
	d = append(d, 0, 0)
	return Value{Name: name, Type: TypeMultiString, Data: d}
}

// Path finds or creates the key at the backslash-separated path below k
// (names compare case-insensitively, as in Windows) and returns it. Keys it
// creates, the last one included, get lastWrite; existing keys are left as
// they are. An empty path returns k.
func (k *Key) Path(path string, lastWrite event.FileTime) *Key {
	cur := k
	for _, name := range strings.Split(path, `\`) {
		if name == "" {
			continue
		}
		var next *Key
		for _, sk := range cur.Subkeys {
			if sameName(sk.Name, name) {
				next = sk
				break
			}
		}
		if next == nil {
			next = &Key{Name: name, LastWrite: lastWrite}
			cur.Subkeys = append(cur.Subkeys, next)
		}
		cur = next
	}
	return cur
}

// Set adds values to k, replacing any value of the same name (compared
// case-insensitively) in place so the value order stays stable. It returns
// k for chaining.
func (k *Key) Set(vals ...Value) *Key {
outer:
	for _, v := range vals {
		for i := range k.Values {
			if sameName(k.Values[i].Name, v.Name) {
				k.Values[i] = v
				continue outer
			}
		}
		k.Values = append(k.Values, v)
	}
	return k
}

// sameName compares registry names as Windows does: by upper-cased UTF-16.
func sameName(a, b string) bool { return compareNames(a, b) == 0 }
