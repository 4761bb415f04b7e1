// Package walk finds artifacts in evidence — the volumes of a disk image,
// a standalone artifact file, or a folder of collected files — and hands
// each to its parser, recording every volume and artifact it meets.
package walk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/foothold/foothold/parsers/disk"
	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/ntfs"
)

// Progress counts work as it happens; the CLI reads it for its bar.
type Progress struct {
	Bytes   atomic.Int64 // bytes read from the evidence
	Total   atomic.Int64 // bytes the walk expects to read (0 when unknown)
	Records atomic.Int64
	Events  atomic.Int64
}

// Options configure a walk.
type Options struct {
	Case     event.Recorder
	Evidence string        // evidence path, for messages
	Limit    time.Duration // time cap per artifact; 0 = none
	Progress *Progress
	// Warn receives things the user should know that are not failures of
	// an artifact (a skipped volume, an unknown file).
	Warn func(msg string)
}

func (o *Options) warn(format string, a ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, a...))
	}
}

func (o *Options) progress() *Progress {
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
	return o.Progress
}

// Kind is what a piece of evidence is.
type Kind int

const (
	KindUnknown Kind = iota
	KindImage
	KindArtifact
	KindFolder
)

// Classify tells an image from an artifact file or a folder. Images are
// recognised by their container format or by a partition table or boot
// sector; artifact files by name and, where names are lost, by signature.
func Classify(path string) (Kind, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return KindUnknown, "", err
	}
	if fi.IsDir() {
		return KindFolder, "folder", nil
	}
	if p := matchFile(path, nil); p != nil {
		return KindArtifact, p.Name, nil
	}
	if format, ok := disk.Detect(path); ok {
		switch format {
		case disk.FormatEWFSegment, disk.FormatSplitSegment, disk.FormatVMDKExtent:
			// Opening a later segment alone would read a fraction of the
			// disk as if it were whole.
			return KindUnknown, format, fmt.Errorf("%s is a later segment or extent of a multi-file image: give the first file (.E01, .001 or the .vmdk descriptor)", path)
		}
		return KindImage, format, nil
	}
	head, err := readHead(path)
	if err != nil {
		return KindUnknown, "", err
	}
	if p := matchFile(path, head); p != nil {
		return KindArtifact, p.Name, nil
	}
	return KindUnknown, "", nil
}

func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:n], nil
}

// countingReader counts bytes read for the progress bar.
type countingReader struct {
	r io.ReaderAt
	n *atomic.Int64
}

func (c countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// countingSink counts events for the progress bar.
type countingSink struct {
	event.Source
	n *atomic.Int64
}

func (c countingSink) Emit(e *event.Event) error {
	c.n.Add(1)
	return c.Source.Emit(e)
}

// run parses one artifact into its own source row, whatever happens.
func (o *Options) run(ctx context.Context, volID int64, where, path, parser, artifact string,
	fn func(ctx context.Context, sink event.Sink) (Stats, error)) error {
	src := o.Case.BeginSource(volID, path, parser, artifact)
	sink := countingSink{src, &o.progress().Events}
	what := fmt.Sprintf("%s%s: %s", o.Evidence, where, path)
	st, err := guard(ctx, o.Limit, what, func(ctx context.Context) (Stats, error) { return fn(ctx, sink) })
	o.progress().Records.Add(st.Records)
	if err != nil && !errors.Is(err, context.Canceled) && !strings.HasPrefix(err.Error(), o.Evidence) {
		err = fmt.Errorf("%s: %w", what, err)
	}
	src.Done(st.Records, st.Errors, err)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// Walk walks a disk image: every partition, every NTFS volume.
func Walk(ctx context.Context, img disk.Image, o Options) error {
	r := countingReader{img, &o.progress().Bytes}
	vols, err := disk.Volumes(r, img.Size())
	if err != nil {
		return fmt.Errorf("%s: partitions: %w", o.Evidence, err)
	}
	parsed := 0
	for _, v := range vols {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ev := event.Volume{Index: v.Index, Scheme: v.Scheme, Offset: v.Offset, Size: v.Size, Type: v.Type,
			Name: v.Name, FS: v.FS, Skipped: v.Skip}
		if v.Skip == "" && v.FS != "ntfs" {
			ev.Skipped = "not NTFS: " + v.FS
		}
		id := o.Case.AddVolume(ev)
		if ev.Skipped != "" {
			o.warn("%s: volume %d at offset %d (%s): skipped: %s", o.Evidence, v.Index, v.Offset, v.FS, ev.Skipped)
			continue
		}
		if err := o.volume(ctx, io.NewSectionReader(r, v.Offset, v.Size), v, id); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			o.warn("%v", err)
			continue
		}
		parsed++
	}
	if parsed == 0 {
		o.warn("%s: no NTFS volume found (%d volumes)", o.Evidence, len(vols))
	}
	return nil
}

func (o *Options) volume(ctx context.Context, r io.ReaderAt, v disk.Volume, id int64) error {
	where := fmt.Sprintf(" volume %d (offset %d)", v.Index, v.Offset)
	vol, err := ntfs.Open(r, v.Size)
	if err != nil {
		// The volume row stays, with the reason, so nothing is silent.
		src := o.Case.BeginSource(id, `\`, "ntfs", event.MFT)
		err = fmt.Errorf("%s%s: opening NTFS: %w", o.Evidence, where, err)
		src.Done(0, 1, err)
		return err
	}
	o.Case.SetVolumeIdentity(id, vol.Serial(), vol.Label())
	if err := o.run(ctx, id, where, `\$MFT`, "ntfs.mft", event.MFT, func(ctx context.Context, sink event.Sink) (Stats, error) {
		st, err := vol.ParseMFT(ctx, sink)
		return Stats{st.Records, st.Errors}, err
	}); err != nil {
		return err
	}
	return o.run(ctx, id, where, `\$Extend\$UsnJrnl:$J`, "ntfs.usn", event.USN, func(ctx context.Context, sink event.Sink) (Stats, error) {
		st, err := vol.ParseUSN(ctx, sink)
		if errors.Is(err, ntfs.ErrNoJournal) {
			// Not an error of the evidence: the journal is off on this volume.
			o.warn("%s%s: no USN journal", o.Evidence, where)
			return Stats{}, nil
		}
		return Stats{st.Records, st.Errors}, err
	})
}

// filePattern recognises a standalone artifact by name or signature.
type filePattern struct {
	Name     string // parser name
	Artifact string
	names    []string // lower-case base names
	sniff    func(head []byte) bool
}

var filePatterns = []filePattern{
	{Name: "ntfs.mft", Artifact: event.MFT, names: []string{"$mft"}, sniff: ntfs.IsMFT},
	// KAPE writes the journal as $J under $Extend; other collectors use
	// $UsnJrnl%3A$J, $UsnJrnl_$J or $UsnJrnl.$J.
	{Name: "ntfs.usn", Artifact: event.USN, names: []string{"$j", "$usnjrnl:$j", "$usnjrnl%3a$j", "$usnjrnl_$j", "$usnjrnl.$j", "$usnjrnl"}, sniff: ntfs.IsUSN},
}

// matchFile finds the pattern for a file: by name when head is nil, by
// signature otherwise.
func matchFile(path string, head []byte) *filePattern {
	base := strings.ToLower(filepath.Base(path))
	for i := range filePatterns {
		p := &filePatterns[i]
		if head == nil {
			for _, n := range p.names {
				if base == n {
					return p
				}
			}
		} else if p.sniff != nil && p.sniff(head) {
			return p
		}
	}
	return nil
}

// File ingests one standalone artifact file.
func File(ctx context.Context, path string, o Options) error {
	return o.files(ctx, filepath.Dir(path), []string{path})
}

// Folder ingests a folder of collected files (a KAPE target output, or any
// tree): artifacts are recognised by name, then by signature.
func Folder(ctx context.Context, root string, o Options) error {
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			o.warn("%s: %v", o.Evidence, err)
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	return o.files(ctx, root, files)
}

type found struct {
	path string
	p    *filePattern
}

func (o *Options) files(ctx context.Context, root string, paths []string) error {
	var arts []found
	for _, p := range paths {
		pat := matchFile(p, nil)
		if pat == nil {
			head, err := readHead(p)
			if err != nil {
				o.warn("%s: %v", o.Evidence, err)
				continue
			}
			pat = matchFile(p, head)
		}
		if pat != nil {
			arts = append(arts, found{p, pat})
		}
	}
	// $MFT files first: a $J found beside one gets full paths from it.
	sort.SliceStable(arts, func(i, j int) bool { return arts[i].p.Artifact == event.MFT && arts[j].p.Artifact != event.MFT })
	mfts := map[string]ntfs.PathResolver{} // directory of the $MFT -> its paths
	for _, a := range arts {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, err := filepath.Rel(root, a.path)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = a.path
		}
		err = o.standalone(ctx, a, rel, mfts)
		if err != nil {
			return err
		}
	}
	if len(arts) == 0 {
		o.warn("%s: no artifact recognised among %d files", o.Evidence, len(paths))
	}
	return nil
}

func (o *Options) standalone(ctx context.Context, a found, rel string, mfts map[string]ntfs.PathResolver) error {
	f, err := os.Open(a.path) // read-only: evidence is never written
	if err != nil {
		src := o.Case.BeginSource(0, rel, a.p.Name, a.p.Artifact)
		src.Done(0, 1, fmt.Errorf("%s: %s: %w", o.Evidence, rel, err))
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	r := countingReader{f, &o.progress().Bytes}
	switch a.p.Artifact {
	case event.MFT:
		return o.run(ctx, 0, "", rel, a.p.Name, a.p.Artifact, func(ctx context.Context, sink event.Sink) (Stats, error) {
			m, err := ntfs.OpenMFTFile(r, fi.Size())
			if err != nil {
				return Stats{}, err
			}
			st, err := m.Parse(ctx, sink)
			mfts[filepath.Dir(a.path)] = m
			return Stats{st.Records, st.Errors}, err
		})
	case event.USN:
		paths := nearestMFT(a.path, mfts)
		return o.run(ctx, 0, "", rel, a.p.Name, a.p.Artifact, func(ctx context.Context, sink event.Sink) (Stats, error) {
			st, err := ntfs.ParseUSNFile(ctx, r, fi.Size(), paths, sink)
			return Stats{st.Records, st.Errors}, err
		})
	}
	return nil
}

// nearestMFT finds the $MFT collected from the same volume as a journal:
// in its folder or a parent folder ($J sits in $Extend below the root).
func nearestMFT(path string, mfts map[string]ntfs.PathResolver) ntfs.PathResolver {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if m, ok := mfts[dir]; ok {
			return m
		}
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
	}
}
