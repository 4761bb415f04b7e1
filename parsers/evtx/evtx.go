// Package evtx turns Windows XML event logs (.evtx) into timeline events,
// one per record, with the record's System values, every EventData or
// UserData value and the fields the lateral-movement analysis joins on.
//
// Records are read chunk by chunk: a chunk is 64 KiB and self-contained
// (its names and templates are chunk-local), so chunks are decoded in
// parallel, each under recover, and emitted in file order. Every chunk
// slot in the file is read, not only the ones the (often stale, "dirty")
// file header counts. Records are walked from the chunk header the way
// libevtx does (signature, size, copy of size); records found in the
// unused space after them, in chunks with a damaged header, in a
// truncated last chunk, or in chunks beyond the header's count of a clean
// file are emitted too, with the field recovered=true.
//
// Host attribution: the storing host is the most common Computer of the
// file. Event.Host is set to a record's Computer when the file is a
// forwarded log (named ForwardedEvents*.evtx, or records carrying
// RenderingInfo as WEC's RenderedText format writes them) or when its
// Computer differs from the storing host (compared case-insensitively on
// the first DNS label, so WS01 and ws01.corp.local are the same host).
package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/foothold/foothold/parsers/event"
)

// Stats is what one file gave.
type Stats struct {
	Records, Errors int64
	Computers       map[string]int64 // Computer field -> record count
}

const (
	fileMagic  = "ElfFile\x00"
	chunkMagic = "ElfChnk\x00"

	// maxChunks bounds the chunk slots read from one file (256 GiB).
	maxChunks = 1 << 22
)

// IsEVTX reports whether head starts like an EVTX file.
func IsEVTX(head []byte) bool {
	return len(head) >= 8 && string(head[:8]) == fileMagic
}

// Parse emits one event per record of an .evtx file.
func Parse(ctx context.Context, r io.ReaderAt, size int64, sink event.Sink) (Stats, error) {
	return ParseFile(ctx, "", r, size, sink)
}

// ParseFile is Parse for a file whose name is known: name appears in error
// messages and a ForwardedEvents log is recognised by it.
func ParseFile(ctx context.Context, name string, r io.ReaderAt, size int64, sink event.Sink) (Stats, error) {
	p := &parser{r: r, size: size, name: name}
	return p.run(ctx, sink)
}

type parser struct {
	r    io.ReaderAt
	size int64
	name string

	hdrChunks uint16
	dirty     bool
	forwarded bool
	storing   string // dominant Computer
	itemIDs   []uint64

	errs event.Errors
}

func (p *parser) where() string {
	if p.name == "" {
		return "evtx"
	}
	return "evtx " + p.name
}

func (p *parser) run(ctx context.Context, sink event.Sink) (Stats, error) {
	var st Stats
	hdr := make([]byte, 128)
	if n, err := p.r.ReadAt(hdr, 0); n < len(hdr) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return st, fmt.Errorf("%s: file header: %w", p.where(), err)
	}
	if !IsEVTX(hdr) {
		return st, fmt.Errorf("%s: not an EVTX file (signature %q)", p.where(), hdr[:8])
	}
	p.hdrChunks = binary.LittleEndian.Uint16(hdr[42:])
	p.dirty = binary.LittleEndian.Uint32(hdr[120:])&1 != 0
	base := int64(binary.LittleEndian.Uint16(hdr[40:]))
	if base < 128 || base > 65536 {
		base = 4096
	}
	n := int64(0)
	if p.size > base {
		n = (p.size - base + chunkSize - 1) / chunkSize
	}
	if n > maxChunks {
		p.errs.Add(fmt.Errorf("%s: %d chunk slots, reading the first %d", p.where(), n, maxChunks))
		n = maxChunks
	}
	if strings.HasPrefix(strings.ToLower(filepath.Base(p.name)), "forwardedevents") {
		p.forwarded = true
	}

	// Pass 1 finds the storing host (the dominant Computer), whether the
	// log was forwarded, and the record ids that recovered records must
	// not duplicate. Pass 2 emits.
	computers := map[string]int64{}
	err := p.chunks(ctx, base, n, true, func(out *chunkOut) error {
		for k, v := range out.computers {
			computers[k] += v
		}
		p.forwarded = p.forwarded || out.rendering
		p.itemIDs = append(p.itemIDs, out.ids...)
		return nil
	})
	if err != nil {
		return st, err
	}
	sort.Slice(p.itemIDs, func(i, j int) bool { return p.itemIDs[i] < p.itemIDs[j] })
	var best int64
	for k, v := range computers {
		if v > best || v == best && k < p.storing {
			p.storing, best = k, v
		}
	}

	st.Computers = map[string]int64{}
	err = p.chunks(ctx, base, n, false, func(out *chunkOut) error {
		for _, e := range out.errs {
			p.errs.Add(e)
		}
		for i := range out.events {
			ev := &out.events[i]
			if c, ok := ev.Get("computer"); ok {
				st.Computers[c.(string)]++
			}
			if err := sink.Emit(ev); err != nil {
				return err
			}
			st.Records++
		}
		out.recycle()
		return nil
	})
	st.Errors = p.errs.Count()
	if err != nil {
		return st, err
	}
	return st, p.errs.Err()
}

// errStale marks a recovered record whose values do not fit the template
// it refers to.
var errStale = errors.New("stale record")

// chunkOut is what one chunk gave.
type chunkOut struct {
	events    []event.Event
	fields    []event.Field // slab the events' Fields are carved from
	computers map[string]int64
	ids       []uint64 // record ids walked (not recovered)
	rendering bool
	errs      []error
}

// outPool recycles the events and field slab of emitted chunks (as
// *chunkBuffers): a sink may not keep an event past Emit, so once a
// chunk's events are emitted their memory serves a later chunk.
var outPool sync.Pool

type chunkBuffers struct {
	events []event.Event
	fields []event.Field
}

func (out *chunkOut) recycle() {
	clear(out.events) // drop the references to this chunk's strings
	clear(out.fields)
	outPool.Put(&chunkBuffers{out.events[:0], out.fields[:0]})
	out.events, out.fields = nil, nil
}

// takeBuffers gives out the recycled slices of an earlier chunk.
func (out *chunkOut) takeBuffers() {
	if b, ok := outPool.Get().(*chunkBuffers); ok {
		out.events, out.fields = b.events, b.fields
	}
}

// allocFields returns an empty slice with room for n fields from the
// chunk's slab; keepFields commits what was appended to it. A full slab
// is replaced by a larger one, so that recycled slabs come to hold a
// whole chunk.
func (out *chunkOut) allocFields(n int) []event.Field {
	if len(out.fields)+n > cap(out.fields) {
		out.fields = make([]event.Field, 0, max(n, 2*cap(out.fields), 4096))
	}
	l := len(out.fields)
	return out.fields[l : l : l+n]
}

func (out *chunkOut) keepFields(fs []event.Field) []event.Field {
	out.fields = out.fields[:len(out.fields)+len(fs)]
	return fs[:len(fs):len(fs)]
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// chunks decodes chunk slots [0, n) in parallel and hands the results to
// fn in file order. In the light pass only Computer values, record ids and
// the forwarded marker are collected.
func (p *parser) chunks(ctx context.Context, base, n int64, light bool, fn func(*chunkOut) error) error {
	workers := runtime.GOMAXPROCS(0)
	if workers > 4 {
		workers = 4
	}
	if int64(workers) > n {
		workers = int(n)
	}
	if workers <= 1 {
		for i := int64(0); i < n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			out := p.chunk(base, i, light)
			if err := fn(&out); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	futures := make(chan chan chunkOut, 2*workers)
	sem := make(chan struct{}, workers)
	go func() {
		defer close(futures)
		for i := int64(0); i < n; i++ {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			f := make(chan chunkOut, 1)
			select {
			case futures <- f:
			case <-ctx.Done():
				<-sem
				return
			}
			go func(i int64) {
				defer func() { <-sem }()
				f <- p.chunk(base, i, light)
			}(i)
		}
	}()
	var err error
	for f := range futures {
		out := <-f
		if err != nil {
			continue // drain so that every worker finishes
		}
		if err = ctx.Err(); err != nil {
			cancel()
			continue
		}
		if err = fn(&out); err != nil {
			cancel()
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// chunk decodes one chunk slot. A panic in the decoder becomes an error of
// this chunk; the records it emitted before stay.
func (p *parser) chunk(base, index int64, light bool) (out chunkOut) {
	off := base + index*chunkSize
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	sr := io.NewSectionReader(p.r, off, chunkSize)
	n, err := sr.ReadAt(buf, 0)
	if n < chunkSize && err != nil && !errors.Is(err, io.EOF) {
		out.errs = append(out.errs, fmt.Errorf("%s: chunk %d at offset %d: %w", p.where(), index, off, err))
		return out
	}
	b := buf[:n]
	if len(b) < chunkHeaderSize || allZero(b) {
		return out
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.d.reset(b)
	clear(sc.seen)
	c := &chunkRun{p: p, index: index, off: off, light: light, out: &out, d: &sc.d, seen: sc.seen, s: sc}
	if !light {
		out.takeBuffers()
	}
	defer func() {
		if r := recover(); r != nil {
			out.errs = append(out.errs, fmt.Errorf("%s: chunk %d at offset %d: decoder panic: %v", p.where(), index, off, r))
		}
	}()
	c.run()
	return out
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// chunkRun is the state of one chunk being decoded.
type chunkRun struct {
	p     *parser
	index int64
	off   int64
	light bool
	out   *chunkOut
	d     *chunkDecoder
	seen  map[uint64]bool
	rec   record
	s     *scratch
}

// scratch is the memory one chunk's decoding needs, reused by the next
// chunk (of any file): the decoder with its maps and arenas, the record
// id set, and caches of strings that repeat across chunks.
type scratch struct {
	d     chunkDecoder
	seen  map[uint64]bool
	in    interner
	names eventNames
	norm  norm
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{d: *newChunkDecoder(nil), seen: make(map[uint64]bool, 256)}
}}

func (c *chunkRun) errorf(recOff int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.out.errs = append(c.out.errs, fmt.Errorf("%s: chunk %d, record at offset %d: %s", c.p.where(), c.index, c.off+int64(recOff), msg))
}

func (c *chunkRun) run() {
	b := c.d.b
	valid := len(b) >= chunkHeaderSize && string(b[:8]) == chunkMagic
	truncated := len(b) < chunkSize
	// Chunks beyond the header's count hold records of a log that was not
	// closed cleanly (dirty: current records) or left-overs (clean file).
	beyond := c.index >= int64(c.p.hdrChunks) && !c.p.dirty
	pos := chunkHeaderSize
	if valid {
		last := int(binary.LittleEndian.Uint32(b[44:]))
		for pos <= last && pos+minRecordSize <= len(b) {
			size, ok := recordAt(b, pos)
			if !ok {
				if !allZero(b[pos : pos+recordHeader]) {
					c.errorf(pos, "invalid record header (size %d)", binary.LittleEndian.Uint32(b[pos+4:]))
				}
				break
			}
			c.record(pos, size, truncated || beyond)
			pos += size
		}
		if pos <= last && pos+minRecordSize > len(b) && truncated {
			c.errorf(pos, "chunk truncated at %d bytes", len(b))
		}
	} else {
		c.out.errs = append(c.out.errs, fmt.Errorf("%s: chunk %d at offset %d: bad chunk signature %q, scanning it for records",
			c.p.where(), c.index, c.off, b[:8]))
	}
	if !c.light {
		c.scan(pos)
	}
}

// recordAt checks the record header at pos: signature, a size that fits
// the chunk, and the copy of the size at its end.
func recordAt(b []byte, pos int) (int, bool) {
	if pos+minRecordSize > len(b) || string(b[pos:pos+4]) != "**\x00\x00" {
		return 0, false
	}
	size := int(binary.LittleEndian.Uint32(b[pos+4:]))
	if size < minRecordSize || size > len(b)-pos {
		return 0, false
	}
	if int(binary.LittleEndian.Uint32(b[pos+size-4:])) != size {
		return 0, false
	}
	return size, true
}

// scan looks for records in unused chunk space (8-byte aligned, as
// records are). A record found there is kept when it starts with a BinXML
// fragment and its id is not one of the file's walked records.
func (c *chunkRun) scan(pos int) {
	b := c.d.b
	pos = (pos + 7) &^ 7
	for ; pos+minRecordSize <= len(b); pos += 8 {
		if b[pos] != '*' {
			continue
		}
		// The copy of the size is not required here: a record being
		// written when the log was copied has a header but no copy yet
		// (python-evtx and the evtx crate read such records too). The
		// template and name checks in decode reject garbage.
		size := int(binary.LittleEndian.Uint32(b[pos+4:]))
		if string(b[pos:pos+4]) != "**\x00\x00" || size < minRecordSize+4 || size > len(b)-pos ||
			!bytes.HasPrefix(b[pos+recordHeader:], []byte{0x0f, 0x01, 0x01, 0x00}) {
			continue
		}
		id := binary.LittleEndian.Uint64(b[pos+8:])
		if c.seen[id] || c.p.isItem(id) {
			continue
		}
		c.record(pos, size, true)
		pos += size - 8
	}
}

// isItem reports whether id is a walked record of the file (known after
// the first pass).
func (p *parser) isItem(id uint64) bool {
	i := sort.Search(len(p.itemIDs), func(i int) bool { return p.itemIDs[i] >= id })
	return i < len(p.itemIDs) && p.itemIDs[i] == id
}

// record decodes the record at pos and adds its event (or, in the light
// pass, its Computer).
func (c *chunkRun) record(pos, size int, recovered bool) {
	b := c.d.b
	id := binary.LittleEndian.Uint64(b[pos+8:])
	if c.seen[id] {
		c.errorf(pos, "duplicate record id %d in chunk", id)
		return
	}
	c.seen[id] = true
	if !recovered {
		c.out.ids = append(c.out.ids, id)
	}
	rec := &c.rec
	rec.reset()
	rec.id = id
	rec.written = binary.LittleEndian.Uint64(b[pos+16:])
	rec.offset = c.off + int64(pos)
	rec.recovered = recovered
	err := c.decode(pos, size)
	if err == errStale {
		return // left-over bytes of an older record, not recoverable
	}
	if err != nil {
		c.errorf(pos, "record %d: %v", id, err)
	}
	if c.light {
		if c.out.computers == nil {
			c.out.computers = map[string]int64{}
		}
		c.out.computers[rec.computer]++
		c.out.rendering = c.out.rendering || rec.rendering
		return
	}
	c.out.events = append(c.out.events, event.Event{})
	c.build(&c.out.events[len(c.out.events)-1], rec)
}

// decode walks the record's BinXML into c.rec, under recover so that one
// bad record does not take its chunk with it.
func (c *chunkRun) decode(pos, size int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	c.d.elements = 0
	c.d.badName = false
	c.d.newRecord()
	items, err := c.d.fragmentAt(pos+recordHeader, pos+size-4, 0)
	if c.rec.recovered && (err != nil || len(items) == 0 || c.d.badName || !c.d.consistentItems(items, 0)) {
		return errStale
	}
	w := walker{d: c.d, rec: &c.rec, light: c.light, in: &c.s.in}
	w.top(items, nil)
	if c.rec.recovered && c.d.badName {
		return errStale // a nested value used an overwritten name
	}
	if err == nil {
		err = w.err
	}
	if err == nil && c.d.badName {
		err = errors.New("element name with a wrong hash")
	}
	return err
}
