package evtx

import (
	"crypto/sha256"
	"encoding/binary"
	"io"

	"github.com/foothold/foothold/forge/wire"
)

// A template is an element tree whose leaves are literal text or
// substitutions of instance values. Records are written the way the
// Windows event log service writes them: one template for the System
// part, keyed by provider, channel and computer (which it stores as
// literal text), and a nested template for EventData or UserData carried
// in a BinXML value (substitution 19).

type content struct {
	text string // literal text, when elem is nil and sub < 0
	sub  int    // substitution index, -1 for none
	typ  byte   // declared value type of the substitution
	opt  bool   // optional substitution (absent when the value is NULL)
	elem *elem
}

type attr struct {
	name string
	val  content
}

type elem struct {
	name     string
	dep      uint16 // dependency identifier; 0xffff = none
	attrs    []attr
	children []content
}

func text(s string) content                   { return content{text: s, sub: -1} }
func subst(i int, typ byte, opt bool) content { return content{sub: i, typ: typ, opt: opt} }
func child(e *elem) content                   { return content{sub: -1, elem: e} }

// newElem makes an element. Like the event log service, it marks an
// element whose whole content is one optional substitution as depending
// on that substitution (the element is left out when the value is NULL).
func newElem(name string, attrs []attr, children ...content) *elem {
	e := &elem{name: name, dep: 0xffff, attrs: attrs, children: children}
	if len(children) == 1 && children[0].elem == nil && children[0].sub >= 0 && children[0].opt {
		e.dep = uint16(children[0].sub)
	}
	return e
}

// template is a definition with its identifier. Windows-written logs show
// the same GUID for the same definition across files; we take a hash of
// the definition's canonical form, so the same layout gets the same GUID
// in every chunk and every file.
type template struct {
	root *elem
	guid [16]byte
}

func newTemplate(root *elem) *template {
	t := &template{root: root}
	h := sha256.New()
	canon(h, root)
	copy(t.guid[:], h.Sum(nil))
	return t
}

// canon writes a chunk-independent serialisation of a template (names as
// text, not offsets) for its GUID.
func canon(w io.Writer, e *elem) {
	w.Write([]byte{'<'})
	canonString(w, e.name)
	w.Write(binary.LittleEndian.AppendUint16(nil, e.dep))
	for _, a := range e.attrs {
		w.Write([]byte{' '})
		canonString(w, a.name)
		canonContent(w, a.val)
	}
	w.Write([]byte{'>'})
	for _, c := range e.children {
		canonContent(w, c)
	}
	w.Write([]byte{'/', '>'})
}

func canonContent(w io.Writer, c content) {
	switch {
	case c.elem != nil:
		canon(w, c.elem)
	case c.sub >= 0:
		b := []byte{'%', byte(c.sub), byte(c.sub >> 8), c.typ, 0}
		if c.opt {
			b[4] = 1
		}
		w.Write(b)
	default:
		w.Write([]byte{'"'})
		canonString(w, c.text)
	}
}

// canonString writes s with its length, so that no two templates share a
// serialisation.
func canonString(w io.Writer, s string) {
	w.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(s))))
	w.Write([]byte(s))
}

// BinXML tokens.
const (
	tokEOF           = 0x00
	tokOpenStart     = 0x01
	tokCloseStart    = 0x02
	tokCloseEmpty    = 0x03
	tokEndElement    = 0x04
	tokValue         = 0x05
	tokAttribute     = 0x06
	tokTemplate      = 0x0c
	tokNormalSubst   = 0x0d
	tokOptionalSubst = 0x0e
	tokFragment      = 0x0f
	flagMore         = 0x40
)

// enc writes BinXML for one record into a chunk being filled. Names and
// template definitions are chunk-local: the first use stores them inline
// and links them into the chunk header's hash tables; later uses refer to
// them by chunk offset. Additions are staged until the record is known to
// fit (commit), so a record that spills into the next chunk leaves this
// one untouched.
type enc struct {
	c    *chunk
	base int    // chunk offset of b[0]
	b    []byte // record bytes

	names     map[string]uint32
	nameHeads map[int]uint32
	tmpls     map[[16]byte]uint32
	tmplHeads map[int]uint32
}

func newEnc(c *chunk, base int) *enc {
	return &enc{c: c, base: base, names: map[string]uint32{}, nameHeads: map[int]uint32{},
		tmpls: map[[16]byte]uint32{}, tmplHeads: map[int]uint32{}}
}

func (e *enc) off() uint32 { return uint32(e.base + len(e.b)) }

func (e *enc) u8(v byte)    { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }

// hole reserves a 32-bit field to patch later and returns its index in b.
func (e *enc) hole() int {
	e.u32(0)
	return len(e.b) - 4
}

func (e *enc) patch(at int, v uint32) { binary.LittleEndian.PutUint32(e.b[at:], v) }

// nameHash is the MS-EVEN6 name hash: h = h*65599 + c over UTF-16 code
// units, low 16 bits kept. The same function over the GUID's 16-bit words
// picks a template's bucket (as observed in Windows-written chunks).
func nameHash(u []byte) uint32 {
	var h uint32
	for i := 0; i+1 < len(u); i += 2 {
		h = h*65599 + uint32(binary.LittleEndian.Uint16(u[i:]))
	}
	return h
}

// name writes a name reference, storing the name inline on first use.
func (e *enc) name(s string) {
	if off, ok := e.names[s]; ok {
		e.u32(off)
		return
	}
	if off, ok := e.c.names[s]; ok {
		e.u32(off)
		return
	}
	off := e.off() + 4
	e.u32(off)
	u := wire.UTF16(s)
	h := nameHash(u)
	bucket := int(h % 64)
	head, ok := e.nameHeads[bucket]
	if !ok {
		head = e.c.nameHead(bucket)
	}
	e.u32(head) // next name in the same bucket
	e.u16(uint16(h))
	e.u16(uint16(len(u) / 2))
	e.b = append(e.b, u...)
	e.u16(0)
	e.names[s] = off
	e.nameHeads[bucket] = off
}

// valueText writes literal text.
func (e *enc) valueText(s string) {
	u := wire.UTF16(s)
	e.u8(tokValue)
	e.u8(tString)
	e.u16(uint16(len(u) / 2))
	e.b = append(e.b, u...)
}

func (e *enc) content(c content, inTemplate bool) {
	switch {
	case c.elem != nil:
		e.element(c.elem, inTemplate)
	case c.sub >= 0:
		if c.opt {
			e.u8(tokOptionalSubst)
		} else {
			e.u8(tokNormalSubst)
		}
		e.u16(uint16(c.sub))
		e.u8(c.typ)
	default:
		e.valueText(c.text)
	}
}

// element writes an element; in a template definition every element
// start carries the dependency identifier.
func (e *enc) element(el *elem, inTemplate bool) {
	tok := byte(tokOpenStart)
	if len(el.attrs) > 0 {
		tok |= flagMore
	}
	e.u8(tok)
	if inTemplate {
		e.u16(el.dep)
	}
	size := e.hole()
	start := len(e.b)
	e.name(el.name)
	if len(el.attrs) > 0 {
		asize := e.hole()
		astart := len(e.b)
		for i, a := range el.attrs {
			t := byte(tokAttribute)
			if i < len(el.attrs)-1 {
				t |= flagMore
			}
			e.u8(t)
			e.name(a.name)
			e.content(a.val, inTemplate)
		}
		e.patch(asize, uint32(len(e.b)-astart))
	}
	if len(el.children) == 0 {
		e.u8(tokCloseEmpty)
	} else {
		e.u8(tokCloseStart)
		for _, c := range el.children {
			e.content(c, inTemplate)
		}
		e.u8(tokEndElement)
	}
	e.patch(size, uint32(len(e.b)-start))
}

// instance writes a fragment holding a template instance: the fragment
// header, the instance (with the definition inline on its first use in
// the chunk), the values, and the end-of-fragment token. vals[i] nil with
// nested non-nil is a BinXML value encoded in place by nested.
func (e *enc) instance(t *template, vals []val, nested func()) {
	e.b = append(e.b, tokFragment, 1, 1, 0)
	e.u8(tokTemplate)
	e.u8(1)
	e.b = append(e.b, t.guid[:4]...)
	def, known := e.tmpls[t.guid]
	if !known {
		def, known = e.c.tmpls[t.guid]
	}
	if known {
		e.u32(def)
	} else {
		def = e.off() + 4
		e.u32(def)
		bucket := int(nameHash(t.guid[:]) % 32)
		head, ok := e.tmplHeads[bucket]
		if !ok {
			head = e.c.tmplHead(bucket)
		}
		e.u32(head) // next definition in the same bucket
		e.b = append(e.b, t.guid[:]...)
		size := e.hole()
		start := len(e.b)
		e.b = append(e.b, tokFragment, 1, 1, 0)
		e.element(t.root, true)
		e.u8(tokEOF)
		e.patch(size, uint32(len(e.b)-start))
		e.tmpls[t.guid] = def
		e.tmplHeads[bucket] = def
	}
	e.u32(uint32(len(vals)))
	descs := len(e.b)
	for _, v := range vals {
		e.u16(uint16(len(v.b)))
		e.u8(v.typ)
		e.u8(0)
	}
	for i, v := range vals {
		if v.typ == tBinXML && nested != nil {
			start := len(e.b)
			nested()
			binary.LittleEndian.PutUint16(e.b[descs+4*i:], uint16(len(e.b)-start))
			continue
		}
		e.b = append(e.b, v.b...)
	}
	e.u8(tokEOF)
}
