package ntfs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	"github.com/foothold/foothold/parsers/event"
	"www.velocidex.com/golang/go-ntfs/parser"
)

// Volume is an NTFS file system read from a partition-sized ReaderAt.
// Its methods serialise access to go-ntfs, which is not safe for
// concurrent use; readers returned by OpenFile may be used concurrently
// with each other only if the underlying ReaderAt allows it.
type Volume struct {
	mu          sync.Mutex
	ctx         *parser.NTFSContext
	mft         io.ReaderAt // $MFT data through lockedReader
	mftSize     int64
	recSize     int
	clusterSize int64
	serial      uint64
	label       string
	size        int64
	ix          *mftIndex
}

// File is an in-use file or directory, as Walk reports it.
type File struct {
	Path    string // `\Windows\System32\config\SYSTEM`
	Entry   uint64
	Seq     uint16
	Size    int64 // unnamed $DATA
	IsDir   bool
	Streams []Stream // named $DATA streams
}

// Stream is a named data stream (ADS) of a File.
type Stream struct {
	Name string
	Size int64
}

// pageCache is the number of 4 KiB pages go-ntfs keeps (16 MiB).
const pageCache = 4096

// Open reads the boot sector and locates $MFT. r must be the volume
// (partition) alone, starting at its boot sector.
func Open(r io.ReaderAt, size int64) (v *Volume, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("ntfs: panic opening volume: %v", p)
		}
	}()
	boot := make([]byte, 512)
	if n, err := r.ReadAt(boot, 0); n < len(boot) {
		return nil, fmt.Errorf("ntfs: reading boot sector: %w", err)
	}
	if string(boot[3:11]) != "NTFS    " {
		return nil, fmt.Errorf("ntfs: no NTFS boot sector (OEM id %q)", boot[3:11])
	}
	pr, err := parser.NewPagedReader(r, 0x1000, pageCache)
	if err != nil {
		return nil, fmt.Errorf("ntfs: %w", err)
	}
	ctx, err := parser.GetNTFSContext(pr, 0)
	if err != nil {
		return nil, fmt.Errorf("ntfs: boot sector: %w", err)
	}
	root, err := ctx.GetMFT(0)
	if err != nil {
		return nil, fmt.Errorf("ntfs: $MFT entry 0: %w", err)
	}
	mft, err := parser.OpenStream(ctx, root, attrData, parser.WILDCARD_STREAM_ID, "")
	if err != nil {
		return nil, fmt.Errorf("ntfs: $MFT data: %w", err)
	}
	v = &Volume{
		ctx:         ctx,
		mftSize:     parser.RangeSize(mft),
		recSize:     int(ctx.GetRecordSize()),
		clusterSize: ctx.ClusterSize,
		serial:      binary.LittleEndian.Uint64(boot[0x48:]),
		size:        size,
	}
	v.mft = &lockedReader{mu: &v.mu, r: mft}
	if v.recSize != 1024 && v.recSize != 4096 {
		return nil, fmt.Errorf("ntfs: unsupported MFT record size %d", v.recSize)
	}
	buf := make([]byte, v.recSize)
	if n, _ := mft.ReadAt(buf, 3*int64(v.recSize)); n == len(buf) {
		if rec, _ := safeParse(buf, 3); rec != nil {
			v.label = rec.label
		}
	}
	return v, nil
}

// Serial is the volume serial number as fsstat prints it (16 hex digits).
func (v *Volume) Serial() string { return fmt.Sprintf("%016X", v.serial) }

// Label is the volume label from $Volume.
func (v *Volume) Label() string { return v.label }

// ClusterSize is the cluster size in bytes.
func (v *Volume) ClusterSize() int64 { return v.clusterSize }

// RecordSize is the MFT record size in bytes.
func (v *Volume) RecordSize() int { return v.recSize }

// MFTSize is the size of the $MFT data stream.
func (v *Volume) MFTSize() int64 { return v.mftSize }

func (v *Volume) index(ctx context.Context) (*mftIndex, error) {
	if v.ix != nil {
		return v.ix, nil
	}
	ix, err := buildIndex(ctx, v.mft, v.mftSize, v.recSize)
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	v.ix = ix
	return ix, nil
}

// Path implements PathResolver over the volume's own $MFT.
func (v *Volume) Path(entry uint64, seq uint16) (string, bool) {
	ix, err := v.index(context.Background())
	if err != nil {
		return "", false
	}
	return ix.Path(entry, seq)
}

// ParseMFT emits events for every MFT entry, in use and deleted, plus
// Zone.Identifier and timestomp events.
func (v *Volume) ParseMFT(ctx context.Context, sink event.Sink) (Stats, error) {
	return v.ParseMFTFiles(ctx, sink, nil)
}

// ParseMFTFiles is ParseMFT that also reports every in-use file and
// directory to onFile (as Walk does) in the same pass.
func (v *Volume) ParseMFTFiles(ctx context.Context, sink event.Sink, onFile func(File)) (Stats, error) {
	ix, err := v.index(ctx)
	if err != nil {
		return Stats{}, err
	}
	p := &mftPass{ix: ix, sink: sink, readStream: v.readStream, onFile: onFile}
	return p.run(ctx, v.mft, v.mftSize, v.recSize)
}

// Walk calls fn for every in-use file and directory. Record decoding
// problems are not returned (ParseMFT reports them); fn's error stops the
// walk and is returned.
func (v *Volume) Walk(ctx context.Context, fn func(f File) error) error {
	ix, err := v.index(ctx)
	if err != nil {
		return err
	}
	var fnErr error
	p := &mftPass{ix: ix, walk: func(f File) error {
		fnErr = fn(f)
		return fnErr
	}}
	_, err = p.run(ctx, v.mft, v.mftSize, v.recSize)
	if fnErr != nil {
		return fnErr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// readStream reads up to max bytes of a named $DATA stream of an entry.
func (v *Volume) readStream(entry uint64, name string, max int) (data []byte, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			data, err = nil, fmt.Errorf("panic in go-ntfs: %v", p)
		}
	}()
	e, err := v.ctx.GetMFT(int64(entry))
	if err != nil {
		return nil, err
	}
	s, err := parser.OpenStream(v.ctx, e, attrData, parser.WILDCARD_STREAM_ID, name)
	if err != nil {
		return nil, err
	}
	n := parser.RangeSize(s)
	if n > int64(max) {
		n = int64(max)
	}
	buf := make([]byte, n)
	m, err := s.ReadAt(buf, 0)
	if m < len(buf) && err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:m], nil
}

// OpenFile opens a file's unnamed data stream, or a named one with
// `path:stream`. Paths are relative to the volume root, with `\` or `/`,
// and matched case-insensitively (either long or 8.3 names).
func (v *Volume) OpenFile(path string) (r io.ReaderAt, size int64, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			r, size, err = nil, 0, fmt.Errorf("ntfs open %s: panic in go-ntfs: %v", path, p)
		}
	}()
	e, stream, err := v.lookup(path)
	if err != nil {
		return nil, 0, fmt.Errorf("ntfs open %s: %w", path, err)
	}
	s, err := parser.OpenStream(v.ctx, e, attrData, parser.WILDCARD_STREAM_ID, stream)
	if err != nil {
		return nil, 0, fmt.Errorf("ntfs open %s: no data stream %q: %w", path, stream, fs.ErrNotExist)
	}
	return s, parser.RangeSize(s), nil
}

// OpenEntry opens a data stream ("" for the file's content) of the MFT
// entry, as Walk and ParseMFTFiles report it: no directory lookups, which
// cost a read of every index on the path.
func (v *Volume) OpenEntry(entry uint64, stream string) (r io.ReaderAt, size int64, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			r, size, err = nil, 0, fmt.Errorf("ntfs open entry %d: panic in go-ntfs: %v", entry, p)
		}
	}()
	e, err := v.ctx.GetMFT(int64(entry))
	if err != nil {
		return nil, 0, fmt.Errorf("ntfs open entry %d: %w", entry, err)
	}
	s, err := parser.OpenStream(v.ctx, e, attrData, parser.WILDCARD_STREAM_ID, stream)
	if err != nil {
		return nil, 0, fmt.Errorf("ntfs open entry %d: no data stream %q: %w", entry, stream, fs.ErrNotExist)
	}
	return s, parser.RangeSize(s), nil
}

func (v *Volume) lookup(path string) (*parser.MFT_ENTRY, string, error) {
	p := strings.ReplaceAll(path, "/", `\`)
	stream := ""
	if i := strings.LastIndex(p, ":"); i > strings.LastIndex(p, `\`) {
		p, stream = p[:i], p[i+1:]
	}
	e, err := v.ctx.GetMFT(rootEntry)
	if err != nil {
		return nil, "", err
	}
	for _, comp := range strings.Split(p, `\`) {
		if comp == "" || comp == "." {
			continue
		}
		var next *parser.MFT_ENTRY
		for _, idx := range e.Dir(v.ctx) {
			if strings.EqualFold(idx.File().Name(), comp) {
				next, err = v.ctx.GetMFT(int64(idx.MftReference()))
				if err != nil {
					return nil, "", err
				}
				break
			}
		}
		if next == nil {
			return nil, "", fmt.Errorf("%q not found: %w", comp, fs.ErrNotExist)
		}
		e = next
	}
	return e, stream, nil
}

// ParseUSN emits one event per record of $Extend\$UsnJrnl:$J, with paths
// resolved through this volume's $MFT (deleted directories included). It
// returns ErrNoJournal when the volume has no journal.
func (v *Volume) ParseUSN(ctx context.Context, sink event.Sink) (Stats, error) {
	j, spans, err := v.openJournal()
	if err != nil {
		return Stats{}, err
	}
	ix, err := v.index(ctx)
	if err != nil {
		return Stats{}, err
	}
	p := &usnPass{r: &lockedReader{mu: &v.mu, r: j}, paths: ix, sink: sink}
	return p.run(ctx, spans)
}

func (v *Volume) openJournal() (j parser.RangeReaderAt, spans []span, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			j, spans, err = nil, nil, fmt.Errorf(`ntfs $Extend\$UsnJrnl:$J: panic in go-ntfs: %v`, p)
		}
	}()
	e, _, err := v.lookup(`\$Extend\$UsnJrnl`)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, ErrNoJournal
		}
		return nil, nil, fmt.Errorf(`ntfs $Extend\$UsnJrnl: %w`, err)
	}
	j, err = parser.OpenStream(v.ctx, e, attrData, parser.WILDCARD_STREAM_ID, "$J")
	if err != nil {
		return nil, nil, ErrNoJournal
	}
	// Sparse runs (the journal's discarded head) read as zeros; skip them
	// and merge adjacent data runs so that records crossing a run boundary
	// stay whole.
	for _, rg := range j.Ranges() {
		if rg.IsSparse || rg.Length <= 0 {
			continue
		}
		if n := len(spans); n > 0 && spans[n-1].off+spans[n-1].length == rg.Offset {
			spans[n-1].length += rg.Length
			continue
		}
		spans = append(spans, span{rg.Offset, rg.Length})
	}
	return j, spans, nil
}

// lockedReader serialises reads through go-ntfs and turns its panics into
// errors.
type lockedReader struct {
	mu *sync.Mutex
	r  io.ReaderAt
}

func (l *lockedReader) ReadAt(b []byte, off int64) (n int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("panic in go-ntfs: %v", p)
		}
	}()
	return l.r.ReadAt(b, off)
}
