package ntfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Attribute type codes used here.
const (
	attrStandardInformation = 0x10
	attrAttributeList       = 0x20
	attrFileName            = 0x30
	attrVolumeName          = 0x60
	attrData                = 0x80
	attrIndexRoot           = 0x90
	attrEnd                 = 0xFFFFFFFF
)

// Record header flags.
const (
	recInUse = 0x0001
	recDir   = 0x0002
)

// $FILE_NAME namespaces.
const (
	nsPOSIX    = 0
	nsWin32    = 1
	nsDOS      = 2
	nsWin32DOS = 3
)

var (
	errEmptySlot = errors.New("empty slot")
)

// record is one decoded MFT record. We parse records ourselves rather than
// through go-ntfs because we need the raw FILETIMEs (D6), the real stream
// sizes (D7), every $FILE_NAME with its namespace and attribute id, and a
// pass over 50,000+ records that does not allocate a parser object per
// attribute.
type record struct {
	entry    uint64
	seq      uint16
	flags    uint16
	baseRef  uint64 // non-zero for extension records
	baseSeq  uint16
	baad     bool
	fixupErr error

	si    *stdInfo
	names []fileName
	data  []dataAttr // $DATA attributes, unnamed and named
	index []dataAttr // $INDEX_ROOT attributes (name $I30 for directories)
	label string     // $VOLUME_NAME (entry 3 only)
	// attrs lists every attribute's key, for TSK-compatible id renumbering
	// when extension records are merged (see mftIndex.merge).
	attrs []attrKey
	// hasAttrList is true when the record carries an $ATTRIBUTE_LIST, i.e.
	// some of its attributes may live in extension records.
	hasAttrList bool
}

type attrKey struct {
	typ  uint32
	name string
	id   uint16
}

type stdInfo struct {
	b, m, c, a uint64 // raw FILETIMEs
	flags      uint32
	id         uint16
}

type fileName struct {
	parent     uint64 // entry number
	parentSeq  uint16
	b, m, c, a uint64
	alloc      uint64
	size       uint64
	flags      uint32
	namespace  uint8
	name       string
	id         uint16
}

type dataAttr struct {
	name      string
	id        uint16
	resident  bool
	size      int64 // real (logical) size; for non-resident only valid when startVCN == 0
	alloc     int64
	startVCN  uint64
	content   []byte // resident content (sub-slice of the record buffer, copied when kept)
	nonResHdr bool
}

func (r *record) inUse() bool { return r.flags&recInUse != 0 }
func (r *record) isDir() bool { return r.flags&recDir != 0 }

// isZero reports whether b holds only zero bytes.
func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// applyFixups undoes the update-sequence protection in place. A mismatch is
// reported but the record is still decoded: the bytes at the sector ends are
// then the on-disk values, as other tools show them.
func applyFixups(buf []byte) error {
	usaOff := int(binary.LittleEndian.Uint16(buf[4:]))
	usaCount := int(binary.LittleEndian.Uint16(buf[6:]))
	if usaCount == 0 {
		return nil
	}
	if usaOff < 0x28 || usaOff+2*usaCount > len(buf) || (usaCount-1)*512 > len(buf) {
		return fmt.Errorf("update sequence array out of bounds (offset %d, count %d)", usaOff, usaCount)
	}
	usn := buf[usaOff : usaOff+2]
	var mismatch int
	for i := 1; i < usaCount; i++ {
		end := i*512 - 2
		if buf[end] != usn[0] || buf[end+1] != usn[1] {
			mismatch++
		}
		buf[end] = buf[usaOff+2*i]
		buf[end+1] = buf[usaOff+2*i+1]
	}
	if mismatch > 0 {
		return fmt.Errorf("fixup mismatch in %d of %d sectors", mismatch, usaCount-1)
	}
	return nil
}

// parseRecord decodes one MFT slot. buf is modified (fixups). slot is the
// entry number implied by the position in $MFT; it is used when the header
// does not carry one (pre-XP records).
func parseRecord(buf []byte, slot uint64) (*record, error) {
	if len(buf) < 48 {
		return nil, errors.New("record too short")
	}
	sig := string(buf[0:4])
	switch sig {
	case "FILE":
	case "BAAD":
		return &record{entry: slot, baad: true}, errors.New("bad signature BAAD")
	default:
		if isZero(buf) {
			return nil, errEmptySlot
		}
		return nil, fmt.Errorf("bad signature %q", buf[0:4])
	}
	r := &record{entry: slot}
	r.fixupErr = applyFixups(buf)
	le := binary.LittleEndian
	r.seq = le.Uint16(buf[16:])
	r.flags = le.Uint16(buf[22:])
	r.baseRef = le.Uint64(buf[32:]) & 0xFFFFFFFFFFFF
	r.baseSeq = le.Uint16(buf[38:])
	// The attribute walk is bounded by the slot, not by the header's "used
	// size": deleted records on XP volumes (xw corpus $MFT) keep a stale,
	// smaller used size while their attributes run on to the end marker,
	// and libfsntfs reads them the same way.
	used := len(buf)
	off := int(le.Uint16(buf[20:]))
	if off < 42 || off >= used {
		return r, fmt.Errorf("first attribute offset %d out of bounds", off)
	}
	for n := 0; off+8 <= used && n < 512; n++ {
		typ := le.Uint32(buf[off:])
		if typ == attrEnd || typ == 0 {
			break // type 0: a list that ends in zeros instead of the marker
		}
		length := int(le.Uint32(buf[off+4:]))
		if length < 16 || off+length > used {
			return r, fmt.Errorf("attribute 0x%x at record offset %d: bad length %d", typ, off, length)
		}
		if err := r.parseAttr(buf[off:off+length], typ); err != nil {
			return r, fmt.Errorf("attribute 0x%x at record offset %d: %w", typ, off, err)
		}
		off += length
	}
	return r, nil
}

// utf16String decodes little-endian UTF-16, keeping unpaired surrogates as
// U+FFFD (NTFS names are not guaranteed to be valid UTF-16).
func utf16String(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func (r *record) parseAttr(a []byte, typ uint32) error {
	le := binary.LittleEndian
	nonRes := a[8] != 0
	nameLen := int(a[9])
	nameOff := int(le.Uint16(a[10:]))
	id := le.Uint16(a[14:])
	var name string
	if nameLen > 0 {
		if nameOff+2*nameLen > len(a) {
			return errors.New("name out of bounds")
		}
		name = utf16String(a[nameOff : nameOff+2*nameLen])
	}
	r.attrs = append(r.attrs, attrKey{typ, name, id})
	var content []byte
	if !nonRes {
		if len(a) < 24 {
			return errors.New("resident header too short")
		}
		csize := int(le.Uint32(a[16:]))
		coff := int(le.Uint16(a[20:]))
		if coff > len(a) || csize > len(a)-coff {
			return fmt.Errorf("resident content out of bounds (offset %d, size %d)", coff, csize)
		}
		content = a[coff : coff+csize]
	} else if len(a) < 64 {
		return errors.New("non-resident header too short")
	}

	switch typ {
	case attrStandardInformation:
		if nonRes || len(content) < 32 {
			return errors.New("$STANDARD_INFORMATION too short")
		}
		si := &stdInfo{
			b:  le.Uint64(content[0:]),
			m:  le.Uint64(content[8:]),
			c:  le.Uint64(content[16:]),
			a:  le.Uint64(content[24:]),
			id: id,
		}
		if len(content) >= 36 {
			si.flags = le.Uint32(content[32:])
		}
		if r.si == nil {
			r.si = si
		}
	case attrFileName:
		if nonRes || len(content) < 66 {
			return errors.New("$FILE_NAME too short")
		}
		n := int(content[64])
		if 66+2*n > len(content) {
			return errors.New("$FILE_NAME name out of bounds")
		}
		pref := le.Uint64(content[0:])
		r.names = append(r.names, fileName{
			parent:    pref & 0xFFFFFFFFFFFF,
			parentSeq: uint16(pref >> 48),
			b:         le.Uint64(content[8:]),
			m:         le.Uint64(content[16:]),
			c:         le.Uint64(content[24:]),
			a:         le.Uint64(content[32:]),
			alloc:     le.Uint64(content[40:]),
			size:      le.Uint64(content[48:]),
			flags:     le.Uint32(content[56:]),
			namespace: content[65],
			name:      utf16String(content[66 : 66+2*n]),
			id:        id,
		})
	case attrAttributeList:
		r.hasAttrList = true
	case attrVolumeName:
		if !nonRes {
			r.label = utf16String(content)
		}
	case attrData, attrIndexRoot:
		d := dataAttr{name: name, id: id, resident: !nonRes}
		if nonRes {
			d.startVCN = le.Uint64(a[16:])
			d.alloc = int64(le.Uint64(a[40:]))
			d.size = int64(le.Uint64(a[48:]))
			d.nonResHdr = true
		} else {
			d.size = int64(len(content))
			d.alloc = int64(len(content))
			d.content = content
		}
		if typ == attrData {
			r.data = append(r.data, d)
		} else {
			r.index = append(r.index, d)
		}
	}
	return nil
}

// bestName picks the name `fls -m` and Explorer show: Win32 or Win32&DOS
// first, then POSIX, DOS only as a last resort.
func bestName(names []fileName) (fileName, bool) {
	if len(names) == 0 {
		return fileName{}, false
	}
	rank := func(ns uint8) int {
		switch ns {
		case nsWin32, nsWin32DOS:
			return 0
		case nsPOSIX:
			return 1
		default:
			return 2
		}
	}
	best := names[0]
	for _, n := range names[1:] {
		if rank(n.namespace) < rank(best.namespace) {
			best = n
		}
	}
	return best, true
}
