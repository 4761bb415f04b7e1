// Package registry reads Windows registry hives (regf): host identity from
// SYSTEM and SOFTWARE, and the execution and persistence artifacts of the
// timeline (key last-write times, ShimCache, Amcache, BAM, UserAssist).
//
// Hives are loaded into memory and transaction logs are replayed by our own
// code (regparser's RecoverHive does not recover, D15). regparser reads the
// cell structures; names and last-write times are decoded here (D13, D14),
// and every list walk is bounded so that crafted hives cannot loop or blow up.
package registry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/foothold/foothold/parsers/event"
	"www.velocidex.com/golang/regparser"
)

// MaxHiveSize caps the hive loaded into memory, before and after log replay.
const MaxHiveSize = 512 << 20

// maxDepth bounds key nesting; real hives stay far below it, crafted ones
// with parent cycles would otherwise recurse forever.
const maxDepth = 512

// baseBlockSize is the regf header; cell offsets are relative to its end.
const baseBlockSize = 4096

// ErrNotHive is returned when the data does not start with "regf".
var ErrNotHive = errors.New("not a registry hive (no regf signature)")

// ErrDirty is wrapped by Parse when the hive is dirty and no usable
// transaction log was given: changes still held in .LOG1/.LOG2 are missing.
var ErrDirty = errors.New("hive is dirty")

// IsHive reports whether head starts with the regf signature.
func IsHive(head []byte) bool {
	return len(head) >= 4 && string(head[:4]) == "regf"
}

// Hive is one registry hive held in memory, with any transaction logs
// already applied.
type Hive struct {
	data      []byte
	rd        *bytes.Reader
	reg       *regparser.Registry
	prof      *regparser.RegistryProfile
	dirty     bool
	recovered bool
	dirtyWhy  string
	logErr    error
	pages     int // dirty pages applied from the logs
	kind      string
}

// Open loads a hive. logs are the contents of the hive's .LOG1/.LOG2 (or old
// .LOG) files, in any order; empty ones are ignored. A dirty hive is
// recovered from them in memory; the evidence bytes are never modified (data
// is copied before replay).
func Open(data []byte, logs ...[]byte) (h *Hive, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("registry: open: parser panic: %v", r)
		}
	}()
	if len(data) > MaxHiveSize {
		return nil, fmt.Errorf("registry: hive of %d bytes is over the %d byte cap", len(data), MaxHiveSize)
	}
	if !IsHive(data) {
		return nil, ErrNotHive
	}
	if len(data) < baseBlockSize+32 {
		return nil, fmt.Errorf("registry: hive truncated to %d bytes (no hive bin after the base block)", len(data))
	}
	h = &Hive{data: data}
	if why := dirtyReason(data); why != "" {
		h.dirty, h.dirtyWhy = true, why
		var usable [][]byte
		for _, l := range logs {
			if len(l) > 0 {
				usable = append(usable, l)
			}
		}
		if len(usable) > 0 {
			rec, pages, rerr := replay(data, usable)
			if rerr != nil {
				h.logErr = rerr
			} else {
				h.data, h.recovered, h.pages = rec, true, pages
			}
		}
	}
	h.rd = bytes.NewReader(h.data)
	h.reg, err = regparser.NewRegistry(h.rd)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	h.prof = h.reg.Profile
	if _, ok := h.root(); !ok {
		return nil, fmt.Errorf("registry: root cell at 0x%x is not a key node", 0x1000+int64(h.reg.BaseBlock.RootCell()))
	}
	h.kind = h.detectKind()
	return h, nil
}

// Dirty reports whether the primary file was dirty (sequence numbers differ
// or the base-block checksum is wrong).
func (h *Hive) Dirty() bool { return h.dirty }

// Recovered reports whether transaction logs were applied.
func (h *Hive) Recovered() bool { return h.recovered }

// RecoveredPages is the number of dirty pages applied from the logs (HvLE
// page references, or 512-byte pages of an old-format log).
func (h *Hive) RecoveredPages() int { return h.pages }

// DirtyError explains what is missing from a dirty hive that was not
// recovered, or returns nil.
func (h *Hive) DirtyError() error {
	if !h.dirty || h.recovered {
		return nil
	}
	if h.logErr != nil {
		return fmt.Errorf("%w (%s) and its transaction logs could not be applied: %v; changes still in .LOG1/.LOG2 are missing", ErrDirty, h.dirtyWhy, h.logErr)
	}
	return fmt.Errorf("%w (%s) and no transaction logs were given: changes still in .LOG1/.LOG2 are missing", ErrDirty, h.dirtyWhy)
}

// Bytes returns the hive as parsed (after any log replay). Callers must not
// modify it.
func (h *Hive) Bytes() []byte { return h.data }

func dirtyReason(b []byte) string {
	seq1 := binary.LittleEndian.Uint32(b[4:])
	seq2 := binary.LittleEndian.Uint32(b[8:])
	if seq1 != seq2 {
		return fmt.Sprintf("primary sequence %d != secondary %d", seq1, seq2)
	}
	if got, want := checksum(b), binary.LittleEndian.Uint32(b[508:]); got != want {
		return fmt.Sprintf("base block checksum 0x%08x, stored 0x%08x", got, want)
	}
	return ""
}

// checksum is the XOR of the base block's first 508 bytes as 32-bit words,
// with 0 and 0xFFFFFFFF remapped as Windows does.
func checksum(b []byte) uint32 {
	var x uint32
	for i := 0; i < 508; i += 4 {
		x ^= binary.LittleEndian.Uint32(b[i:])
	}
	switch x {
	case 0:
		return 1
	case 0xFFFFFFFF:
		return 0xFFFFFFFE
	}
	return x
}

// Key is one key node of the hive.
type Key struct {
	h   *Hive
	off int64 // file offset of the "nk" signature
}

// cell returns the payload of the cell at a hive-bins-relative offset, or
// false when the offset or the cell size points outside the data.
func (h *Hive) cell(rel uint32) ([]byte, bool) {
	if rel == 0xFFFFFFFF {
		return nil, false
	}
	off := int64(baseBlockSize) + int64(rel)
	if off+8 > int64(len(h.data)) {
		return nil, false
	}
	size := int32(binary.LittleEndian.Uint32(h.data[off:]))
	n := int64(size)
	if n < 0 {
		n = -n
	}
	if n < 8 || off+n > int64(len(h.data)) {
		return nil, false
	}
	return h.data[off+4 : off+n], true
}

func (h *Hive) keyAt(rel uint32) (Key, bool) {
	c, ok := h.cell(rel)
	if !ok || len(c) < 76 || c[0] != 'n' || c[1] != 'k' {
		return Key{}, false
	}
	// A name longer than its cell is damage, not a name (libregf agrees).
	if 76+int(binary.LittleEndian.Uint16(c[72:])) > len(c) {
		return Key{}, false
	}
	return Key{h: h, off: int64(baseBlockSize) + int64(rel) + 4}, true
}

func (h *Hive) root() (Key, bool) {
	return h.keyAt(h.reg.BaseBlock.RootCell())
}

// Root returns the root key.
func (h *Hive) Root() Key {
	k, _ := h.root()
	return k
}

func (k Key) node() *regparser.CM_KEY_NODE { return k.h.prof.CM_KEY_NODE(k.h.rd, k.off) }

// Name decodes the key name (D13): one byte per character (Windows-1252)
// when KEY_COMP_NAME is set, UTF-16LE otherwise.
func (k Key) Name() string { return decodeName(k.rawName()) }

// rawName is the key name's bytes and whether they are compressed.
func (k Key) rawName() ([]byte, bool) {
	n := k.node()
	start := k.off + k.h.prof.Off_CM_KEY_NODE__Name
	end := start + int64(n.NameLength())
	if end > int64(len(k.h.data)) {
		end = int64(len(k.h.data))
	}
	return k.h.data[start:end], n.Flags()&0x20 != 0
}

// LastWrite is the raw FILETIME of the key (D14: not regparser's seconds).
func (k Key) LastWrite() event.FileTime {
	return event.FileTime(binary.LittleEndian.Uint64(k.h.data[k.off+k.h.prof.Off_CM_KEY_NODE_LastWriteTime:]))
}

// Offset is the file offset of the key node, for error messages and events.
func (k Key) Offset() int64 { return k.off }

// Subkeys lists the key's stable subkeys. An error reports a damaged list;
// the keys read before the damage are still returned.
func (k Key) Subkeys() ([]Key, error) {
	n := k.node()
	count := n.SubKeyCounts()[0]
	if count == 0 {
		return nil, nil
	}
	var out []Key
	err := k.h.listKeys(n.SubKeyLists()[0], 0, &out)
	if err == nil && uint32(len(out)) != count {
		err = fmt.Errorf("key at 0x%x: %d subkeys listed, %d declared", k.off, len(out), count)
	}
	return out, err
}

func (h *Hive) listKeys(rel uint32, depth int, out *[]Key) error {
	c, ok := h.cell(rel)
	if !ok || len(c) < 4 {
		return fmt.Errorf("subkey list at 0x%x: bad cell", baseBlockSize+int64(rel))
	}
	sig := string(c[:2])
	n := int(binary.LittleEndian.Uint16(c[2:]))
	step := 4
	switch sig {
	case "lf", "lh":
		step = 8
	case "li":
	case "ri":
		if depth > 0 {
			return fmt.Errorf("subkey list at 0x%x: nested index root", baseBlockSize+int64(rel))
		}
	default:
		return fmt.Errorf("subkey list at 0x%x: unknown signature %q", baseBlockSize+int64(rel), sig)
	}
	if 4+n*step > len(c) {
		return fmt.Errorf("subkey list at 0x%x: %d elements overflow the cell", baseBlockSize+int64(rel), n)
	}
	var errs []error
	for i := 0; i < n; i++ {
		el := binary.LittleEndian.Uint32(c[4+i*step:])
		if sig == "ri" {
			if err := h.listKeys(el, depth+1, out); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		sk, ok := h.keyAt(el)
		if !ok {
			errs = append(errs, fmt.Errorf("subkey list at 0x%x element %d: no key node at 0x%x", baseBlockSize+int64(rel), i, baseBlockSize+int64(el)))
			continue
		}
		*out = append(*out, sk)
	}
	return errors.Join(errs...)
}

// Subkey returns the direct subkey with this name (case-insensitive).
func (k Key) Subkey(name string) (Key, bool) {
	sks, _ := k.Subkeys()
	for _, sk := range sks {
		if strings.EqualFold(sk.Name(), name) {
			return sk, true
		}
	}
	return Key{}, false
}

// Open follows a backslash-separated path from this key.
func (k Key) Open(path string) (Key, bool) {
	cur := k
	for _, p := range strings.Split(path, `\`) {
		if p == "" {
			continue
		}
		var ok bool
		if cur, ok = cur.Subkey(p); !ok {
			return Key{}, false
		}
	}
	return cur, true
}

// Valid reports whether the key was found.
func (k Key) Valid() bool { return k.h != nil }

// NumValues is the declared number of values.
func (k Key) NumValues() int { return int(k.node().ValueList().Count()) }

// Values lists the key's values; an error reports a damaged list.
func (k Key) Values() ([]Value, error) {
	n := k.node()
	count := n.ValueList().Count()
	if count == 0 {
		return nil, nil
	}
	c, ok := k.h.cell(n.ValueList().List())
	if !ok {
		return nil, fmt.Errorf("key at 0x%x: value list cell out of range", k.off)
	}
	if uint64(count)*4 > uint64(len(c)) {
		return nil, fmt.Errorf("key at 0x%x: %d values overflow the value list cell", k.off, count)
	}
	var out []Value
	var errs []error
	for i := 0; i < int(count); i++ {
		rel := binary.LittleEndian.Uint32(c[i*4:])
		vc, ok := k.h.cell(rel)
		if !ok || len(vc) < 20 || vc[0] != 'v' || vc[1] != 'k' || 20+int(binary.LittleEndian.Uint16(vc[2:])) > len(vc) {
			errs = append(errs, fmt.Errorf("key at 0x%x value %d: no value record at 0x%x", k.off, i, baseBlockSize+int64(rel)))
			continue
		}
		out = append(out, Value{h: k.h, off: int64(baseBlockSize) + int64(rel) + 4})
	}
	return out, errors.Join(errs...)
}

// Value returns the named value ("" is the default value), case-insensitive.
func (k Key) Value(name string) (Value, bool) {
	vs, _ := k.Values()
	for _, v := range vs {
		if strings.EqualFold(v.Name(), name) {
			return v, true
		}
	}
	return Value{}, false
}

// walker is the state of one Walk.
type walker struct {
	onPath map[int64]bool // keys on the current path (cycle detection)
	budget int            // key visits left
}

// walk visits k and its descendants depth first. A key that is its own
// ancestor (a crafted cycle) is not entered again; a key listed under two
// parents is visited under both, as libregf does, but the total number of
// visits is capped by the number of key cells the hive could hold, so a
// crafted DAG cannot make the walk exponential.
func (w *walker) walk(k Key, path string, depth int, fn func(path string, k Key) error, onErr func(error)) error {
	if w.onPath[k.off] {
		onErr(fmt.Errorf("%s: key node at 0x%x is its own ancestor", path, k.off))
		return nil
	}
	if w.budget--; w.budget < 0 {
		return fmt.Errorf("%s: more key visits than the hive has room for key cells (linked-list loop)", path)
	}
	if err := fn(path, k); err != nil {
		return err
	}
	if depth >= maxDepth {
		onErr(fmt.Errorf("%s: deeper than %d keys", path, maxDepth))
		return nil
	}
	sks, err := k.Subkeys()
	if err != nil {
		onErr(fmt.Errorf("%s: %w", path, err))
	}
	names, keys := make([]string, len(sks)), make([]collationKey, len(sks))
	for i, sk := range sks {
		raw, compressed := sk.rawName()
		names[i], keys[i] = decodeName(raw, compressed), collate(raw, compressed)
	}
	if err := k.subkeyAnomalies(sks, names, keys); err != nil {
		onErr(fmt.Errorf("%s: %w", path, err))
	}
	w.onPath[k.off] = true
	defer delete(w.onPath, k.off)
	for i, sk := range sks {
		if err := w.walk(sk, path+`\`+names[i], depth+1, fn, onErr); err != nil {
			return err
		}
	}
	return nil
}

// subkeyAnomalies reports what Windows never writes into a subkey list,
// which yarp treats as walk errors (its InvalidParentHive, BadListHive,
// BadSubkeyHive, DuplicateSubkeysHive and WrongOrderHive): a subkey whose
// parent field names another key, the same name twice, names out of
// order. Such a list was damaged or edited by something other than the
// configuration manager; the subkeys are still walked, as libregf does.
func (k Key) subkeyAnomalies(sks []Key, names []string, keys []collationKey) error {
	self := uint32(k.off - baseBlockSize - 4)
	var errs []error
	var nParent, nDup, nOrder int
	for i, sk := range sks {
		if p := binary.LittleEndian.Uint32(k.h.data[sk.off+k.h.prof.Off_CM_KEY_NODE_Parent:]); p != self {
			if nParent++; nParent == 1 {
				errs = append(errs, fmt.Errorf("subkey %q at 0x%x names key node 0x%x as its parent, not this one (0x%x)",
					names[i], sk.off, baseBlockSize+int64(p)+4, k.off))
			}
		}
		if i > 0 {
			switch c, known := compareNames(keys[i-1], keys[i]); {
			case known && c == 0:
				if nDup++; nDup == 1 {
					errs = append(errs, fmt.Errorf("subkey %q listed twice", names[i]))
				}
			case known && c > 0:
				if nOrder++; nOrder == 1 {
					errs = append(errs, fmt.Errorf("subkeys out of order: %q listed after %q", names[i], names[i-1]))
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	if more := nParent + nDup + nOrder - len(errs); more > 0 {
		errs = append(errs, fmt.Errorf("and %d more such subkeys", more))
	}
	return fmt.Errorf("key at 0x%x: %w", k.off, errors.Join(errs...))
}

// Walk visits every key, with its path from the root (the root's own name
// first). fn's error stops the walk; damage is reported to onErr.
func (h *Hive) Walk(fn func(path string, k Key) error, onErr func(error)) error {
	w := &walker{onPath: make(map[int64]bool), budget: len(h.data)/80 + 16} // an nk cell takes at least 80 bytes
	r := h.Root()
	return w.walk(r, r.Name(), 0, fn, onErr)
}
