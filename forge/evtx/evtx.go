// Package evtx writes Windows XML event log files (.evtx) the way the
// Windows event log service lays them out, so that independent readers
// (libevtx's evtxexport, python-evtx, Velocidex evtx, our own parser)
// return the records and values the scenario asked for.
//
// Layout (libyal's "Windows XML Event Log (EVTX) format", checked against
// Windows-written logs): a 4096-byte file header (format 3.1, clean,
// CRC32), then 64 KiB chunks. Each chunk has a 512-byte header with its
// record range, a 64-bucket string table and a 32-bucket template table,
// the CRC32 of its records and of itself. Records are 8-byte aligned; a
// record never spans chunks, and each chunk repeats the names and template
// definitions it uses. A record is a template instance: the System part
// is a template per provider, channel and computer with the values as
// substitutions, and EventData or UserData is a nested template (per
// provider, event, version and field layout) in substitution 19.
//
// Output is deterministic: the same records give the same bytes.
package evtx

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// Record is one event as Windows would log it.
type Record struct {
	Provider        string // e.g. "Microsoft-Windows-Security-Auditing"
	ProviderGUID    string // "{54849625-5478-4994-A5BA-3E3B0328C30D}", written as given; "" to omit
	EventSourceName string // classic providers, e.g. "Service Control Manager"; "" to omit
	EventID         uint16
	Qualifiers      uint16 // classic events (16384 for 7045); 0 = omitted
	Version, Level  uint8
	Opcode          uint8
	Task            uint16
	Keywords        uint64
	Time            event.FileTime // TimeCreated/@SystemTime and the record's written time
	RecordID        uint64         // 0 = previous + 1 (the first is 1)
	ActivityID      string         // optional GUID
	ProcessID       uint32
	ThreadID        uint32
	Channel         string
	Computer        string
	UserSID         string        // System/Security/@UserID; "" = omitted
	Data            []event.Field // EventData: <Data Name="Key">Value</Data> in order; Key "" = unnamed <Data>
	EventDataName   string        // <EventData Name="..."> as TaskScheduler writes it; "" = no attribute
	Binary          []byte        // EventData <Binary> after the Data (classic providers, e.g. 7036); nil = none
	UserData        *UserData     // instead of Data, for events that use UserData (1102, LSM 21, RCM 1149)
}

// UserData is <UserData><Element xmlns="Namespace"><Key>Value</Key>...
type UserData struct {
	Element, Namespace string
	Fields             []event.Field
}

const (
	fileHeaderSize  = 4096
	chunkSize       = 0x10000
	chunkHeaderSize = 0x200
	eventNS         = "http://schemas.microsoft.com/win/2004/08/events/event"
	// subEventData is the System template's substitution that carries
	// EventData or UserData, as in Windows-written logs.
	subEventData = 19
	nSystemVals  = 20
)

// WriteFile writes recs to path as an .evtx file.
func WriteFile(path string, recs []Record) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("evtx %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	err = Write(bw, recs)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("evtx %s: %w", path, err)
	}
	return nil
}

// Write writes a whole .evtx file: header, chunks, CRCs, string and
// template tables. Records must come in increasing RecordID order.
func Write(w io.Writer, recs []Record) error {
	var chunks []*chunk
	cur := newChunk()
	var prev uint64
	for i := range recs {
		r := &recs[i]
		id := r.RecordID
		if id == 0 {
			id = prev + 1
		}
		if id <= prev {
			return fmt.Errorf("evtx record %d (event %d): record id %d after %d: records must be in increasing RecordID order", i, r.EventID, id, prev)
		}
		prev = id
		p, err := prepare(r)
		if err != nil {
			return fmt.Errorf("evtx record %d (id %d, event %d): %w", i, id, r.EventID, err)
		}
		if !cur.add(p, id, r.Time) {
			if cur.count > 0 {
				chunks = append(chunks, cur)
				cur = newChunk()
			}
			if !cur.add(p, id, r.Time) {
				return fmt.Errorf("evtx record %d (id %d, event %d): too large for a 64 KiB chunk", i, id, r.EventID)
			}
		}
	}
	if cur.count > 0 || len(chunks) == 0 {
		chunks = append(chunks, cur)
	}
	if len(chunks) > 0xffff {
		return errors.New("evtx: more than 65535 chunks")
	}

	hdr := make([]byte, fileHeaderSize)
	copy(hdr, "ElfFile\x00")
	binary.LittleEndian.PutUint64(hdr[8:], 0)                      // first chunk number
	binary.LittleEndian.PutUint64(hdr[16:], uint64(len(chunks)-1)) // last chunk number
	binary.LittleEndian.PutUint64(hdr[24:], prev+1)                // next record identifier
	binary.LittleEndian.PutUint32(hdr[32:], 128)                   // header size
	binary.LittleEndian.PutUint16(hdr[36:], 1)                     // minor version
	binary.LittleEndian.PutUint16(hdr[38:], 3)                     // major version
	binary.LittleEndian.PutUint16(hdr[40:], fileHeaderSize)        // chunk data offset
	binary.LittleEndian.PutUint16(hdr[42:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(hdr[120:], 0) // flags: clean, not full
	binary.LittleEndian.PutUint32(hdr[124:], crc32.ChecksumIEEE(hdr[:120]))
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("evtx: file header: %w", err)
	}
	for i, c := range chunks {
		if _, err := w.Write(c.finish()); err != nil {
			return fmt.Errorf("evtx: chunk %d: %w", i, err)
		}
	}
	return nil
}

// prepared is a record's templates and values, independent of the chunk.
type prepared struct {
	system *template
	sysVal []val
	inner  *template
	inVal  []val
}

func prepare(r *Record) (*prepared, error) {
	p := &prepared{}
	userData := r.UserData != nil
	if userData && (len(r.Data) > 0 || r.Binary != nil || r.EventDataName != "") {
		return nil, errors.New("both UserData and EventData given")
	}
	p.system = systemTemplate(r, userData)

	sv := make([]val, nSystemVals)
	u8 := func(v uint8) val { return val{tUint8, []byte{v}} }
	u16 := func(v uint16) val { return val{tUint16, binary.LittleEndian.AppendUint16(nil, v)} }
	u32 := func(v uint32) val { return val{tUint32, binary.LittleEndian.AppendUint32(nil, v)} }
	u64 := func(t byte, v uint64) val { return val{t, binary.LittleEndian.AppendUint64(nil, v)} }
	sv[0] = u8(r.Level)
	sv[1] = u8(r.Opcode)
	sv[2] = u16(r.Task)
	sv[3] = u16(r.EventID)
	if r.Qualifiers != 0 {
		sv[4] = u16(r.Qualifiers)
	}
	sv[5] = u64(tHex64, r.Keywords)
	sv[6] = u64(tFileTime, uint64(r.Time))
	if r.ActivityID != "" {
		b, err := guidBytes(r.ActivityID)
		if err != nil {
			return nil, fmt.Errorf("ActivityID: %w", err)
		}
		sv[7] = val{tGUID, b}
	}
	sv[8] = u32(r.ProcessID)
	sv[9] = u32(r.ThreadID)
	// sv[10], the EventRecordID, is filled in by chunk.add.
	sv[11] = u8(r.Version)
	if r.UserSID != "" {
		b, err := wire.SID(r.UserSID)
		if err != nil {
			return nil, fmt.Errorf("UserSID: %w", err)
		}
		sv[12] = val{tSID, b}
	}
	sv[subEventData] = val{typ: tBinXML}
	p.sysVal = sv

	var err error
	if userData {
		p.inner, p.inVal, err = userDataTemplate(r.UserData)
	} else {
		p.inner, p.inVal, err = eventDataTemplate(r.EventDataName, r.Data, r.Binary)
	}
	return p, err
}

// systemTemplate is the Event/System template as the event log service
// builds it: provider, channel and computer as literal text, every other
// System value an optional substitution.
func systemTemplate(r *Record, userData bool) *template {
	prov := []attr{{"Name", text(r.Provider)}}
	if r.ProviderGUID != "" {
		prov = append(prov, attr{"Guid", text(r.ProviderGUID)})
	}
	if r.EventSourceName != "" {
		prov = append(prov, attr{"EventSourceName", text(r.EventSourceName)})
	}
	opt := func(i int, t byte) content { return subst(i, t, true) }
	literal := func(s string) []content {
		if s == "" {
			return nil
		}
		return []content{text(s)}
	}
	system := newElem("System", nil,
		child(newElem("Provider", prov)),
		child(newElem("EventID", []attr{{"Qualifiers", opt(4, tUint16)}}, opt(3, tUint16))),
		child(newElem("Version", nil, opt(11, tUint8))),
		child(newElem("Level", nil, opt(0, tUint8))),
		child(newElem("Task", nil, opt(2, tUint16))),
		child(newElem("Opcode", nil, opt(1, tUint8))),
		child(newElem("Keywords", nil, opt(5, tHex64))),
		child(newElem("TimeCreated", []attr{{"SystemTime", opt(6, tFileTime)}})),
		child(newElem("EventRecordID", nil, opt(10, tUint64))),
		child(newElem("Correlation", []attr{{"ActivityID", opt(7, tGUID)}, {"RelatedActivityID", opt(18, tGUID)}})),
		child(newElem("Execution", []attr{{"ProcessID", opt(8, tUint32)}, {"ThreadID", opt(9, tUint32)}})),
		child(newElem("Channel", nil, literal(r.Channel)...)),
		child(newElem("Computer", nil, literal(r.Computer)...)),
		child(newElem("Security", []attr{{"UserID", opt(12, tSID)}})),
	)
	data := opt(subEventData, tBinXML)
	if userData {
		data = child(newElem("UserData", nil, data))
	}
	ev := newElem("Event", []attr{{"xmlns", text(eventNS)}}, child(system), data)
	if !userData {
		// Windows marks the Event element as depending on the EventData
		// substitution in this layout too.
		ev.dep = subEventData
	}
	return newTemplate(ev)
}

func eventDataTemplate(name string, fields []event.Field, bin []byte) (*template, []val, error) {
	vals := make([]val, 0, len(fields)+1)
	children := make([]content, 0, len(fields)+1)
	for _, f := range fields {
		v, err := encodeValue(f.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("EventData %q: %w", f.Key, err)
		}
		s := subst(len(vals), v.typ, false)
		var attrs []attr
		if f.Key != "" {
			attrs = []attr{{"Name", text(f.Key)}}
		}
		children = append(children, child(newElem("Data", attrs, s)))
		vals = append(vals, v)
	}
	if bin != nil {
		v, err := encodeValue(Binary(bin))
		if err != nil {
			return nil, nil, fmt.Errorf("EventData Binary: %w", err)
		}
		children = append(children, child(newElem("Binary", nil, subst(len(vals), tBinary, false))))
		vals = append(vals, v)
	}
	var attrs []attr
	if name != "" {
		attrs = []attr{{"Name", text(name)}}
	}
	return newTemplate(newElem("EventData", attrs, children...)), vals, nil
}

func userDataTemplate(u *UserData) (*template, []val, error) {
	if u.Element == "" {
		return nil, nil, errors.New("UserData without an element name")
	}
	vals := make([]val, 0, len(u.Fields))
	children := make([]content, 0, len(u.Fields))
	for _, f := range u.Fields {
		if f.Key == "" {
			return nil, nil, fmt.Errorf("UserData %s: field without a name", u.Element)
		}
		v, err := encodeValue(f.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("UserData %s/%s: %w", u.Element, f.Key, err)
		}
		children = append(children, child(newElem(f.Key, nil, subst(len(vals), v.typ, false))))
		vals = append(vals, v)
	}
	var attrs []attr
	if u.Namespace != "" {
		attrs = []attr{{"xmlns", text(u.Namespace)}}
	}
	return newTemplate(newElem(u.Element, attrs, children...)), vals, nil
}

// chunk is a 64 KiB chunk being filled.
type chunk struct {
	b        []byte
	pos      int // free space offset
	lastRec  int // offset of the last record
	count    int
	first    uint64
	last     uint64
	names    map[string]uint32
	tmpls    map[[16]byte]uint32
	finished bool
}

func newChunk() *chunk {
	return &chunk{b: make([]byte, chunkSize), pos: chunkHeaderSize,
		names: map[string]uint32{}, tmpls: map[[16]byte]uint32{}}
}

func (c *chunk) nameHead(bucket int) uint32 {
	return binary.LittleEndian.Uint32(c.b[128+4*bucket:])
}

func (c *chunk) tmplHead(bucket int) uint32 {
	return binary.LittleEndian.Uint32(c.b[384+4*bucket:])
}

// add encodes the record at the chunk's free offset and keeps it if it
// fits; it reports false (and leaves the chunk as it was) if it does not.
func (c *chunk) add(p *prepared, id uint64, written event.FileTime) bool {
	e := newEnc(c, c.pos)
	e.b = append(e.b, "**\x00\x00"...)
	size := e.hole()
	e.b = binary.LittleEndian.AppendUint64(e.b, id)
	e.b = binary.LittleEndian.AppendUint64(e.b, uint64(written))
	sv := append([]val(nil), p.sysVal...)
	sv[10] = val{tUint64, binary.LittleEndian.AppendUint64(nil, id)}
	e.instance(p.system, sv, func() { e.instance(p.inner, p.inVal, nil) })
	for (len(e.b)+4)%8 != 0 {
		e.u8(0)
	}
	e.u32(uint32(len(e.b) + 4))
	e.patch(size, uint32(len(e.b)))
	// A record never ends on the chunk's last byte: libevtx (20181227)
	// drops such a record, and Windows leaves free space at the end anyway.
	if c.pos+len(e.b) >= chunkSize {
		return false
	}
	copy(c.b[c.pos:], e.b)
	for s, off := range e.names {
		c.names[s] = off
	}
	for b, off := range e.nameHeads {
		binary.LittleEndian.PutUint32(c.b[128+4*b:], off)
	}
	for g, off := range e.tmpls {
		c.tmpls[g] = off
	}
	for b, off := range e.tmplHeads {
		binary.LittleEndian.PutUint32(c.b[384+4*b:], off)
	}
	if c.count == 0 {
		c.first = id
	}
	c.last = id
	c.lastRec = c.pos
	c.pos += len(e.b)
	c.count++
	return true
}

// finish writes the chunk header and its CRCs.
func (c *chunk) finish() []byte {
	if c.finished {
		return c.b
	}
	c.finished = true
	h := c.b
	copy(h, "ElfChnk\x00")
	binary.LittleEndian.PutUint64(h[8:], c.first) // first record number
	binary.LittleEndian.PutUint64(h[16:], c.last) // last record number
	binary.LittleEndian.PutUint64(h[24:], c.first)
	binary.LittleEndian.PutUint64(h[32:], c.last)
	binary.LittleEndian.PutUint32(h[40:], 128) // header size
	lastRec := c.lastRec
	if c.count == 0 {
		lastRec = chunkHeaderSize
	}
	binary.LittleEndian.PutUint32(h[44:], uint32(lastRec))
	binary.LittleEndian.PutUint32(h[48:], uint32(c.pos))
	binary.LittleEndian.PutUint32(h[52:], crc32.ChecksumIEEE(h[chunkHeaderSize:c.pos]))
	binary.LittleEndian.PutUint32(h[120:], 1) // flags, as Windows writes them
	crc := crc32.NewIEEE()
	crc.Write(h[:120])
	crc.Write(h[128:chunkHeaderSize])
	binary.LittleEndian.PutUint32(h[124:], crc.Sum32())
	return c.b
}
