// Package prefetch turns Windows Prefetch files (.pf) into timeline
// events: one per recorded run time, plus one per volume creation time.
//
// Formats 17 (XP, 2003), 23 (Vista, 7), 26 (8.x), 30 (10, 11) and 31
// (Windows 11 22H2+) are read, plain or wrapped in the MAM/LZXPRESS
// Huffman container Windows 8.1+ writes. The SCCA structure is decoded
// here from the raw bytes (layout after libyal's "Windows Prefetch File
// (PF) format" and checked against sccainfo) because go-prefetch truncates
// run times to seconds, drops run times later than the local clock
// (dependencies.md D16), reads no volumes and has no file references.
// go-prefetch's LZXPRESS Huffman decoder is used for the MAM container,
// behind a size guard, recover and a deadline (D17).
package prefetch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// Stats is what one file gave.
type Stats struct{ Records, Errors int64 }

const (
	// maxFileSize bounds what is read from evidence for one .pf file; real
	// files are below 1 MiB.
	maxFileSize = 16 << 20
	// maxEntries bounds the metrics and volume counts taken from the file.
	maxEntries = 1 << 20
	// maxRunTimes is the number of run-time slots of formats 26 to 31.
	maxRunTimes = 8
	headerSize  = 84
)

// Info is the decoded content of one prefetch file.
type Info struct {
	Version    uint32
	Compressed bool // MAM container
	Executable string
	Hash       uint32
	RunCount   uint32
	// RunTimes are the non-zero run-time slots in file order: the first
	// is the last run. Times later than any clock are kept.
	RunTimes []event.FileTime
	// RunSlots are the slot numbers (0-based) of RunTimes.
	RunSlots []int
	// ExecutablePath is the NT path stored by formats 30/31 after the
	// file names ("" if absent).
	ExecutablePath string
	Files          []string
	Volumes        []Volume
}

// Volume is one entry of the volumes information.
type Volume struct {
	DevicePath  string         `json:"device_path"`
	Serial      uint32         `json:"-"`
	SerialHex   string         `json:"serial"`
	Created     event.FileTime `json:"-"`
	CreatedISO  string         `json:"created"`
	Directories []string       `json:"-"` // on the volume event only: 8 copies would bloat the case
}

// IsPrefetch reports whether head starts like a prefetch file: an SCCA
// header of a known version, or a MAM container.
func IsPrefetch(head []byte) bool {
	if len(head) >= 8 && string(head[:3]) == "MAM" {
		return true
	}
	if len(head) < 8 || string(head[4:8]) != "SCCA" {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case 17, 23, 26, 30, 31:
		return true
	}
	return false
}

// Parse emits the events of one prefetch file. name is the artifact path,
// used in messages.
func Parse(ctx context.Context, name string, r io.ReaderAt, size int64, sink event.Sink) (st Stats, err error) {
	where := "prefetch"
	if name != "" {
		where = "prefetch " + name
	}
	if size > maxFileSize {
		return st, fmt.Errorf("%s: %d bytes, larger than the %d accepted", where, size, maxFileSize)
	}
	if size < 8 {
		return st, fmt.Errorf("%s: %d bytes, too short for a header", where, size)
	}
	data := make([]byte, size)
	if n, err := r.ReadAt(data, 0); n < len(data) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return st, fmt.Errorf("%s: read: %w", where, err)
	}
	info, err := Decode(ctx, data)
	if err != nil {
		st.Errors++
		return st, fmt.Errorf("%s: %w", where, err)
	}
	return emit(info, sink)
}

// Decode decodes a whole prefetch file held in data.
func Decode(ctx context.Context, data []byte) (info *Info, err error) {
	defer func() {
		if r := recover(); r != nil {
			info, err = nil, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	compressed := false
	if len(data) >= 8 && string(data[:3]) == "MAM" {
		data, err = decompressMAM(ctx, data)
		if err != nil {
			return nil, err
		}
		compressed = true
	}
	info, err = decodeSCCA(data)
	if info != nil {
		info.Compressed = compressed
	}
	return info, err
}

// layout is where a format version keeps its values (offsets from the
// start of the SCCA data).
type layout struct {
	runTimes, nRunTimes int
	runCount            int
	metricSize          int
	volumeSize          int
	pathOffset          int // formats 30/31: executable path offset, then length
}

func layoutOf(version uint32, metricsOffset uint32) (layout, error) {
	switch version {
	case 17:
		return layout{runTimes: 0x78, nRunTimes: 1, runCount: 0x90, metricSize: 20, volumeSize: 40}, nil
	case 23:
		return layout{runTimes: 0x80, nRunTimes: 1, runCount: 0x98, metricSize: 32, volumeSize: 104}, nil
	case 26:
		return layout{runTimes: 0x80, nRunTimes: 8, runCount: 0xD0, metricSize: 32, volumeSize: 104}, nil
	case 30, 31:
		// Two file-information variants exist: 224 bytes (metrics at
		// 0x130, run count at 0xD0) and 212 bytes (metrics at 0x128,
		// run count at 0xC8, executable path offset and length at
		// 0xD4/0xD8).
		l := layout{runTimes: 0x80, nRunTimes: 8, runCount: 0xD0, metricSize: 32, volumeSize: 96}
		if metricsOffset == 0x128 {
			l.runCount = 0xC8
			l.pathOffset = 0xD4
		}
		return l, nil
	}
	return layout{}, fmt.Errorf("unknown format version %d", version)
}

func u32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}

func u64(b []byte, off int) uint64 {
	if off < 0 || off+8 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint64(b[off:])
}

// utf16At decodes chars UTF-16 code units at off, stopping at a NUL.
func utf16At(b []byte, off, chars int) (string, bool) {
	if off < 0 || chars < 0 || off > len(b) || chars > (len(b)-off)/2 {
		return "", false
	}
	u := make([]uint16, 0, chars)
	for i := 0; i < chars; i++ {
		c := binary.LittleEndian.Uint16(b[off+2*i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), true
}

func decodeSCCA(b []byte) (*Info, error) {
	if len(b) < headerSize+36 {
		return nil, fmt.Errorf("%d bytes, too short for the file header", len(b))
	}
	if string(b[4:8]) != "SCCA" {
		return nil, fmt.Errorf("signature %q, want SCCA", b[4:8])
	}
	info := &Info{Version: u32(b, 0), Hash: u32(b, 76)}
	metricsOff := u32(b, headerSize)
	l, err := layoutOf(info.Version, metricsOff)
	if err != nil {
		return nil, err
	}
	if need := l.runCount + 4; len(b) < need {
		return nil, fmt.Errorf("%d bytes, too short for the format %d file information (%d)", len(b), info.Version, need)
	}
	info.Executable, _ = utf16At(b, 16, 30)
	info.RunCount = u32(b, l.runCount)
	for i := 0; i < l.nRunTimes; i++ {
		if t := u64(b, l.runTimes+8*i); t != 0 {
			info.RunTimes = append(info.RunTimes, event.FileTime(t))
			info.RunSlots = append(info.RunSlots, i)
		}
	}

	var errs []error
	nMetrics := u32(b, headerSize+4)
	strOff, strSize := int64(u32(b, headerSize+16)), int64(u32(b, headerSize+20))
	if strOff+strSize > int64(len(b)) {
		errs = append(errs, fmt.Errorf("file name strings at %d+%d beyond the end (%d)", strOff, strSize, len(b)))
	}
	switch {
	case nMetrics > maxEntries || int64(metricsOff)+int64(nMetrics)*int64(l.metricSize) > int64(len(b)):
		errs = append(errs, fmt.Errorf("%d file metrics at %d do not fit in %d bytes", nMetrics, metricsOff, len(b)))
	default:
		nameAt := 8 // format 17: name offset, then length in characters
		if l.metricSize == 32 {
			nameAt = 12
		}
		for i := 0; i < int(nMetrics); i++ {
			m := int(metricsOff) + i*l.metricSize
			off, chars := int64(u32(b, m+nameAt)), int64(u32(b, m+nameAt+4))
			if off+2*chars > strSize {
				errs = append(errs, fmt.Errorf("file metric %d at %d: name %d+%d outside the strings", i, m, off, chars))
				continue
			}
			s, ok := utf16At(b, int(strOff+off), int(chars))
			if !ok {
				errs = append(errs, fmt.Errorf("file metric %d at %d: name outside the file", i, m))
				continue
			}
			info.Files = append(info.Files, s)
		}
	}

	volOff, nVol, volSize := int64(u32(b, headerSize+24)), u32(b, headerSize+28), int64(u32(b, headerSize+32))
	if nVol > maxEntries || volOff+int64(nVol)*int64(l.volumeSize) > int64(len(b)) {
		errs = append(errs, fmt.Errorf("%d volumes at %d do not fit in %d bytes", nVol, volOff, len(b)))
		nVol = 0
	}
	for i := 0; i < int(nVol); i++ {
		e := int(volOff) + i*l.volumeSize
		v := Volume{Created: event.FileTime(u64(b, e+8)), Serial: u32(b, e+16)}
		v.SerialHex = fmt.Sprintf("%08X", v.Serial)
		v.CreatedISO = v.Created.String()
		devOff, devChars := int64(u32(b, e)), int64(u32(b, e+4))
		if devOff+2*devChars > volSize {
			errs = append(errs, fmt.Errorf("volume %d at %d: device path outside the volumes information", i, e))
		} else {
			v.DevicePath, _ = utf16At(b, int(volOff+devOff), int(devChars))
		}
		v.Directories = directories(b, volOff+int64(u32(b, e+28)), int64(u32(b, e+32)), volOff+volSize)
		info.Volumes = append(info.Volumes, v)
	}

	if l.pathOffset != 0 {
		off, chars := int(u32(b, l.pathOffset)), int(u32(b, l.pathOffset+4))
		if off != 0 && chars > 0 {
			if s, ok := utf16At(b, off, chars); ok && strings.HasPrefix(s, `\`) {
				info.ExecutablePath = s
			}
		}
	}
	return info, errors.Join(errs...)
}

// directories reads n directory strings (u16 length in characters, the
// characters, a NUL) starting at off and ending before end.
func directories(b []byte, off, n, end int64) []string {
	if end > int64(len(b)) {
		end = int64(len(b))
	}
	if n > maxEntries {
		return nil
	}
	var out []string
	for i := int64(0); i < n; i++ {
		if off+2 > end {
			break
		}
		chars := int64(binary.LittleEndian.Uint16(b[off:]))
		if off+2+2*chars > end {
			break
		}
		s, _ := utf16At(b, int(off+2), int(chars))
		out = append(out, s)
		off += 2 + 2*(chars+1)
	}
	return out
}

// TargetPath is the path of the executable as the file records it: the
// format 30/31 executable path, or else the first referenced file whose
// last component is the executable name (which the header cuts at 29
// characters).
func (info *Info) TargetPath() string {
	if info.ExecutablePath != "" {
		return info.ExecutablePath
	}
	exe := strings.ToUpper(info.Executable)
	// SysMain "operation" files name themselves Op-<EXE>-<hash>.
	if rest, ok := strings.CutPrefix(exe, "OP-"); ok {
		if i := strings.LastIndexByte(rest, '-'); i > 0 {
			exe = rest[:i]
		}
	}
	if exe == "" {
		return ""
	}
	for _, f := range info.Files {
		base := strings.ToUpper(f[strings.LastIndexByte(f, '\\')+1:])
		if base == exe || len([]rune(exe)) == 29 && strings.HasPrefix(base, exe) {
			return f
		}
	}
	return ""
}

func emit(info *Info, sink event.Sink) (st Stats, err error) {
	target := info.TargetPath()
	path := target
	if path == "" {
		path = info.Executable
	}
	hash := fmt.Sprintf("%08X", info.Hash)
	common := func(e *event.Event) {
		e.Add("executable", info.Executable).Add("prefetch_hash", hash).Add("run_count", info.RunCount).
			Add("target_path", target).Add("format_version", info.Version).Add("compressed", info.Compressed)
	}
	for i, t := range info.RunTimes {
		desc := "Last run"
		if i > 0 {
			desc = fmt.Sprintf("Previous run %d", i)
		}
		e := &event.Event{
			Time: t, TimeDesc: desc, Artifact: event.Prefetch, Type: "run", Path: path,
			Message: fmt.Sprintf("%s ran (%s; run count %d)", info.Executable, strings.ToLower(desc), info.RunCount),
			Record:  int64(info.RunSlots[i]), Offset: -1,
		}
		common(e)
		e.Add("run_slot", info.RunSlots[i]).Add("files", info.Files).Add("volumes", info.Volumes)
		if err := sink.Emit(e); err != nil {
			return st, err
		}
		st.Records++
	}
	for i, v := range info.Volumes {
		if v.Created == 0 {
			continue
		}
		e := &event.Event{
			Time: v.Created, TimeDesc: "Volume created", Artifact: event.Prefetch, Type: "volume", Path: path,
			Message: fmt.Sprintf("volume %s (serial %s) referenced by %s was created", v.DevicePath, v.SerialHex, info.Executable),
			Record:  int64(i), Offset: -1,
		}
		common(e)
		e.Add("device_path", v.DevicePath).Add("volume_serial", v.SerialHex).Add("directories", v.Directories)
		if err := sink.Emit(e); err != nil {
			return st, err
		}
		st.Records++
	}
	return st, nil
}
