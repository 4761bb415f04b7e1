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
	Sources atomic.Int64 // artifacts parsed (one source row each)
	Failed  atomic.Int64 // of those, the ones whose source records an error
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
	if k := classify(path, nil, true); k != nil {
		return KindArtifact, k.Name, nil
	}
	if format, ok := disk.Detect(path); ok {
		if format == "raw" {
			// A raw image is known by its extension alone; a loose
			// artifact exported as .raw or .img (plaso's UsnJrnl.raw) is
			// known by its signature, and a disk's first sectors have
			// none of those.
			if head, err := readHead(path); err == nil && !disk.LooksLikeDisk(head) {
				if k := classify(path, head, true); k != nil {
					return KindArtifact, k.Name, nil
				}
			}
		}
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
	if k := classify(path, head, true); k != nil {
		return KindArtifact, k.Name, nil
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
	o.progress().Sources.Add(1)
	sink := countingSink{src, &o.progress().Events}
	what := fmt.Sprintf("%s%s: %s", o.Evidence, where, path)
	limit := o.Limit
	if artifact == event.PE && (limit == 0 || limit > peLimit) {
		limit = peLimit // one executable: a parser taking longer is stuck
	}
	st, err := guard(ctx, limit, what, func(ctx context.Context) (Stats, error) { return fn(ctx, sink) })
	o.progress().Records.Add(st.Records)
	if err != nil && !errors.Is(err, context.Canceled) && !strings.HasPrefix(err.Error(), o.Evidence) {
		err = fmt.Errorf("%s: %w", what, err)
	}
	src.Done(st.Records, st.Errors, err)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil || st.Errors > 0 {
		o.progress().Failed.Add(1)
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
	host := &hostFacts{}
	defer host.report(o.Case)
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
		if err := o.volume(ctx, io.NewSectionReader(r, v.Offset, v.Size), v, id, host); err != nil {
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

func (o *Options) volume(ctx context.Context, r io.ReaderAt, v disk.Volume, id int64, host *hostFacts) error {
	where := fmt.Sprintf(" volume %d (offset %d)", v.Index, v.Offset)
	vol, err := ntfs.Open(r, v.Size)
	if err != nil {
		// The volume row stays, with the reason, so nothing is silent.
		src := o.Case.BeginSource(id, `\`, "ntfs", event.MFT)
		o.progress().Sources.Add(1)
		o.progress().Failed.Add(1)
		err = fmt.Errorf("%s%s: opening NTFS: %w", o.Evidence, where, err)
		src.Done(0, 1, err)
		return err
	}
	o.Case.SetVolumeIdentity(id, vol.Serial(), vol.Label())
	// Artifact files and the executables in user-writable and staging
	// places are found in the same pass that emits the $MFT's events.
	type onVolume struct {
		ntfs.File
		kind *artifactFile
	}
	var files []onVolume
	var staged []ntfs.File
	if err := o.run(ctx, id, where, `\$MFT`, "ntfs.mft", event.MFT, func(ctx context.Context, sink event.Sink) (Stats, error) {
		st, err := vol.ParseMFTFiles(ctx, sink, func(f ntfs.File) {
			if f.IsDir {
				return
			}
			if k := classify(f.Path, nil, false); k != nil {
				files = append(files, onVolume{f, k})
			} else if isStagedPE(f.Path) {
				staged = append(staged, f)
			}
		})
		return Stats{st.Records, st.Errors}, err
	}); err != nil {
		return err
	}
	if err := o.run(ctx, id, where, `\$Extend\$UsnJrnl:$J`, "ntfs.usn", event.USN, func(ctx context.Context, sink event.Sink) (Stats, error) {
		st, err := vol.ParseUSN(ctx, sink)
		if errors.Is(err, ntfs.ErrNoJournal) {
			// Not an error of the evidence: the journal is off on this volume.
			o.warn("%s%s: no USN journal", o.Evidence, where)
			return Stats{}, nil
		}
		return Stats{st.Records, st.Errors}, err
	}); err != nil {
		return err
	}
	refs := &referenced{paths: map[string]bool{}}
	// parseOn parses one file, opened by its MFT entry when the $MFT pass
	// found it (entry > 0), else by path.
	parseOn := func(p string, entry uint64, k *artifactFile) error {
		dir := p[:strings.LastIndex(p, `\`)+1]
		return o.run(ctx, id, where, p, k.Name, k.Artifact, func(ctx context.Context, sink event.Sink) (Stats, error) {
			open := func() (io.ReaderAt, int64, error) { return vol.OpenFile(p) }
			if entry > 0 {
				open = func() (io.ReaderAt, int64, error) { return vol.OpenEntry(entry, "") }
			}
			r, size, err := open()
			if err != nil {
				return Stats{Errors: 1}, err
			}
			return k.parse(ctx, &found{kind: k, path: p, r: r, size: size, sink: refs.watch(sink), host: host,
				sibling: func(name string, max int64) ([]byte, error) {
					r, size, err := vol.OpenFile(dir + name)
					if err != nil {
						return nil, err
					}
					return readCapped(r, size, max)
				}})
		})
	}
	sort.SliceStable(files, func(i, j int) bool { return parseOrder(files[i].kind) < parseOrder(files[j].kind) })
	for _, f := range files {
		if err := parseOn(f.Path, f.Entry, f.kind); err != nil {
			return err
		}
	}
	// Executables: those in staging places, then every one an execution
	// artifact names that exists on this volume.
	done := map[string]bool{}
	for _, f := range staged {
		done[event.NormalizePath(f.Path)] = true
		if err := parseOn(f.Path, f.Entry, peFile); err != nil {
			return err
		}
	}
	for _, key := range refs.sorted() {
		if done[key] {
			continue
		}
		done[key] = true
		if r, size, err := vol.OpenFile(key); err != nil || size < 64 || !isMZ(r) {
			continue // on another volume or host, gone, or not an executable
		}
		if err := parseOn(key, 0, peFile); err != nil {
			return err
		}
	}
	return nil
}

// File ingests one standalone artifact file.
func File(ctx context.Context, p string, o Options) error {
	return o.files(ctx, filepath.Dir(p), []string{p})
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

type loose struct {
	path string
	kind *artifactFile
}

func (o *Options) files(ctx context.Context, root string, paths []string) error {
	var arts []loose
	for _, p := range paths {
		k := classify(p, nil, true)
		if k == nil && !isHiveLog(p) {
			head, err := readHead(p)
			if err != nil {
				o.warn("%s: %v", o.Evidence, err)
				continue
			}
			k = classify(p, head, true)
		}
		if k != nil {
			arts = append(arts, loose{p, k})
		}
	}
	sort.SliceStable(arts, func(i, j int) bool { return parseOrder(arts[i].kind) < parseOrder(arts[j].kind) })
	host := &hostFacts{}
	defer host.report(o.Case)
	mfts := map[string]ntfs.PathResolver{}
	for _, a := range arts {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, err := filepath.Rel(root, a.path)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = a.path
		}
		if err := o.loose(ctx, a, rel, host, mfts); err != nil {
			return err
		}
	}
	if len(arts) == 0 {
		o.warn("%s: no artifact recognised among %d files", o.Evidence, len(paths))
	}
	return nil
}

func (o *Options) loose(ctx context.Context, a loose, rel string, host *hostFacts, mfts map[string]ntfs.PathResolver) error {
	return o.run(ctx, 0, "", rel, a.kind.Name, a.kind.Artifact, func(ctx context.Context, sink event.Sink) (Stats, error) {
		f, err := os.Open(a.path) // read-only: evidence is never written
		if err != nil {
			return Stats{Errors: 1}, err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return Stats{Errors: 1}, err
		}
		dir := filepath.Dir(a.path)
		return a.kind.parse(ctx, &found{kind: a.kind, path: rel, r: countingReader{f, &o.progress().Bytes}, size: fi.Size(),
			sink: sink, host: host, mfts: mfts, dir: filepath.ToSlash(dir),
			sibling: func(name string, max int64) ([]byte, error) { return readSibling(dir, name, max) }})
	})
}

// readSibling reads a file of the same folder, matching the name without
// regard to case (KAPE keeps Windows' casing: SYSTEM.LOG1 or system.LOG1).
func readSibling(dir, name string, max int64) ([]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if strings.EqualFold(e.Name(), name) && e.Type().IsRegular() {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return nil, err
			}
			return readCapped(f, fi.Size(), max)
		}
	}
	return nil, os.ErrNotExist
}

// parseOrder ranks artifact kinds for parsing: a $MFT first (a $J found
// beside one gets full paths from it), then hives (the SYSTEM hive's time
// zone dates task files), then the rest.
func parseOrder(k *artifactFile) int {
	switch k.Artifact {
	case event.MFT:
		return 0
	case event.Registry:
		return 1
	}
	return 2
}
