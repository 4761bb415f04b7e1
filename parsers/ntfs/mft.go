// Package ntfs turns an NTFS volume, or a standalone $MFT / $UsnJrnl:$J,
// into timeline events: $SI and $FN times per MFT entry, Zone.Identifier
// downloads, timestomp indicators and USN change-journal records.
//
// MFT records are decoded here (fixups, attribute walk) for raw FILETIMEs,
// real stream sizes and speed; go-ntfs provides the volume context: the
// boot sector, the $MFT run list and stream reads.
package ntfs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Stats counts what a parse saw. Records are MFT entries (slots with a
// FILE or BAAD signature) or USN records.
type Stats struct {
	Records, Events, Errors int64
}

// ADS describes one named $DATA stream of a file, what a bodyfile writer
// needs to print the stream lines `fls -m` prints.
type ADS struct {
	Name  string `json:"name"`
	Inode string `json:"inode"` // TSK style entry-128-id
	Size  int64  `json:"size"`  // real stream size
}

// maxErrorSamples bounds the error returned at the end of a parse.
const maxErrorSamples = 20

// IsMFT reports whether head looks like the start of an $MFT (or of a
// single MFT record): a FILE or BAAD signature with a sane header.
func IsMFT(head []byte) bool {
	if len(head) < 48 {
		return false
	}
	if s := string(head[:4]); s != "FILE" && s != "BAAD" {
		return false
	}
	usaOff := binary.LittleEndian.Uint16(head[4:])
	usaCount := binary.LittleEndian.Uint16(head[6:])
	first := binary.LittleEndian.Uint16(head[20:])
	return usaOff >= 0x28 && usaOff < 0x200 && usaCount >= 2 && usaCount <= 9 && first >= 0x30 && first < 0x1000
}

// MFTFile is a standalone $MFT (from a triage collection). It implements
// PathResolver once Parse has run, so a $J from the same collection gets
// full paths.
type MFTFile struct {
	r       io.ReaderAt
	size    int64
	recSize int
	ix      *mftIndex
}

// OpenMFTFile prepares a standalone $MFT. The record size is taken from the
// first FILE record (1024 or 4096 bytes).
func OpenMFTFile(r io.ReaderAt, size int64) (*MFTFile, error) {
	m := &MFTFile{r: r, size: size, recSize: 1024}
	head := make([]byte, 48)
	if n, _ := r.ReadAt(head, 0); n == len(head) && IsMFT(head) {
		if a := binary.LittleEndian.Uint32(head[28:]); a == 4096 {
			m.recSize = 4096
		}
	} else if size > 0 {
		return nil, fmt.Errorf("$MFT: no FILE signature at offset 0")
	}
	return m, nil
}

// Parse emits the events of every entry, in use and deleted.
func (m *MFTFile) Parse(ctx context.Context, sink event.Sink) (Stats, error) {
	if m.ix == nil {
		ix, err := buildIndex(ctx, m.r, m.size, m.recSize)
		if err != nil && ctx.Err() != nil {
			return Stats{}, err
		}
		m.ix = ix
	}
	p := &mftPass{ix: m.ix, sink: sink}
	return p.run(ctx, m.r, m.size, m.recSize)
}

// Path implements PathResolver; it builds the directory index on first use.
func (m *MFTFile) Path(entry uint64, seq uint16) (string, bool) {
	if m.ix == nil {
		ix, _ := buildIndex(context.Background(), m.r, m.size, m.recSize)
		m.ix = ix
	}
	return m.ix.Path(entry, seq)
}

// ParseMFTFile parses a standalone $MFT.
func ParseMFTFile(ctx context.Context, r io.ReaderAt, size int64, sink event.Sink) (Stats, error) {
	m, err := OpenMFTFile(r, size)
	if err != nil {
		return Stats{}, err
	}
	return m.Parse(ctx, sink)
}

// mftPass is the second, emitting pass over $MFT.
type mftPass struct {
	ix   *mftIndex
	sink event.Sink
	// readStream reads a non-resident named stream; nil for a standalone
	// $MFT, which has no clusters to read from.
	readStream func(entry uint64, name string, max int) ([]byte, error)
	// walk, when set, replaces event emission (Volume.Walk).
	walk func(f File) error
	// onFile, when set, sees every in-use file while events are emitted,
	// so artifact discovery costs no extra pass over the $MFT.
	onFile func(f File)

	stats Stats
	errs  event.Errors
	ev    event.Event
}

func (p *mftPass) run(ctx context.Context, r io.ReaderAt, size int64, recSize int) (Stats, error) {
	p.errs.Max = maxErrorSamples
	var stop error
	err := walkSlots(ctx, r, size, recSize, func(slot uint64, off int64, buf []byte) {
		if stop != nil {
			return
		}
		rec, err := safeParse(buf, slot)
		if errors.Is(err, errEmptySlot) {
			return
		}
		if rec != nil {
			p.stats.Records++
		}
		if err == nil && rec != nil && rec.fixupErr != nil {
			err = rec.fixupErr
		}
		if err != nil {
			p.errs.Add(fmt.Errorf("$MFT entry %d at offset 0x%x: %w", slot, off, err))
		}
		if rec == nil || rec.baad || rec.baseRef != 0 {
			return
		}
		if e := p.entry(rec, off); e != nil {
			stop = e
		}
	})
	p.stats.Errors = p.errs.Count()
	if stop != nil {
		return p.stats, stop
	}
	if err != nil || p.errs.Count() > 0 {
		return p.stats, p.errs.Err(err)
	}
	return p.stats, nil
}

// stream is one $DATA (or $INDEX_ROOT) attribute after fragments from
// extension records are folded together.
type stream struct {
	name    string
	id      uint16
	size    int64
	alloc   int64
	content []byte
	resOK   bool // content is the whole resident stream
}

// streams folds attribute fragments by name: the fragment starting at VCN
// 0 (or the resident one) carries id and sizes.
func streams(attrs []dataAttr) []stream {
	var out []stream
	for _, a := range attrs {
		if !a.resident && a.startVCN != 0 {
			continue
		}
		dup := false
		for _, s := range out {
			if s.name == a.name {
				dup = true
			}
		}
		if dup {
			continue
		}
		out = append(out, stream{name: a.name, id: a.id, size: a.size, alloc: a.alloc, content: a.content, resOK: a.resident})
	}
	return out
}

func inode(entry uint64, typ int, id uint16) string {
	return strconv.FormatUint(entry, 10) + "-" + strconv.Itoa(typ) + "-" + strconv.Itoa(int(id))
}

// entryFacts is everything about one base record that goes into events.
type entryFacts struct {
	rec     *record
	off     int64
	path    string
	name    fileName
	hasName bool
	names   []string
	inodeSI string
	inodeFN string
	size    int64
	alloc   int64
	ads     []ADS
	zone    *zoneInfo
	stomp   []string
	si      stdInfo
}

func (p *mftPass) entry(rec *record, off int64) error {
	p.ix.merge(rec)
	f := entryFacts{rec: rec, off: off}
	if rec.si != nil {
		f.si = *rec.si
	}
	f.name, f.hasName = bestName(rec.names)
	switch {
	case rec.entry == rootEntry:
		f.path = `\`
	case f.hasName:
		f.path = p.ix.childPath(f.name.parent, f.name.parentSeq, f.name.name, 0)
	default:
		f.path = orphanDir + `\OrphanFile-` + strconv.FormatUint(rec.entry, 10)
	}
	if len(rec.names) > 1 {
		for _, n := range rec.names {
			f.names = append(f.names, n.name)
		}
	}
	var zoneStream *stream
	ss := streams(rec.data)
	for i, s := range ss {
		if s.name == "" {
			f.inodeSI = inode(rec.entry, attrData, s.id)
			f.size, f.alloc = s.size, s.alloc
			continue
		}
		f.ads = append(f.ads, ADS{Name: s.name, Inode: inode(rec.entry, attrData, s.id), Size: s.size})
		if strings.EqualFold(s.name, "Zone.Identifier") {
			zoneStream = &ss[i]
		}
	}
	// inodeSI is the inode TSK prints on the file's own bodyfile line:
	// the unnamed $DATA, else the $I30 index of a directory. An entry with
	// neither and no other streams gets the bare entry number, as fls
	// prints it; one with only named streams (e.g. $Secure) gets "" because
	// fls then prints stream lines only.
	if f.inodeSI == "" {
		idx := streams(rec.index)
		for _, s := range idx {
			if s.name == "$I30" {
				f.inodeSI = inode(rec.entry, attrIndexRoot, s.id)
			}
		}
		if f.inodeSI == "" && len(idx) == 0 && len(f.ads) == 0 {
			f.inodeSI = strconv.FormatUint(rec.entry, 10)
		}
	}
	// Named indexes other than a directory's $I30 ($Secure:$SDH,
	// $ObjId:$O, ...) are streams too; fls lists them like ADS, so the
	// bodyfile writer needs them. Added after inodeSI on purpose: they do
	// not give the entry a line of its own.
	for _, s := range streams(rec.index) {
		if s.name != "" && s.name != "$I30" {
			f.ads = append(f.ads, ADS{Name: s.name, Inode: inode(rec.entry, attrIndexRoot, s.id), Size: s.size})
		}
	}
	if f.hasName {
		f.inodeFN = inode(rec.entry, attrFileName, f.name.id)
	}

	if (p.walk != nil || p.onFile != nil) && rec.inUse() {
		wf := File{Path: f.path, Entry: rec.entry, Seq: rec.seq, Size: f.size, IsDir: rec.isDir()}
		for _, a := range f.ads {
			wf.Streams = append(wf.Streams, Stream{Name: a.Name, Size: a.Size})
		}
		if p.walk != nil {
			return p.walk(wf)
		}
		p.onFile(wf)
	}
	if p.walk != nil {
		return nil
	}

	if zoneStream != nil {
		f.zone = p.zone(rec, zoneStream)
	}
	if rec.si != nil && f.hasName {
		f.stomp = timestompIndicators(f.si, f.name)
	}
	return p.emitEntry(&f)
}

func (p *mftPass) zone(rec *record, s *stream) *zoneInfo {
	var data []byte
	switch {
	case s.resOK:
		data = s.content
	case p.readStream != nil:
		b, err := p.readStream(rec.entry, s.name, zoneMaxSize)
		if err != nil {
			p.errs.Add(fmt.Errorf("$MFT entry %d %s: %w", rec.entry, s.name, err))
			return nil
		}
		data = b
	default:
		return nil // non-resident stream of a standalone $MFT: no clusters
	}
	if len(data) > zoneMaxSize {
		data = data[:zoneMaxSize]
	}
	return parseZone(data)
}

func (p *mftPass) emit(e *event.Event) error {
	p.stats.Events++
	return p.sink.Emit(e)
}

// macbGroups returns the distinct non-zero values of (m, a, c, b) in that
// order with their MACB strings, e.g. "M.C.".
func macbGroups(m, a, c, b uint64) (vals []uint64, macb []string) {
	for _, v := range [4]uint64{m, a, c, b} {
		if v == 0 {
			continue
		}
		seen := false
		for _, x := range vals {
			if x == v {
				seen = true
			}
		}
		if seen {
			continue
		}
		s := []byte("....")
		if m == v {
			s[0] = 'M'
		}
		if a == v {
			s[1] = 'A'
		}
		if c == v {
			s[2] = 'C'
		}
		if b == v {
			s[3] = 'B'
		}
		vals = append(vals, v)
		macb = append(macb, string(s))
	}
	return vals, macb
}

// Positions in the slice fields returns.
const fieldInode, fieldAttr = 2, 3

func (p *mftPass) fields(f *entryFacts, inodeStr, attr string) []event.Field {
	rec := f.rec
	fs := make([]event.Field, 0, 32)
	add := func(k string, v any) { fs = append(fs, event.Field{Key: k, Value: v}) }
	add("entry", int64(rec.entry))
	add("seq", int64(rec.seq))
	add("inode", inodeStr) // fieldInode
	add("attr", attr)      // fieldAttr
	add("name", f.name.name)
	add("parent_entry", int64(f.name.parent))
	add("parent_seq", int64(f.name.parentSeq))
	add("size", f.size)
	add("alloc_size", f.alloc)
	add("flags", attrFlags(f.si.flags))
	add("in_use", rec.inUse())
	add("deleted", !rec.inUse())
	add("dir", rec.isDir())
	add("si_b", event.FileTime(f.si.b))
	add("si_m", event.FileTime(f.si.m))
	add("si_c", event.FileTime(f.si.c))
	add("si_a", event.FileTime(f.si.a))
	add("fn_b", event.FileTime(f.name.b))
	add("fn_m", event.FileTime(f.name.m))
	add("fn_c", event.FileTime(f.name.c))
	add("fn_a", event.FileTime(f.name.a))
	if len(f.ads) > 0 {
		add("ads", f.ads)
	}
	if z := f.zone; z != nil {
		add("zone_id", z.ZoneID)
		add("host_url", z.HostURL)
		add("referrer_url", z.ReferrerURL)
		if z.LastWriterPackage != "" {
			add("last_writer_package_family_name", z.LastWriterPackage)
		}
		if z.AppZoneID != "" {
			add("app_zone_id", z.AppZoneID)
		}
	}
	if len(f.stomp) > 0 {
		add("timestomp", f.stomp)
	}
	if len(f.names) > 0 {
		add("names", f.names)
	}
	return fs
}

func (p *mftPass) emitEntry(f *entryFacts) error {
	rec := f.rec
	suffix := ""
	if !rec.inUse() {
		suffix = " (deleted)"
	}
	e := &p.ev
	reset := func(typ string, fields []event.Field) {
		*e = event.Event{Artifact: event.MFT, Type: typ, Path: f.path, Record: int64(rec.entry), Offset: f.off, Fields: fields}
	}
	// The $FN set is the $SI set with its own inode and attribute: a copy
	// with two values changed costs less than building it again.
	siFields := p.fields(f, f.inodeSI, "$SI")
	if rec.si != nil {
		vals, macb := macbGroups(f.si.m, f.si.a, f.si.c, f.si.b)
		for i, v := range vals {
			reset("si", siFields)
			e.SameFields = i > 0
			e.Time = event.FileTime(v)
			e.MACB = macb[i]
			e.TimeDesc = "$SI [" + macb[i] + "]"
			e.Message = "$SI " + macb[i] + " " + f.path + suffix
			if err := p.emit(e); err != nil {
				return err
			}
		}
	}
	if f.hasName {
		fields := append([]event.Field(nil), siFields...)
		fields[fieldInode].Value, fields[fieldAttr].Value = f.inodeFN, "$FN"
		n := f.name
		vals, macb := macbGroups(n.m, n.a, n.c, n.b)
		for i, v := range vals {
			reset("fn", fields)
			e.SameFields = i > 0
			e.Time = event.FileTime(v)
			e.MACB = macb[i]
			e.TimeDesc = "$FN [" + macb[i] + "]"
			e.Message = "$FN " + macb[i] + " " + f.path + suffix
			if err := p.emit(e); err != nil {
				return err
			}
		}
	}
	if f.zone != nil && f.si.b != 0 {
		reset("zone", siFields)
		e.Time = event.FileTime(f.si.b)
		e.TimeDesc = "Zone.Identifier (file created)"
		e.Message = f.zone.message(f.path + suffix)
		if err := p.emit(e); err != nil {
			return err
		}
	}
	if len(f.stomp) > 0 && f.si.b != 0 {
		reset("timestomp", siFields)
		e.Time = event.FileTime(f.si.b)
		e.TimeDesc = "$SI created (timestomp indicator)"
		e.Message = fmt.Sprintf("Possible timestomp (%s): $SI created %s, $FN created %s %s%s",
			strings.Join(f.stomp, ", "), event.FileTime(f.si.b), event.FileTime(f.name.b), f.path, suffix)
		if err := p.emit(e); err != nil {
			return err
		}
	}
	return nil
}

var attrFlagNames = []struct {
	bit  uint32
	name string
}{
	{0x1, "readonly"}, {0x2, "hidden"}, {0x4, "system"}, {0x10, "directory"}, {0x20, "archive"},
	{0x40, "device"}, {0x80, "normal"}, {0x100, "temporary"}, {0x200, "sparse"},
	{0x400, "reparse"}, {0x800, "compressed"}, {0x1000, "offline"},
	{0x2000, "not_indexed"}, {0x4000, "encrypted"}, {0x8000, "integrity"},
	{0x10000, "virtual"}, {0x20000, "no_scrub_data"}, {0x40000, "recall_on_open"},
	{0x80000, "pinned"}, {0x100000, "unpinned"}, {0x400000, "recall_on_data_access"},
	{0x10000000, "dir_index"}, {0x20000000, "index_view"},
}

// attrFlags renders DOS/NTFS attribute flags as sorted names joined by
// "|", e.g. "archive|hidden|system"; unknown bits as hex.
func attrFlags(v uint32) string {
	var names []string
	for _, f := range attrFlagNames {
		if v&f.bit != 0 {
			names = append(names, f.name)
			v &^= f.bit
		}
	}
	if v != 0 {
		names = append(names, fmt.Sprintf("0x%x", v))
	}
	sort.Strings(names)
	return strings.Join(names, "|")
}

// Timestomp indicators.
const (
	// StompSIBeforeFN: $SI created is earlier than $FN created. Windows
	// writes both from the same clock when a file is created and copies
	// $SI into a new $FN on rename, so $SI B < $FN B means $SI was set
	// afterwards through SetFileTime, which is what timestomping tools do.
	StompSIBeforeFN = "si_b_before_fn_b"
	// StompZeroFraction: $SI created and modified are both non-zero and
	// both have a sub-second part of exactly 0, while at least one
	// non-zero $FN time has a non-zero sub-second part. Tools that set
	// times from a whole-second value leave this pattern; requiring a
	// fractional $FN time avoids flagging volumes whose clock or source
	// (FAT copies, ntfs-3g at whole seconds) only has whole seconds.
	StompZeroFraction = "si_zero_fraction"
)

func timestompIndicators(si stdInfo, fn fileName) []string {
	var out []string
	if si.b != 0 && fn.b != 0 && si.b < fn.b {
		out = append(out, StompSIBeforeFN)
	}
	const sec = 10_000_000
	if si.b != 0 && si.m != 0 && si.b%sec == 0 && si.m%sec == 0 {
		frac := false
		for _, v := range [4]uint64{fn.b, fn.m, fn.c, fn.a} {
			if v != 0 && v%sec != 0 {
				frac = true
			}
		}
		if frac {
			out = append(out, StompZeroFraction)
		}
	}
	return out
}
