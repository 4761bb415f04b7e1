package evtx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// The decoder below reads Binary XML (MS-EVEN6 as documented by libyal's
// "Windows XML Event Log (EVTX) format"). We decode it ourselves instead of
// going through Velocidex/evtx because that library loses the type of
// every substitution value (D11, D12: FILETIME as float, size_t and small
// signed integers as raw bytes, GUIDs without braces) and runs at about a
// third of the throughput we need. Names and templates are chunk-local, so
// each chunk is decoded on its own and chunks can run in parallel.

const (
	chunkSize       = 0x10000
	chunkHeaderSize = 0x200
	recordHeader    = 24
	minRecordSize   = recordHeader + 4

	maxDepth    = 24   // nested BinXML values / template instances
	maxElements = 4096 // elements per template or fragment
	maxValues   = 4096 // substitution values per template instance
	maxNesting  = 128  // element nesting
)

var (
	errTruncated = errors.New("binxml: data truncated")
	errDepth     = errors.New("binxml: nesting too deep")
)

type itemKind uint8

const (
	kElem itemKind = iota // child element
	kText                 // literal text (value, CDATA, character or entity reference)
	kSub                  // substitution of template value sub
	kInst                 // template instance with its own values (records and BinXML values)
)

// item is one piece of element content or attribute value.
type item struct {
	kind itemKind
	typ  uint8 // value type of a substitution
	opt  bool  // optional substitution: absent when the value is NULL
	sub  uint16
	text string
	elem *elem
	inst *fragment
}

type attr struct {
	name  string
	items []item
}

type elem struct {
	name  string
	attrs []attr
	items []item
	plan  *sysPlan // for a System element: how its values are read
}

// fragment is a template instance: the template's items and this
// instance's values.
type fragment struct {
	items []item
	vals  []value
	tmpl  *template
	id    uint32 // template identifier in the instance: the GUID's first 4 bytes
}

// value is one raw substitution value.
type value struct {
	typ uint8
	off int // chunk offset of b, needed to decode BinXML values in place
	b   []byte
}

type template struct {
	items []item
	err   error
	types []uint8 // declared value type per substitution id (first use)
	set   []bool
	guid4 uint32 // first 4 bytes of the template GUID
	bad   bool   // holds a name that failed its hash check
}

// declare records the types the template's substitutions declare.
func (t *template) declare(items []item) {
	for _, it := range items {
		switch it.kind {
		case kElem:
			for _, a := range it.elem.attrs {
				t.declare(a.items)
			}
			t.declare(it.elem.items)
		case kSub:
			id := int(it.sub)
			for len(t.types) <= id {
				t.types = append(t.types, 0)
				t.set = append(t.set, false)
			}
			if !t.set[id] {
				t.types[id], t.set[id] = it.typ, true
			}
		}
	}
}

// compatible reports whether a value of type actual may fill a
// substitution declared as decl.
func compatible(decl, actual uint8) bool {
	switch {
	case decl == actual, actual == tNull, decl == tNull:
		return true
	case decl&^tArray == tSizeT && decl&tArray == actual&tArray:
		b := actual &^ tArray
		return b == tHex32 || b == tHex64
	}
	return false
}

// consistent reports whether every value of f has the type its template
// declares, nested BinXML values included. Records recovered from unused
// space may point at templates that were overwritten since; this is how
// we tell.
func (d *chunkDecoder) consistent(f *fragment, depth int) bool {
	if f.tmpl == nil || f.tmpl.err != nil || depth > maxDepth || f.tmpl.guid4 != f.id {
		return false
	}
	for id, decl := range f.tmpl.types {
		if !f.tmpl.set[id] {
			continue
		}
		if id >= len(f.vals) {
			return false
		}
		v := f.vals[id]
		if !compatible(decl, v.typ) {
			return false
		}
		if v.typ == tBinXML && len(v.b) > 0 {
			items, err := d.fragmentAt(v.off, v.off+len(v.b), depth+1)
			if err != nil || !d.consistentItems(items, depth+1) {
				return false
			}
		}
	}
	return true
}

func (d *chunkDecoder) consistentItems(items []item, depth int) bool {
	for _, it := range items {
		if it.kind == kInst && !d.consistent(it.inst, depth) {
			return false
		}
	}
	return true
}

// chunkDecoder decodes the records of one chunk. Names and templates are
// referenced by chunk-relative offsets and cached per chunk.
type chunkDecoder struct {
	b        []byte // the chunk; shorter than 64 KiB when the file is truncated
	names    map[uint32]name
	badName  bool // a name failed its hash check since last reset
	tmpls    map[uint32]*template
	last     *template // the template returned last, at lastOff
	lastOff  uint32
	elements int // elements built for the current record, bounded

	// Per-record arenas: the template instances of a record, their values
	// and one-item fragments live only until the record is turned into
	// an event, so they are carved from slabs that the next record
	// reuses instead of being allocated per record.
	vals  []value
	frags []fragment
	items []item
}

func newChunkDecoder(b []byte) *chunkDecoder {
	return &chunkDecoder{b: b, names: make(map[uint32]name, 64), tmpls: make(map[uint32]*template, 32)}
}

// reset makes the decoder ready for another chunk, keeping its maps' and
// slabs' memory.
func (d *chunkDecoder) reset(b []byte) {
	d.b = b
	clear(d.names)
	clear(d.tmpls)
	d.last = nil
	d.badName = false
	d.elements = 0
	d.newRecord()
}

// newRecord releases the per-record arenas. Nothing decoded for the
// previous record may be used after this.
func (d *chunkDecoder) newRecord() {
	d.vals = d.vals[:0]
	d.frags = d.frags[:0]
	d.items = d.items[:0]
}

// allocVals returns n values from the record arena. Growing the slab
// starts a new one: slices handed out earlier keep the old one alive.
func (d *chunkDecoder) allocVals(n int) []value {
	if len(d.vals)+n > cap(d.vals) {
		d.vals = make([]value, 0, max(2*cap(d.vals), n, 256))
	}
	start := len(d.vals)
	d.vals = d.vals[:start+n]
	return d.vals[start : start+n : start+n]
}

func (d *chunkDecoder) allocFragment() *fragment {
	if len(d.frags) == cap(d.frags) {
		d.frags = make([]fragment, 0, max(2*cap(d.frags), 16))
	}
	d.frags = d.frags[:len(d.frags)+1]
	f := &d.frags[len(d.frags)-1]
	*f = fragment{}
	return f
}

// oneItem returns a one-item slice from the record arena.
func (d *chunkDecoder) oneItem(it item) []item {
	if len(d.items) == cap(d.items) {
		d.items = make([]item, 0, max(2*cap(d.items), 16))
	}
	d.items = append(d.items, it)
	n := len(d.items)
	return d.items[n-1 : n : n]
}

// reader is a bounded cursor into the chunk. Reads past end set bad and
// return zeros, so decoding code checks bad once per token instead of per
// read.
type reader struct {
	b        []byte
	pos, end int
	bad      bool
}

func (r *reader) need(n int) bool {
	if n < 0 || r.pos+n > r.end || r.pos+n < r.pos {
		r.bad = true
		r.pos = r.end
		return false
	}
	return true
}

func (r *reader) u8() uint8 {
	if !r.need(1) {
		return 0
	}
	v := r.b[r.pos]
	r.pos++
	return v
}

func (r *reader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b[r.pos:])
	r.pos += 2
	return v
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.pos:])
	r.pos += 4
	return v
}

func (r *reader) bytes(n int) []byte {
	if !r.need(n) {
		return nil
	}
	v := r.b[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return v
}

func (r *reader) skip(n int) {
	if r.need(n) {
		r.pos += n
	}
}

// utf16 reads a counted UTF-16LE string (count of code units, no NUL).
func (r *reader) utf16() string {
	n := int(r.u16())
	return decodeUTF16(r.bytes(2 * n))
}

// decodeUTF16 converts UTF-16LE to UTF-8, dropping trailing NULs (Windows
// stores many EventData strings with their terminator). Unpaired
// surrogates become U+FFFD.
func decodeUTF16(b []byte) string {
	n := len(b) / 2
	for n > 0 && b[2*n-1] == 0 && b[2*n-2] == 0 {
		n--
	}
	return utf16String(b, n)
}

// utf16String decodes the first n code units of b.
func utf16String(b []byte, n int) string {
	ascii := true
	for i := 0; i < n; i++ {
		if b[2*i+1] != 0 || b[2*i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		out := make([]byte, n)
		for i := range out {
			out[i] = b[2*i]
		}
		return string(out)
	}
	out := make([]byte, 0, n+n/2)
	for i := 0; i < n; i++ {
		c := rune(binary.LittleEndian.Uint16(b[2*i:]))
		if utf16.IsSurrogate(c) && c < 0xdc00 && i+1 < n {
			c2 := rune(binary.LittleEndian.Uint16(b[2*i+2:]))
			if r := utf16.DecodeRune(c, c2); r != utf8.RuneError {
				out = utf8.AppendRune(out, r)
				i++
				continue
			}
		}
		if utf16.IsSurrogate(c) {
			c = utf8.RuneError
		}
		out = utf8.AppendRune(out, c)
	}
	return string(out)
}

// name reads a name reference. A name stored inline (its offset is the
// current position) is skipped over; any other offset points back into
// the chunk.
func (d *chunkDecoder) name(r *reader) string {
	off := r.u32()
	if r.bad {
		return ""
	}
	if int(off) == r.pos {
		s, n := d.nameAt(off)
		r.skip(n)
		return s
	}
	s, _ := d.nameAt(off)
	return s
}

type name struct {
	s  string
	ok bool
}

// nameAt returns the name at a chunk offset and its encoded size (next
// offset, hash, count, UTF-16 characters, NUL). A name whose hash or
// terminator does not check out marks the decoder (badName): in a record
// recovered from unused space it means the name was overwritten.
func (d *chunkDecoder) nameAt(off uint32) (string, int) {
	rr := reader{b: d.b, pos: int(off), end: len(d.b)}
	rr.skip(4) // next-name offset
	hash := rr.u16()
	n := int(rr.u16())
	size := 8 + 2*n + 2
	if nm, ok := d.names[off]; ok {
		d.badName = d.badName || !nm.ok
		return nm.s, size
	}
	raw := rr.bytes(2 * n)
	term := rr.u16()
	if rr.bad {
		d.badName = true
		return "", size
	}
	nm := name{s: decodeUTF16(raw), ok: term == 0 && nameHash(raw) == hash}
	d.badName = d.badName || !nm.ok
	d.names[off] = nm
	return nm.s, size
}

// nameHash is the 16-bit name hash of MS-EVEN6: h = h*65599 + c over the
// UTF-16 code units, low 16 bits.
func nameHash(raw []byte) uint16 {
	var h uint32
	for i := 0; i+1 < len(raw); i += 2 {
		h = h*65599 + uint32(binary.LittleEndian.Uint16(raw[i:]))
	}
	return uint16(h)
}

// template returns the template whose definition starts at off
// (next-definition offset, GUID, data size, body).
func (d *chunkDecoder) template(off uint32) *template {
	// Runs of records use the same template.
	if d.last != nil && d.lastOff == off {
		return d.last
	}
	if t, ok := d.tmpls[off]; ok {
		d.last, d.lastOff = t, off
		return t
	}
	t := &template{}
	d.tmpls[off] = t // a definition referring to itself finds it empty
	r := reader{b: d.b, pos: int(off), end: len(d.b)}
	r.skip(4)
	t.guid4 = r.u32()
	r.skip(12)
	size := int(r.u32())
	if r.bad {
		t.err = fmt.Errorf("template definition at chunk offset %d: %w", off, errTruncated)
		return t
	}
	if r.pos+size < r.end && size >= 0 {
		r.end = r.pos + size
	}
	saved, savedBad := d.elements, d.badName
	d.elements, d.badName = 0, false
	t.items, t.err = d.build(&r, true, 0)
	t.bad = d.badName
	d.elements, d.badName = saved, savedBad
	t.declare(t.items)
	if t.err != nil {
		t.err = fmt.Errorf("template definition at chunk offset %d: %w", off, t.err)
	}
	return t
}

// instance reads a template instance (after its token): the template
// reference, an inline definition if there is one, and the values.
func (d *chunkDecoder) instance(r *reader, depth int) (*fragment, error) {
	r.skip(1) // unknown, 1
	id := r.u32()
	defOff := r.u32()
	if r.bad {
		return nil, errTruncated
	}
	if int(defOff) == r.pos || d.sameDefinition(defOff, r.pos) {
		// The definition follows inline: skip it, it is decoded (once per
		// chunk) by template(). Exported logs (wevtutil epl) repeat a
		// definition inline while pointing at its first copy, hence the
		// comparison of the template GUIDs.
		r.skip(20)
		size := int(r.u32())
		r.skip(size)
	}
	if r.bad {
		return nil, errTruncated
	}
	t := d.template(defOff)
	d.badName = d.badName || t.bad
	n := int(r.u32())
	if r.bad {
		return nil, errTruncated
	}
	if n > maxValues || n*4 > r.end-r.pos {
		return nil, fmt.Errorf("binxml: template instance with %d values in %d bytes", n, r.end-r.pos)
	}
	f := d.allocFragment()
	f.items, f.vals, f.tmpl, f.id = t.items, d.allocVals(n), t, id
	desc := r.bytes(4 * n)
	for i := range f.vals {
		size := int(binary.LittleEndian.Uint16(desc[4*i:]))
		v := &f.vals[i]
		v.typ = desc[4*i+2]
		v.off = r.pos // before bytes() moves it
		v.b = r.bytes(size)
	}
	if r.bad {
		return f, errTruncated
	}
	return f, t.err
}

// build decodes tokens into items until the end-of-file token or the end
// of the reader. tmpl is true inside a template definition, where element
// starts carry a 2-byte dependency identifier and no instance may appear.
func (d *chunkDecoder) build(r *reader, tmpl bool, depth int) ([]item, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	root := &elem{}
	stack := make([]*elem, 1, 8)
	stack[0] = root
	attrIdx := -1 // index of the attribute receiving values, -1 for content
	add := func(it item) {
		top := stack[len(stack)-1]
		if attrIdx >= 0 {
			top.attrs[attrIdx].items = append(top.attrs[attrIdx].items, it)
			return
		}
		top.items = append(top.items, it)
	}
	for r.pos < r.end {
		tok := r.u8()
		switch tok {
		case 0x00: // end of file
			return root.items, nil
		case 0x0f: // fragment header
			r.skip(3)
		case 0x0c: // template instance
			if tmpl {
				return root.items, fmt.Errorf("binxml: template instance inside a template at chunk offset %d", r.pos-1)
			}
			f, err := d.instance(r, depth+1)
			if f != nil {
				add(item{kind: kInst, inst: f})
			}
			if err != nil {
				return root.items, err
			}
		case 0x01, 0x41: // element start
			if tmpl {
				r.skip(2)
			}
			r.skip(4) // data size
			e := &elem{name: d.name(r)}
			if tok == 0x41 {
				r.skip(4) // attribute list size
			}
			if d.elements++; d.elements > maxElements || len(stack) > maxNesting {
				return root.items, fmt.Errorf("binxml: more than %d elements or %d levels", maxElements, maxNesting)
			}
			attrIdx = -1
			add(item{kind: kElem, elem: e})
			stack = append(stack, e)
		case 0x02: // close start element
			attrIdx = -1
		case 0x03, 0x04: // close empty element, end element
			attrIdx = -1
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case 0x05, 0x45: // value text
			r.skip(1) // value type, always string
			add(item{kind: kText, text: r.utf16()})
		case 0x06, 0x46: // attribute
			top := stack[len(stack)-1]
			top.attrs = append(top.attrs, attr{name: d.name(r)})
			attrIdx = len(top.attrs) - 1
		case 0x07, 0x47: // CDATA section
			add(item{kind: kText, text: r.utf16()})
		case 0x08, 0x48: // character reference
			add(item{kind: kText, text: string(rune(r.u16()))})
		case 0x09, 0x49: // entity reference
			add(item{kind: kText, text: entity(d.name(r))})
		case 0x0a: // PI target
			d.name(r)
		case 0x0b: // PI data
			r.utf16()
		case 0x0d, 0x0e: // normal and optional substitution
			id := r.u16()
			typ := r.u8()
			add(item{kind: kSub, sub: id, typ: typ, opt: tok == 0x0e})
		default:
			return root.items, fmt.Errorf("binxml: invalid token 0x%02x at chunk offset %d", tok, r.pos-1)
		}
		if r.bad {
			return root.items, errTruncated
		}
	}
	return root.items, nil
}

func entity(name string) string {
	switch name {
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "amp":
		return "&"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// fragmentAt decodes the BinXML in b[pos:end] (a record body or a
// BinXML-typed value).
func (d *chunkDecoder) fragmentAt(pos, end, depth int) ([]item, error) {
	if items, ok := d.instanceOnly(pos, end, depth); ok {
		return items, nil
	}
	r := reader{b: d.b, pos: pos, end: end}
	return d.build(&r, false, depth)
}

// instanceOnly decodes the shape nearly every record and BinXML value
// has: a fragment header, one template instance, then the end token or
// the end of the data. It gives what build gives for that shape without
// build's per-call allocations; any other shape, or an error, reports
// !ok and build decodes it from the start.
func (d *chunkDecoder) instanceOnly(pos, end, depth int) ([]item, bool) {
	if depth+1 > maxDepth || end > len(d.b) || pos < 0 || end-pos < 5 || d.b[pos] != 0x0f || d.b[pos+4] != 0x0c {
		return nil, false
	}
	r := reader{b: d.b, pos: pos + 5, end: end}
	f, err := d.instance(&r, depth+1)
	if err != nil || f == nil || r.pos < r.end && d.b[r.pos] != 0x00 {
		return nil, false
	}
	return d.oneItem(item{kind: kInst, inst: f}), true
}

// sameDefinition reports whether a template definition (next offset,
// GUID) starts at pos that has the GUID of the definition at def.
func (d *chunkDecoder) sameDefinition(def uint32, pos int) bool {
	a, b := int(def)+4, pos+4
	if a+16 > len(d.b) || b+16 > len(d.b) || a == b {
		return false
	}
	return string(d.b[a:a+16]) == string(d.b[b:b+16])
}
