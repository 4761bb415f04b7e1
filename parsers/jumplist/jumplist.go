// Package jumplist reads Windows jump lists: AutomaticDestinations (an
// OLE compound file of numbered LNK streams and a DestList stream that
// records, per entry, host, last access, access count and pin state) and
// CustomDestinations (LNKs one after another, each behind the shell link
// CLSID, in categories ended by a footer). The AppID is the file name's
// stem (1bc392b8e104a00e.automaticDestinations-ms is mstsc.exe).
//
// OLE is read with richardlehane/mscfb (Velocidex/go-mscfb panics, D18);
// LNKs are decoded with parsers/lnk.
package jumplist

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/richardlehane/mscfb"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/lnk"
)

// Stats is what one file gave: Records counts DestList entries and LNKs
// read (an entry and its LNK stream count once).
type Stats struct{ Records, Errors int64 }

const (
	maxFileSize   = 64 << 20
	maxStreamSize = 16 << 20
	maxStreams    = 1 << 14
	maxEntries    = 1 << 16
)

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// lnkSig is the start of every shell link: header size and CLSID.
var lnkSig = []byte{0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}

// IsAutomatic reports whether head starts like an OLE compound file (an
// automaticDestinations-ms jump list, or any other OLE document).
func IsAutomatic(head []byte) bool { return bytes.HasPrefix(head, oleMagic) }

// IsCustom reports whether head looks like a customDestinations-ms file:
// format version 2 and a zero third word. The signature is weak; prefer
// the file name where it is known.
func IsCustom(head []byte) bool {
	le := binary.LittleEndian
	return len(head) >= 12 && le.Uint32(head) == 2 && le.Uint32(head[4:]) < 1024 && le.Uint32(head[8:]) == 0
}

// Entry is one DestList entry.
type Entry struct {
	Number                                                   uint32
	Hostname                                                 string
	LastAccess                                               event.FileTime
	AccessCount                                              uint32 // format 2 and later; 0 in format 1
	Pinned                                                   bool
	PinOrder                                                 int32
	Path                                                     string // as the DestList records it
	VolumeDroid, FileDroid, BirthVolumeDroid, BirthFileDroid string
	Offset                                                   int64 // in the DestList stream
}

// DestList is the decoded DestList stream.
type DestList struct {
	Version, Count, Pinned, LastNumber uint32
	Entries                            []Entry
}

// ParseDestList decodes a DestList stream. Entries after damage are lost
// and the error says where.
func ParseDestList(b []byte) (*DestList, error) {
	le := binary.LittleEndian
	if len(b) == 0 {
		return &DestList{}, nil
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("DestList header: %d bytes, need 32", len(b))
	}
	d := &DestList{Version: le.Uint32(b), Count: le.Uint32(b[4:]), Pinned: le.Uint32(b[8:]), LastNumber: le.Uint32(b[16:])}
	fixed := 130 // format 2 and later (Windows 10)
	if d.Version < 2 {
		fixed = 114
	}
	off := 32
	for off < len(b) {
		if len(d.Entries) >= maxEntries {
			return d, fmt.Errorf("DestList: more than %d entries", maxEntries)
		}
		if off+fixed > len(b) {
			return d, fmt.Errorf("DestList entry at %d: truncated (%d bytes left)", off, len(b)-off)
		}
		e := b[off:]
		n := int(le.Uint16(e[fixed-2:]))
		size := fixed + 2*n
		if d.Version >= 2 {
			size += 4
		}
		if off+size > len(b) {
			return d, fmt.Errorf("DestList entry at %d: path of %d characters beyond the stream", off, n)
		}
		ent := Entry{
			VolumeDroid:      lnk.FormatGUID(e[8:24]),
			FileDroid:        lnk.FormatGUID(e[24:40]),
			BirthVolumeDroid: lnk.FormatGUID(e[40:56]),
			BirthFileDroid:   lnk.FormatGUID(e[56:72]),
			Hostname:         cString(e[72:88]),
			Number:           le.Uint32(e[88:]),
			LastAccess:       event.FileTime(le.Uint64(e[100:])),
			PinOrder:         int32(le.Uint32(e[108:])),
			Path:             utf16s(e[fixed : fixed+2*n]),
			Offset:           int64(off),
		}
		ent.Pinned = ent.PinOrder != -1
		if d.Version >= 2 {
			ent.AccessCount = le.Uint32(e[116:])
		}
		d.Entries = append(d.Entries, ent)
		off += size
	}
	return d, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func utf16s(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// Automatic is a decoded automaticDestinations-ms file.
type Automatic struct {
	DestList *DestList
	// Links by entry number (the stream name read as hex).
	Links map[uint32]*lnk.Link
	// Streams holds the raw bytes of every numbered stream.
	Streams map[uint32][]byte
}

// ReadAutomatic reads the OLE compound file: the DestList and every
// numbered LNK stream. Damaged streams are reported in the joined error
// and skipped; the rest is returned.
func ReadAutomatic(r io.ReaderAt) (a *Automatic, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.Join(err, fmt.Errorf("OLE reader panic: %v", p))
		}
	}()
	doc, err := mscfb.New(r)
	if err != nil {
		return nil, fmt.Errorf("OLE header: %w", err)
	}
	a = &Automatic{Links: map[uint32]*lnk.Link{}, Streams: map[uint32][]byte{}}
	var errs []error
	var dl []byte
	haveDL := false
	for i := 0; ; i++ {
		f, nerr := doc.Next()
		if nerr == io.EOF {
			break
		}
		if nerr != nil {
			errs = append(errs, fmt.Errorf("OLE directory: %w", nerr))
			break
		}
		if i >= maxStreams {
			errs = append(errs, fmt.Errorf("OLE: more than %d entries", maxStreams))
			break
		}
		if f.Size > maxStreamSize {
			errs = append(errs, fmt.Errorf("stream %q: %d bytes, more than %d", f.Name, f.Size, maxStreamSize))
			continue
		}
		num, numErr := strconv.ParseUint(f.Name, 16, 32)
		isDL := f.Name == "DestList"
		if !isDL && numErr != nil {
			continue
		}
		b := make([]byte, f.Size)
		if n, rerr := io.ReadFull(f, b); rerr != nil && !(rerr == io.EOF && n == 0 && f.Size == 0) {
			errs = append(errs, fmt.Errorf("stream %q: read %d of %d bytes: %w", f.Name, n, f.Size, rerr))
			continue
		}
		if isDL {
			dl, haveDL = b, true
			continue
		}
		a.Streams[uint32(num)] = b
		l, derr := lnk.Decode(b)
		if derr != nil {
			errs = append(errs, fmt.Errorf("stream %q: %w", f.Name, derr))
			continue
		}
		a.Links[uint32(num)] = l
	}
	if haveDL {
		d, derr := ParseDestList(dl)
		if derr != nil {
			errs = append(errs, derr)
		}
		a.DestList = d
	}
	return a, errors.Join(errs...)
}

// Custom reads the LNKs of a customDestinations-ms file in order, with
// their offsets.
func Custom(b []byte) (links []*lnk.Link, offsets []int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.Join(err, fmt.Errorf("panic: %v", p))
		}
	}()
	if len(b) < 12 || binary.LittleEndian.Uint32(b) != 2 {
		return nil, nil, errors.New("not a customDestinations-ms file (format version is not 2)")
	}
	var errs []error
	for off := 12; off < len(b); {
		i := bytes.Index(b[off:], lnkSig)
		if i < 0 {
			break
		}
		off += i
		l, derr := lnk.Decode(b[off:])
		if derr != nil {
			errs = append(errs, fmt.Errorf("LNK at %d: %w", off, derr))
			off += len(lnkSig)
			continue
		}
		if len(l.Warnings) > 0 {
			errs = append(errs, fmt.Errorf("LNK at %d: %s", off, strings.Join(l.Warnings, "; ")))
		}
		links = append(links, l)
		offsets = append(offsets, int64(off))
		off += max(l.Length, len(lnkSig))
	}
	return links, offsets, errors.Join(errs...)
}

// AppID is the jump list's application id: the file name up to the first
// dot, lower case.
func AppID(name string) string {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	return strings.ToLower(base)
}

// Parse reads an automatic or custom destinations file and emits, per
// DestList entry, its last access (Type "entry", Path the LNK's target)
// and, per LNK, the target times (Type "target"). name is the file's path:
// the AppID comes from it.
func Parse(ctx context.Context, name string, r io.ReaderAt, size int64, sink event.Sink) (st Stats, err error) {
	where := "jump list"
	if name != "" {
		where = "jump list " + name
	}
	var errs event.Errors
	defer func() {
		if p := recover(); p != nil {
			errs.Add(fmt.Errorf("%s: panic: %v", where, p))
			st.Errors = errs.Count()
			err = errs.Err()
		}
	}()
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if size > maxFileSize {
		return st, fmt.Errorf("%s: %d bytes, more than %d", where, size, maxFileSize)
	}
	if size < 0 {
		size = 0
	}
	b := make([]byte, size)
	if n, rerr := r.ReadAt(b, 0); n < len(b) {
		if rerr == nil || errors.Is(rerr, io.EOF) {
			rerr = io.ErrUnexpectedEOF
		}
		return st, fmt.Errorf("%s: read %d of %d bytes: %w", where, n, size, rerr)
	}
	p := &parser{ctx: ctx, sink: sink, appID: AppID(name), where: where, errs: &errs}
	switch {
	case IsAutomatic(b):
		err = p.automatic(b, &st)
	case IsCustom(b):
		err = p.custom(b, &st)
	default:
		return st, fmt.Errorf("%s offset 0: neither an OLE compound file nor a custom destinations file", where)
	}
	st.Errors = errs.Count()
	if err != nil {
		return st, err
	}
	return st, errs.Err()
}

type parser struct {
	ctx   context.Context
	sink  event.Sink
	appID string
	where string
	errs  *event.Errors
}

func (p *parser) automatic(b []byte, st *Stats) error {
	a, err := ReadAutomatic(bytes.NewReader(b))
	if a == nil {
		return fmt.Errorf("%s: %w", p.where, err)
	}
	if err != nil {
		p.errs.Add(fmt.Errorf("%s: %w", p.where, err))
	}
	done := map[uint32]bool{}
	if a.DestList != nil {
		for _, e := range a.DestList.Entries {
			if err := p.ctx.Err(); err != nil {
				return err
			}
			st.Records++
			l := a.Links[e.Number]
			if l == nil {
				p.errs.Add(fmt.Errorf("%s: DestList entry %d at %d: no LNK stream %x", p.where, e.Number, e.Offset, e.Number))
			}
			done[e.Number] = true
			if err := p.emitEntry(e, l); err != nil {
				return err
			}
			if l != nil {
				if err := p.emitTargets(l, int64(e.Number), &e); err != nil {
					return err
				}
			}
		}
	}
	// LNK streams the DestList does not list still name targets.
	var rest []uint32
	for n := range a.Links {
		if !done[n] {
			rest = append(rest, n)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	for _, n := range rest {
		st.Records++
		if err := p.emitTargets(a.Links[n], int64(n), nil); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) custom(b []byte, st *Stats) error {
	links, offs, err := Custom(b)
	if err != nil {
		p.errs.Add(fmt.Errorf("%s: %w", p.where, err))
	}
	for i, l := range links {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		st.Records++
		evs := l.TargetEvents()
		for j := range evs {
			ev := &evs[j]
			ev.Artifact, ev.Record, ev.Offset = event.JumpList, int64(i+1), offs[i]
			ev.Fields = append([]event.Field{{Key: "app_id", Value: p.appID}, {Key: "list", Value: "custom"}}, ev.Fields...)
			if err := p.sink.Emit(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) emitEntry(e Entry, l *lnk.Link) error {
	target := e.Path
	var lf []event.Field
	if l != nil {
		if t := l.TargetPath(); t != "" {
			target = t
		}
		lf = l.Fields()
	}
	ev := event.Event{
		Time: e.LastAccess, TimeDesc: "Last accessed", Artifact: event.JumpList, Type: "entry",
		Path: target, Record: int64(e.Number), Offset: e.Offset,
	}
	ev.Message = fmt.Sprintf("Jump list %s entry %d: %s opened", p.appID, e.Number, orUnknown(target))
	if e.AccessCount > 0 {
		ev.Message += " (" + event.Times(int64(e.AccessCount)) + ")"
	}
	ev.Add("target_path", target)
	ev.Add("app_id", p.appID)
	ev.Add("list", "automatic")
	ev.Add("entry_number", int64(e.Number))
	ev.Add("dest_path", e.Path)
	if e.Hostname != "" {
		ev.Add("hostname", e.Hostname)
	}
	ev.Add("access_count", int64(e.AccessCount))
	ev.Add("pinned", e.Pinned)
	for _, f := range lf {
		if f.Key != "target_path" {
			ev.Fields = append(ev.Fields, f)
		}
	}
	return p.sink.Emit(&ev)
}

func (p *parser) emitTargets(l *lnk.Link, number int64, e *Entry) error {
	evs := l.TargetEvents()
	for i := range evs {
		ev := &evs[i]
		ev.Artifact, ev.Record = event.JumpList, number
		if e != nil {
			ev.Offset = e.Offset
		} else {
			ev.Offset = -1
		}
		ev.Fields = append([]event.Field{{Key: "app_id", Value: p.appID}, {Key: "list", Value: "automatic"},
			{Key: "entry_number", Value: number}}, ev.Fields...)
		if err := p.sink.Emit(ev); err != nil {
			return err
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown target)"
	}
	return s
}
