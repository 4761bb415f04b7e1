package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"

	"github.com/foothold/foothold/parsers/walk"
)

// folderFiles lists a folder's regular files, sorted, with their total size.
func folderFiles(root string) ([]string, int64, error) {
	var files []string
	var size int64
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, p)
			size += fi.Size()
		}
		return nil
	})
	sort.Strings(files)
	return files, size, err
}

// quickID fingerprints evidence from sizes and a few sampled blocks, so a
// re-ingest is spotted without reading everything. It only ever leads to a
// full hash comparison, never to a decision by itself.
func quickID(kind walk.Kind, root string, files []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "kind %d\n", kind)
	buf := make([]byte, 64<<10)
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return "", err
		}
		rel, _ := filepath.Rel(root, p)
		if kind != walk.KindFolder {
			rel = ""
		}
		fmt.Fprintf(h, "%s %d\n", rel, fi.Size())
		for _, off := range []int64{0, fi.Size() / 2, fi.Size() - int64(len(buf))} {
			if off < 0 {
				off = 0
			}
			n, err := f.ReadAt(buf, off)
			if err != nil && err != io.EOF {
				f.Close()
				return "", err
			}
			h.Write(buf[:n])
		}
		f.Close()
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// evidenceHash is the evidence's sha256: of its bytes (segments and
// extents in order) for an image or file, and of its sorted file list with
// each file's sha256 for a folder.
func evidenceHash(ctx context.Context, kind walk.Kind, root string, files []string) (string, error) {
	all := sha256.New()
	buf := make([]byte, 1<<20)
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		var w io.Writer = all
		var one = sha256.New()
		if kind == walk.KindFolder {
			w = one
		}
		err = hashFile(ctx, w, f, buf)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("hashing %s: %w", p, err)
		}
		if kind == walk.KindFolder {
			rel, _ := filepath.Rel(root, p)
			fmt.Fprintf(all, "%s\t%x\n", filepath.ToSlash(rel), one.Sum(nil))
		}
	}
	return hex.EncodeToString(all.Sum(nil)), nil
}

// lseek whence values for sparse files (Linux, the BSDs, macOS, Solaris).
const (
	seekData = 3
	seekHole = 4
)

// zeros stands in for the holes of sparse images.
var zeros = make([]byte, 256<<10)

// hashFile writes f's bytes to w. Holes in a sparse file (raw images made
// with dd conv=sparse or qemu-img often are) are written from a zero
// buffer instead of being read: the kernel would only zero-fill them, and
// on the benchmark's 2 GiB image with 268 MB allocated that read was a
// fifth of the hashing CPU. Where the filesystem cannot say, the whole
// file counts as data. The hash yields after each chunk so that, running
// beside the parser and the case writer, it takes mostly their idle time:
// image ingest 2.98 -> 2.73 s on two cores.
func hashFile(ctx context.Context, w io.Writer, f *os.File, buf []byte) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	for off := int64(0); off < size; {
		data, hole := off, size
		if d, err := f.Seek(off, seekData); err == nil {
			data = min(d, size)
			if h, err := f.Seek(data, seekHole); err == nil {
				hole = min(h, size)
			}
		} else if errors.Is(err, syscall.ENXIO) {
			data = size // only a hole remains
		}
		if err := writeZeros(ctx, w, data-off); err != nil {
			return err
		}
		if err := copyRange(ctx, w, f, data, hole-data, buf); err != nil {
			return err
		}
		off = max(hole, data)
	}
	return nil
}

func writeZeros(ctx context.Context, w io.Writer, n int64) error {
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(n, int64(len(zeros)))
		w.Write(zeros[:k])
		n -= k
		runtime.Gosched()
	}
	return nil
}

func copyRange(ctx context.Context, w io.Writer, f *os.File, off, n int64, buf []byte) error {
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := f.ReadAt(buf[:min(n, int64(len(buf)))], off)
		w.Write(buf[:k])
		runtime.Gosched()
		off += int64(k)
		n -= int64(k)
		if err == io.EOF && n > 0 {
			return fmt.Errorf("%s: file shrank while hashing (at offset %d)", f.Name(), off)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s offset %d: %w", f.Name(), off, err)
		}
	}
	return nil
}

// hashInBackground hashes evidence while it is parsed; the returned
// function waits for the result.
func hashInBackground(ctx context.Context, kind walk.Kind, root string, files []string) func() (string, error) {
	type result struct {
		sha string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		sha, err := evidenceHash(ctx, kind, root, files)
		ch <- result{sha, err}
	}()
	return func() (string, error) {
		r := <-ch
		return r.sha, r.err
	}
}
