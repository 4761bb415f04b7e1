package ntfs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// ErrNoJournal means the volume has no $Extend\$UsnJrnl:$J.
var ErrNoJournal = errors.New(`no USN journal ($Extend\$UsnJrnl:$J absent)`)

const (
	usnChunk     = 1 << 20
	maxUSNRecord = 0x10000
)

var usnReasonNames = []struct {
	bit  uint32
	name string
}{
	{0x1, "DATA_OVERWRITE"}, {0x2, "DATA_EXTEND"}, {0x4, "DATA_TRUNCATION"},
	{0x10, "NAMED_DATA_OVERWRITE"}, {0x20, "NAMED_DATA_EXTEND"}, {0x40, "NAMED_DATA_TRUNCATION"},
	{0x100, "FILE_CREATE"}, {0x200, "FILE_DELETE"}, {0x400, "EA_CHANGE"},
	{0x800, "SECURITY_CHANGE"}, {0x1000, "RENAME_OLD_NAME"}, {0x2000, "RENAME_NEW_NAME"},
	{0x4000, "INDEXABLE_CHANGE"}, {0x8000, "BASIC_INFO_CHANGE"}, {0x10000, "HARD_LINK_CHANGE"},
	{0x20000, "COMPRESSION_CHANGE"}, {0x40000, "ENCRYPTION_CHANGE"}, {0x80000, "OBJECT_ID_CHANGE"},
	{0x100000, "REPARSE_POINT_CHANGE"}, {0x200000, "STREAM_CHANGE"}, {0x400000, "TRANSACTED_CHANGE"},
	{0x800000, "INTEGRITY_CHANGE"}, {0x80000000, "CLOSE"},
}

// usnReasons lists the reason flags in bit order, as usnjls prints them.
func usnReasons(v uint32) []string {
	var out []string
	for _, r := range usnReasonNames {
		if v&r.bit != 0 {
			out = append(out, r.name)
			v &^= r.bit
		}
	}
	for bit := uint32(1); v != 0; bit <<= 1 {
		if v&bit != 0 {
			out = append(out, fmt.Sprintf("0x%x", bit))
			v &^= bit
		}
	}
	return out
}

// usnMinLength is the smallest valid record of each major version.
func usnMinLength(major uint16) uint32 {
	switch major {
	case 2:
		return 60
	case 3:
		return 76
	case 4:
		return 64
	}
	return 0
}

// IsUSN reports whether head looks like $UsnJrnl:$J content: the first
// non-zero 8-byte-aligned word starts a plausible V2 or V3 record.
func IsUSN(head []byte) bool {
	i := 0
	for i+8 <= len(head) && binary.LittleEndian.Uint64(head[i:]) == 0 {
		i += 8
	}
	b := head[i:]
	if len(b) < 60 {
		return false
	}
	le := binary.LittleEndian
	length := le.Uint32(b)
	major, minor := le.Uint16(b[4:]), le.Uint16(b[6:])
	var nameLen, nameOff uint16
	switch major {
	case 2:
		nameLen, nameOff = le.Uint16(b[56:]), le.Uint16(b[58:])
	case 3:
		if len(b) < 76 {
			return false
		}
		nameLen, nameOff = le.Uint16(b[72:]), le.Uint16(b[74:])
	default:
		return false
	}
	return minor == 0 && length%8 == 0 && length >= usnMinLength(major) && length <= 1024 &&
		nameLen > 0 && nameLen%2 == 0 && uint32(nameOff)+uint32(nameLen) <= length && uint32(nameOff) >= usnMinLength(major)
}

// ParseUSNFile parses a standalone $J. paths may be nil: then events carry
// the file name only, plus parent entry numbers in their fields.
func ParseUSNFile(ctx context.Context, r io.ReaderAt, size int64, paths PathResolver, sink event.Sink) (Stats, error) {
	p := &usnPass{r: r, paths: paths, sink: sink}
	return p.run(ctx, []span{{0, size}})
}

type span struct{ off, length int64 }

type usnPass struct {
	r     io.ReaderAt
	paths PathResolver
	sink  event.Sink

	buf    []byte
	bufOff int64
	bufLen int

	stats Stats
	errs  event.Errors
	ev    event.Event
}

func (p *usnPass) run(ctx context.Context, spans []span) (Stats, error) {
	p.errs.Max = maxErrorSamples
	p.buf = make([]byte, usnChunk)
	p.bufOff = -1
	var stop error
	for _, s := range spans {
		if stop = p.walk(ctx, s.off, s.off+s.length); stop != nil {
			break
		}
	}
	p.stats.Errors = p.errs.Count()
	if stop != nil && !errors.Is(stop, errReadFailed) {
		return p.stats, stop
	}
	if p.errs.Count() > 0 {
		return p.stats, p.errs.Err(nil)
	}
	return p.stats, nil
}

var errReadFailed = errors.New("read failed")

// window returns the buffered bytes from off up to the end of the buffer or
// end, refilling the buffer at off when needed (min bytes required).
func (p *usnPass) window(off, end int64, min int) []byte {
	if p.bufOff >= 0 && off >= p.bufOff && off < p.bufOff+int64(p.bufLen) {
		w := p.buf[off-p.bufOff : p.bufLen]
		if int64(len(w)) > end-off {
			w = w[:end-off]
		}
		if len(w) >= min {
			return w
		}
	}
	n := int64(len(p.buf))
	if end-off < n {
		n = end - off
	}
	m, _ := p.r.ReadAt(p.buf[:n], off)
	p.bufOff, p.bufLen = off, m
	return p.buf[:m]
}

func (p *usnPass) walk(ctx context.Context, start, end int64) error {
	le := binary.LittleEndian
	off := (start + 7) &^ 7
	garbage := false
	var n int
	for off+8 <= end {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		w := p.window(off, end, 8)
		if len(w) < 8 {
			p.errs.Add(fmt.Errorf("$J read at offset 0x%x failed", off))
			return errReadFailed
		}
		// Skip zero padding and unwritten regions a buffer at a time.
		if le.Uint64(w) == 0 {
			i := 8
			for i+8 <= len(w) && le.Uint64(w[i:]) == 0 {
				i += 8
			}
			off += int64(i)
			garbage = false
			continue
		}
		length := le.Uint32(w)
		major := le.Uint16(w[4:])
		min := usnMinLength(major)
		if min == 0 || length < min || length > maxUSNRecord || length%8 != 0 {
			if !garbage {
				p.errs.Add(fmt.Errorf("$J offset 0x%x: not a USN record (length %d, version %d)", off, length, major))
				garbage = true
			}
			off += 8
			continue
		}
		garbage = false
		if off+int64(length) > end {
			p.errs.Add(fmt.Errorf("$J offset 0x%x: record of %d bytes runs past the end (0x%x)", off, length, end))
			return nil
		}
		w = p.window(off, end, int(length))
		if len(w) < int(length) {
			p.errs.Add(fmt.Errorf("$J read at offset 0x%x failed", off))
			return errReadFailed
		}
		p.stats.Records++
		if err := p.record(w[:length], off); err != nil {
			return err
		}
		off += int64(length)
	}
	return nil
}

func (p *usnPass) record(b []byte, off int64) error {
	le := binary.LittleEndian
	major, minor := le.Uint16(b[4:]), le.Uint16(b[6:])
	var (
		ref, pref               uint64
		usn                     int64
		ts                      uint64
		reason, source, attribs uint32
		nameLen, nameOff        int
		hdr                     int
	)
	switch major {
	case 2:
		ref, pref = le.Uint64(b[8:]), le.Uint64(b[16:])
		usn, ts = int64(le.Uint64(b[24:])), le.Uint64(b[32:])
		reason, source, attribs = le.Uint32(b[40:]), le.Uint32(b[44:]), le.Uint32(b[52:])
		nameLen, nameOff, hdr = int(le.Uint16(b[56:])), int(le.Uint16(b[58:])), 60
	case 3:
		// 128-bit file ids; on NTFS the low 64 bits are the MFT reference.
		ref, pref = le.Uint64(b[8:]), le.Uint64(b[24:])
		usn, ts = int64(le.Uint64(b[40:])), le.Uint64(b[48:])
		reason, source, attribs = le.Uint32(b[56:]), le.Uint32(b[60:]), le.Uint32(b[68:])
		nameLen, nameOff, hdr = int(le.Uint16(b[72:])), int(le.Uint16(b[74:])), 76
	default:
		// V4 records describe changed ranges and carry neither a time
		// nor a name; they are counted, not emitted.
		return nil
	}
	if nameLen%2 != 0 || nameOff < hdr || nameOff+nameLen > len(b) {
		p.errs.Add(fmt.Errorf("$J offset 0x%x (USN %d): file name out of bounds (offset %d, length %d)", off, usn, nameOff, nameLen))
		return nil
	}
	name := utf16String(b[nameOff : nameOff+nameLen])
	entry, seq := ref&0xFFFFFFFFFFFF, uint16(ref>>48)
	pentry, pseq := pref&0xFFFFFFFFFFFF, uint16(pref>>48)
	path := name
	if p.paths != nil {
		if dir, ok := p.paths.Path(pentry, pseq); ok {
			path = dir + `\` + name
		}
	}
	reasons := usnReasons(reason)
	rs := strings.Join(reasons, "|")
	e := &p.ev
	*e = event.Event{
		Time:     event.FileTime(ts),
		TimeDesc: "USN: " + rs,
		Artifact: event.USN,
		Type:     "usn",
		Path:     path,
		Message:  "USN " + rs + " " + path,
		Record:   usn,
		Offset:   off,
	}
	e.Fields = make([]event.Field, 0, 11)
	e.Add("usn", usn).
		Add("entry", int64(entry)).
		Add("seq", int64(seq)).
		Add("parent_entry", int64(pentry)).
		Add("parent_seq", int64(pseq)).
		Add("reason", fmt.Sprintf("0x%08x", reason)).
		Add("reasons", reasons).
		Add("source_info", fmt.Sprintf("0x%08x", source)).
		Add("attributes", attrFlags(attribs)).
		Add("name", name).
		Add("version", fmt.Sprintf("%d.%d", major, minor))
	p.stats.Events++
	return p.sink.Emit(e)
}
