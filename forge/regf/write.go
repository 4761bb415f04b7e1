package regf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// Options are the base-block fields that do not come from the key tree.
type Options struct {
	// HiveName is the path Windows loaded the hive from, e.g.
	// `\??\C:\Windows\System32\config\SYSTEM`. The base block keeps its
	// last 31 UTF-16 characters, NUL-terminated, as Windows does.
	HiveName string
	// LastWritten is the base block's last-written time.
	LastWritten event.FileTime
}

// Format limits (libyal REGF document, MSDN registry element size limits).
const (
	baseBlockSize  = 4096
	hbinHeaderSize = 32
	binAlign       = 4096
	// bigDataSegment is the most a value's data cell holds in format
	// 1.4+; longer data goes to a "db" list of segments of this size.
	bigDataSegment = 16344
	// maxLeaf is how many entries one "lh" leaf holds before Windows
	// splits the subkey list under an "ri" index root: a leaf must fit in
	// one 4 KiB bin ((4096 - 32 - 4 - 4) / 8).
	maxLeaf          = 507
	maxKeyNameLen    = 255   // UTF-16 code units
	maxValueNameLen  = 16383 // UTF-16 code units
	maxDepth         = 512
	maxValues        = 1 << 24
	maxHiveBins      = 1<<31 - baseBlockSize // hive bins offsets are 32-bit
	maxSegments      = 0xFFFF                // db segment count is 16-bit
	noCell           = 0xFFFFFFFF
	keyCompName      = 0x0020 // KEY_COMP_NAME
	keyHiveEntry     = 0x0004 // KEY_HIVE_ENTRY (root)
	keyNoDelete      = 0x0008 // KEY_NO_DELETE (root)
	valueCompName    = 0x0001 // VALUE_COMP_NAME
	dataInline       = 0x80000000
	formatMajor      = 1
	formatMinor      = 5
	fileTypePrimary  = 0
	fileFormatDirect = 1
)

// Write encodes the tree below root as a registry hive file.
func Write(w io.Writer, root *Key, opts Options) error {
	b, err := Bytes(root, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("regf: write hive: %w", err)
	}
	return nil
}

// Bytes encodes the tree below root as a registry hive file in memory.
func Bytes(root *Key, opts Options) ([]byte, error) {
	if root == nil {
		return nil, errors.New("regf: nil root key")
	}
	nkeys, err := validate(root)
	if err != nil {
		return nil, err
	}
	b := &builder{nkeys: nkeys}
	rootOff, err := b.key(root, 0, true, 0)
	if err != nil {
		return nil, err
	}
	b.closeBin()
	if len(b.bins) > maxHiveBins {
		return nil, fmt.Errorf("regf: hive bins of %d bytes exceed the 2 GiB format limit", len(b.bins))
	}
	out := make([]byte, baseBlockSize, baseBlockSize+len(b.bins))
	baseBlock(out, rootOff, uint32(len(b.bins)), opts)
	return append(out, b.bins...), nil
}

// baseBlock fills the 4 KiB file header of a clean primary hive.
func baseBlock(h []byte, rootOff, binsSize uint32, opts Options) {
	le := binary.LittleEndian
	copy(h, "regf")
	// Equal sequence numbers mark the hive as cleanly written: no
	// transaction log needs replaying.
	le.PutUint32(h[4:], 1)
	le.PutUint32(h[8:], 1)
	le.PutUint64(h[12:], uint64(opts.LastWritten))
	le.PutUint32(h[20:], formatMajor)
	le.PutUint32(h[24:], formatMinor)
	le.PutUint32(h[28:], fileTypePrimary)
	le.PutUint32(h[32:], fileFormatDirect)
	le.PutUint32(h[36:], rootOff)
	le.PutUint32(h[40:], binsSize)
	le.PutUint32(h[44:], 1) // clustering factor: 512-byte sectors
	name := utf16.Encode([]rune(opts.HiveName))
	if len(name) > 31 {
		name = name[len(name)-31:]
	}
	for i, c := range name {
		le.PutUint16(h[48+2*i:], c)
	}
	le.PutUint32(h[508:], checksum(h))
}

// checksum is the XOR-32 of the base block's first 508 bytes; 0 and
// 0xFFFFFFFF are remapped as Windows does.
func checksum(h []byte) uint32 {
	var x uint32
	for i := 0; i < 508; i += 4 {
		x ^= binary.LittleEndian.Uint32(h[i:])
	}
	switch x {
	case 0:
		return 1
	case 0xFFFFFFFF:
		return 0xFFFFFFFE
	}
	return x
}

// validate checks the tree against the format's limits before anything is
// laid out, and counts the keys (the security cell's reference count).
func validate(root *Key) (int, error) {
	seen := map[*Key]bool{}
	n := 0
	var walk func(k *Key, path string, depth int) error
	walk = func(k *Key, path string, depth int) error {
		if seen[k] {
			return fmt.Errorf("regf: key %s appears twice in the tree", path)
		}
		seen[k] = true
		n++
		if depth > maxDepth {
			return fmt.Errorf("regf: key %s is deeper than %d levels", path, maxDepth)
		}
		if k.Name == "" {
			return fmt.Errorf("regf: key %s has an empty name", path)
		}
		if !utf8.ValidString(k.Name) || !utf8.ValidString(k.Class) {
			return fmt.Errorf("regf: key %q: name or class is not valid UTF-8", path)
		}
		if strings.Contains(k.Name, `\`) {
			return fmt.Errorf("regf: key name %q contains a backslash", path)
		}
		if l := wire.UTF16Len(k.Name); l > maxKeyNameLen {
			return fmt.Errorf("regf: key name %s is %d characters (limit %d)", path, l, maxKeyNameLen)
		}
		if l := wire.UTF16Len(k.Class); 2*l > 0xFFFF {
			return fmt.Errorf("regf: key %s class name is %d characters", path, l)
		}
		// Counts beyond these make cells no hive bin offset can address
		// (and no real key comes near them).
		if len(k.Values) > maxValues || len(k.Subkeys) > maxLeaf*0xFFFF {
			return fmt.Errorf("regf: key %s has %d values and %d subkeys, over the format limits", path, len(k.Values), len(k.Subkeys))
		}
		for i, v := range k.Values {
			if !utf8.ValidString(v.Name) {
				return fmt.Errorf("regf: key %s value %d: name %q is not valid UTF-8", path, i, v.Name)
			}
			if l := wire.UTF16Len(v.Name); l > maxValueNameLen {
				return fmt.Errorf("regf: key %s value %d name is %d characters (limit %d)", path, i, l, maxValueNameLen)
			}
			if len(v.Data) > maxSegments*bigDataSegment {
				return fmt.Errorf("regf: key %s value %q data of %d bytes is over the format limit", path, v.Name, len(v.Data))
			}
			for _, w := range k.Values[:i] {
				if sameName(w.Name, v.Name) {
					return fmt.Errorf("regf: key %s has two values named %q", path, v.Name)
				}
			}
		}
		if slices.Contains(k.Subkeys, nil) {
			return fmt.Errorf("regf: key %s has a nil subkey", path)
		}
		subs := sortedSubkeys(k)
		for i, sk := range subs {
			if i > 0 && sameName(subs[i-1].Name, sk.Name) {
				return fmt.Errorf("regf: key %s has two subkeys named %q", path, sk.Name)
			}
		}
		for _, sk := range subs {
			if err := walk(sk, path+`\`+sk.Name, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return n, walk(root, root.Name, 0)
}

// builder lays cells out into hive bins in one depth-first pass. Cell sizes
// depend only on content, so every offset is final when allocated.
type builder struct {
	bins   []byte
	pos    int // next free byte in the current bin
	binEnd int
	sk     uint32
	nkeys  int
}

func align8(n int) int { return (n + 7) &^ 7 }

// alloc reserves an allocated cell with n bytes of payload and returns its
// hive-bins-relative offset. A cell never crosses a bin: when it does not
// fit, the rest of the bin becomes one free cell and a new bin, as large
// as the cell needs, is opened.
func (b *builder) alloc(n int) uint32 {
	size := align8(n + 4)
	if b.pos+size > b.binEnd {
		b.closeBin()
		b.openBin((size + hbinHeaderSize + binAlign - 1) / binAlign * binAlign)
	}
	off := b.pos
	binary.LittleEndian.PutUint32(b.bins[off:], uint32(-int32(size)))
	b.pos += size
	return uint32(off)
}

// cell returns the payload of the cell at off.
func (b *builder) cell(off uint32) []byte {
	size := int(-int32(binary.LittleEndian.Uint32(b.bins[off:])))
	return b.bins[int(off)+4 : int(off)+size]
}

func (b *builder) openBin(size int) {
	start := len(b.bins)
	b.bins = append(b.bins, make([]byte, size)...)
	h := b.bins[start:]
	copy(h, "hbin")
	binary.LittleEndian.PutUint32(h[4:], uint32(start))
	binary.LittleEndian.PutUint32(h[8:], uint32(size))
	b.pos, b.binEnd = start+hbinHeaderSize, start+size
}

// closeBin marks the unused end of the current bin as one free cell
// (positive size), so a reader walking the cells meets no gap.
func (b *builder) closeBin() {
	if b.pos < b.binEnd {
		binary.LittleEndian.PutUint32(b.bins[b.pos:], uint32(b.binEnd-b.pos))
	}
	b.pos = b.binEnd
}

// key writes k and everything below it and returns its nk cell offset.
func (b *builder) key(k *Key, parent uint32, root bool, depth int) (uint32, error) {
	name, comp := encodeName(k.Name)
	nk := b.alloc(76 + len(name))
	if root {
		// The root's security cell sits right after it, as in hives
		// Windows writes; every key shares it.
		b.sk = b.securityCell()
	}
	classOff, classLen := uint32(noCell), 0
	if k.Class != "" {
		cls := wire.UTF16(k.Class)
		classOff, classLen = b.alloc(len(cls)), len(cls)
		copy(b.cell(classOff), cls)
	}
	var maxVName, maxVData int
	valuesOff := uint32(noCell)
	if len(k.Values) > 0 {
		valuesOff = b.alloc(4 * len(k.Values))
		for i, v := range k.Values {
			vk := b.value(v)
			binary.LittleEndian.PutUint32(b.cell(valuesOff)[4*i:], vk)
			maxVName = max(maxVName, 2*wire.UTF16Len(v.Name))
			maxVData = max(maxVData, len(v.Data))
		}
	}
	subs := sortedSubkeys(k)
	offs := make([]uint32, len(subs))
	var maxSName, maxSClass int
	for i, sk := range subs {
		off, err := b.key(sk, nk, false, depth+1)
		if err != nil {
			return 0, err
		}
		offs[i] = off
		maxSName = max(maxSName, 2*wire.UTF16Len(sk.Name))
		maxSClass = max(maxSClass, 2*wire.UTF16Len(sk.Class))
	}
	listOff := b.subkeyList(subs, offs)

	c := b.cell(nk)
	le := binary.LittleEndian
	copy(c, "nk")
	flags := uint16(0)
	if comp {
		flags |= keyCompName
	}
	if root {
		flags |= keyHiveEntry | keyNoDelete
	}
	le.PutUint16(c[2:], flags)
	le.PutUint64(c[4:], uint64(k.LastWrite))
	le.PutUint32(c[16:], parent)
	le.PutUint32(c[20:], uint32(len(subs)))
	le.PutUint32(c[24:], 0) // volatile subkeys live only in memory
	le.PutUint32(c[28:], listOff)
	le.PutUint32(c[32:], noCell)
	le.PutUint32(c[36:], uint32(len(k.Values)))
	le.PutUint32(c[40:], valuesOff)
	le.PutUint32(c[44:], b.sk)
	le.PutUint32(c[48:], classOff)
	le.PutUint32(c[52:], uint32(maxSName))
	le.PutUint32(c[56:], uint32(maxSClass))
	le.PutUint32(c[60:], uint32(maxVName))
	le.PutUint32(c[64:], uint32(maxVData))
	le.PutUint16(c[72:], uint16(len(name)))
	le.PutUint16(c[74:], uint16(classLen))
	copy(c[76:], name)
	return nk, nil
}

// value writes one vk cell and its data and returns the vk offset.
func (b *builder) value(v Value) uint32 {
	le := binary.LittleEndian
	name, comp := encodeName(v.Name)
	vk := b.alloc(20 + len(name))
	n := len(v.Data)
	var size, data uint32
	switch {
	case n <= 4:
		// Up to four bytes live in the data-offset field itself.
		var inline [4]byte
		copy(inline[:], v.Data)
		size, data = uint32(n)|dataInline, le.Uint32(inline[:])
	case n <= bigDataSegment:
		data = b.alloc(n)
		copy(b.cell(data), v.Data)
		size = uint32(n)
	default:
		nseg := (n + bigDataSegment - 1) / bigDataSegment
		db := b.alloc(8)
		list := b.alloc(4 * nseg)
		for i := 0; i < nseg; i++ {
			// Windows allocates every segment at full size, the last
			// one too (measured on yarp's BigDataHive); libregf sizes
			// segments from their cells and cuts a short last one.
			seg := b.alloc(bigDataSegment)
			copy(b.cell(seg), v.Data[i*bigDataSegment:min(n, (i+1)*bigDataSegment)])
			le.PutUint32(b.cell(list)[4*i:], seg)
		}
		c := b.cell(db)
		copy(c, "db")
		le.PutUint16(c[2:], uint16(nseg))
		le.PutUint32(c[4:], list)
		data, size = db, uint32(n)
	}
	c := b.cell(vk)
	copy(c, "vk")
	le.PutUint16(c[2:], uint16(len(name)))
	le.PutUint32(c[4:], size)
	le.PutUint32(c[8:], data)
	le.PutUint32(c[12:], v.Type)
	if comp && len(name) > 0 {
		le.PutUint16(c[16:], valueCompName)
	}
	copy(c[20:], name)
	return vk
}

// subkeyList writes the sorted subkey index: one "lh" leaf, or an "ri"
// index root over balanced leaves when there are more than fit in a bin.
func (b *builder) subkeyList(subs []*Key, offs []uint32) uint32 {
	if len(subs) == 0 {
		return noCell
	}
	leaf := func(lo, hi int) uint32 {
		off := b.alloc(4 + 8*(hi-lo))
		c := b.cell(off)
		copy(c, "lh")
		binary.LittleEndian.PutUint16(c[2:], uint16(hi-lo))
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint32(c[4+8*(i-lo):], offs[i])
			binary.LittleEndian.PutUint32(c[8+8*(i-lo):], lhHash(subs[i].Name))
		}
		return off
	}
	if len(subs) <= maxLeaf {
		return leaf(0, len(subs))
	}
	nleaves := (len(subs) + maxLeaf - 1) / maxLeaf
	per := (len(subs) + nleaves - 1) / nleaves
	var leaves []uint32
	for lo := 0; lo < len(subs); lo += per {
		leaves = append(leaves, leaf(lo, min(len(subs), lo+per)))
	}
	ri := b.alloc(4 + 4*len(leaves))
	c := b.cell(ri)
	copy(c, "ri")
	binary.LittleEndian.PutUint16(c[2:], uint16(len(leaves)))
	for i, l := range leaves {
		binary.LittleEndian.PutUint32(c[4+4*i:], l)
	}
	return ri
}

// securityCell writes the one "sk" cell all keys share. A lone sk cell's
// list links point at itself.
func (b *builder) securityCell() uint32 {
	sd := defaultSecurityDescriptor()
	off := b.alloc(20 + len(sd))
	c := b.cell(off)
	le := binary.LittleEndian
	copy(c, "sk")
	le.PutUint32(c[4:], off)
	le.PutUint32(c[8:], off)
	le.PutUint32(c[12:], uint32(b.nkeys))
	le.PutUint32(c[16:], uint32(len(sd)))
	copy(c[20:], sd)
	return off
}

// sortedSubkeys returns k's subkeys in the order Windows keeps them in
// subkey lists: by upper-cased UTF-16 name.
func sortedSubkeys(k *Key) []*Key {
	s := slices.Clone(k.Subkeys)
	slices.SortStableFunc(s, func(a, b *Key) int {
		if a == nil || b == nil {
			return 0
		}
		return compareNames(a.Name, b.Name)
	})
	return s
}

// upcase maps one UTF-16 code unit as the kernel's upcase table does for
// the characters names use; surrogates and characters whose upper case is
// outside the BMP stay as they are.
func upcase(c uint16) uint16 {
	if c < 0x80 {
		if 'a' <= c && c <= 'z' {
			return c - 32
		}
		return c
	}
	if c >= 0xD800 && c < 0xE000 {
		return c
	}
	u := unicode.ToUpper(rune(c))
	if u > 0xFFFF {
		return c
	}
	return uint16(u)
}

func compareNames(a, b string) int {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		x, y := upcase(ua[i]), upcase(ub[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return len(ua) - len(ub)
}

// lhHash is the "lh" leaf hash: h = h*37 + upcase(c) over UTF-16 units.
func lhHash(name string) uint32 {
	var h uint32
	for _, c := range utf16.Encode([]rune(name)) {
		h = h*37 + uint32(upcase(c))
	}
	return h
}

// encodeName stores a name one byte per character (the "compressed" form
// Windows uses whenever it can) or as UTF-16LE. Characters 0x80-0x9F are
// not compressed: readers decode compressed names as Windows-1252, where
// those bytes are other characters.
func encodeName(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 0x100 || (r >= 0x80 && r < 0xA0) {
			return wire.UTF16(s), false
		}
		b = append(b, byte(r))
	}
	return b, true
}
