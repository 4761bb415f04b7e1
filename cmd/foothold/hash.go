package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

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
		_, err = copyCtx(ctx, w, f, buf)
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

func copyCtx(ctx context.Context, w io.Writer, r io.Reader, buf []byte) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := r.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
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
