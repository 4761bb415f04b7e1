// Package testimg hands tests the committed NTFS disk-image fixtures in
// testdata/images, decompressed into the calling test's t.TempDir().
//
// The fixtures are stored compressed (bzip2, readable by the standard
// library) so tests need no root, FUSE or external tools:
//
//	testdata/images/NAME.raw.bz2                  -> "NAME.raw"
//	testdata/images/NAME/FORMAT.tar.bz2           -> "NAME/FORMAT/<files>"
//	testdata/images/SHA256SUMS                    checksums of the uncompressed files
//
// Names given to Path are the uncompressed names listed in SHA256SUMS, e.g.
// "host1.raw", "host1/e01-split/host1.E01", "host1/vmdk-monolithicFlat/host1.vmdk".
// testdata/images/README.md describes what each image contains.
//
// Extracted files are made read-only (0444): they stand in for evidence,
// which Foothold must never write to.
package testimg

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ImagesRel is the fixture directory relative to the repository root.
const ImagesRel = "testdata/images"

// Container is one stored form of a test image.
type Container struct {
	// Format names the container: "raw", "split", "e01", "e01-split",
	// "e01-smart", "e01-ewf", "vmdk-monolithicSparse", "vmdk-monolithicFlat",
	// "vmdk-twoGbMaxExtentSparse", "vmdk-twoGbMaxExtentFlat",
	// "vmdk-streamOptimized", "vhdx-fixed", "vhdx-dynamic", "vhd-fixed",
	// "vhd-dynamic".
	Format string
	// Path is the file a reader opens: the raw image, the first segment
	// (.E01, .e01, .s01, .001) or the VMDK descriptor; the other files of
	// the set sit beside it.
	Path string
}

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testimg: working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testimg: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Corpus returns the shared sample corpus, ../shared/corpus beside the
// repository, failing the test if it is missing.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "..", "shared", "corpus")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("testimg: corpus not found at %s", dir)
	}
	return dir
}

// CorpusFiles lists the files below corpus/sub ("" for the whole corpus)
// for which keep (nil: all) says yes, as slash-free relative paths under
// corpus/sub, sorted. Callers decide whether an empty list is an error.
func CorpusFiles(t testing.TB, sub string, keep func(rel string) bool) []string {
	t.Helper()
	root := filepath.Join(Corpus(t), sub)
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err == nil && (keep == nil || keep(rel)) {
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatalf("testimg: corpus %s: %v", sub, err)
	}
	sort.Strings(out)
	return out
}

// ImagesDir returns testdata/images in the repository.
func ImagesDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), filepath.FromSlash(ImagesRel))
}

// Reference returns a committed, uncompressed file in testdata/images, such
// as the TSK ground truth "host1.fls.body" or "host1.usnjls.txt".
func Reference(t testing.TB, name string) string {
	t.Helper()
	if err := checkName(name); err != nil {
		t.Fatalf("testimg: %v", err)
	}
	p := filepath.Join(ImagesDir(t), filepath.FromSlash(name))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testimg: reference file %s: %v", name, err)
	}
	return p
}

// Path returns a filesystem path to the named fixture, extracting its
// archive into a temporary directory of t on first use in t.
func Path(t testing.TB, name string) string {
	t.Helper()
	if err := checkName(name); err != nil {
		t.Fatalf("testimg: %v", err)
	}
	parts := strings.Split(name, "/")
	switch len(parts) {
	case 1:
		return extracted(t, name+".bz2", func(dst string) (string, error) {
			return filepath.Join(dst, name), decompressFile(filepath.Join(ImagesDir(t), name+".bz2"), filepath.Join(dst, name))
		})
	case 3:
		p := filepath.Join(Dir(t, parts[0]+"/"+parts[1]), parts[2])
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("testimg: fixture %s not in its archive", name)
		}
		return p
	default:
		t.Fatalf("testimg: fixture name %q: want NAME.raw or IMAGE/FORMAT/FILE", name)
		return ""
	}
}

// Dir extracts a whole container set ("host1/e01-split") and returns the
// directory holding its files.
func Dir(t testing.TB, set string) string {
	t.Helper()
	if err := checkName(set); err != nil || strings.Count(set, "/") != 1 {
		t.Fatalf("testimg: container set %q: want IMAGE/FORMAT", set)
	}
	archive := set + ".tar.bz2"
	return extracted(t, archive, func(dst string) (string, error) {
		return dst, untar(filepath.Join(ImagesDir(t), filepath.FromSlash(archive)), dst)
	})
}

// Containers returns every stored form of image ("host1"), raw first and
// then by format name, each extracted and ready to open.
func Containers(t testing.TB, image string) []Container {
	t.Helper()
	sums := Sums(t)
	var out []Container
	if _, ok := sums[image+".raw"]; ok {
		out = append(out, Container{Format: "raw", Path: Path(t, image+".raw")})
	}
	first := map[string]string{} // format -> first file
	for name := range sums {
		parts := strings.Split(name, "/")
		if len(parts) != 3 || parts[0] != image {
			continue
		}
		format, file := parts[1], parts[2]
		stem := strings.TrimSuffix(file, path.Ext(file))
		if stem != image {
			continue // extent files such as host1-flat.vmdk
		}
		if cur, ok := first[format]; !ok || file < cur {
			first[format] = file
		}
	}
	formats := make([]string, 0, len(first))
	for f := range first {
		formats = append(formats, f)
	}
	sort.Strings(formats)
	for _, f := range formats {
		out = append(out, Container{Format: f, Path: Path(t, image+"/"+f+"/"+first[f])})
	}
	if len(out) == 0 {
		t.Fatalf("testimg: no fixtures for image %q in SHA256SUMS", image)
	}
	return out
}

// Sums returns testdata/images/SHA256SUMS: fixture name -> lower-case hex
// SHA-256 of the uncompressed file.
func Sums(t testing.TB) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(ImagesDir(t), "SHA256SUMS"))
	if err != nil {
		t.Fatalf("testimg: %v", err)
	}
	sums, err := parseSums(data)
	if err != nil {
		t.Fatalf("testimg: SHA256SUMS: %v", err)
	}
	return sums
}

func parseSums(data []byte) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || name == "" {
			return nil, fmt.Errorf("line %d: malformed %q", n, line)
		}
		sums[name] = sum
	}
	return sums, sc.Err()
}

// checkName refuses names that could leave testdata/images.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name {
		return fmt.Errorf("bad fixture name %q", name)
	}
	for _, p := range strings.Split(name, "/") {
		if p == ".." || p == "." {
			return fmt.Errorf("bad fixture name %q", name)
		}
	}
	return nil
}

// The cache makes repeated calls within one test share one extraction; the
// entry is dropped when the test (and its TempDir) ends.
type cacheKey struct {
	tb      testing.TB
	archive string
}

var (
	cacheMu sync.Mutex
	cache   = map[cacheKey]string{}
)

func extracted(t testing.TB, archive string, extract func(dst string) (string, error)) string {
	t.Helper()
	key := cacheKey{t, archive}
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if p, ok := cache[key]; ok {
		return p
	}
	if _, err := os.Stat(filepath.Join(ImagesDir(t), filepath.FromSlash(archive))); err != nil {
		t.Fatalf("testimg: fixture archive %s missing: %v", archive, err)
	}
	dst := t.TempDir()
	p, err := extract(dst)
	if err != nil {
		t.Fatalf("testimg: extracting %s: %v", archive, err)
	}
	cache[key] = p
	t.Cleanup(func() {
		cacheMu.Lock()
		delete(cache, key)
		cacheMu.Unlock()
	})
	return p
}

func decompressFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeSparse(dst, bzip2.NewReader(bufio.NewReaderSize(f, 1<<16)), -1)
}

func untar(src, dir string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(bzip2.NewReader(bufio.NewReaderSize(f, 1<<16)))
	n := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if hdr.Typeflag != tar.TypeReg || strings.ContainsAny(hdr.Name, `/\`) || hdr.Name == "." || hdr.Name == ".." {
			return fmt.Errorf("%s: unexpected member %q (type %c)", src, hdr.Name, hdr.Typeflag)
		}
		if err := writeSparse(filepath.Join(dir, hdr.Name), tr, hdr.Size); err != nil {
			return fmt.Errorf("%s member %s: %w", src, hdr.Name, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: empty archive", src)
	}
	return nil
}

// writeSparse copies r to a new read-only file, seeking over all-zero
// blocks: the images are mostly zeros, and sparse files keep a test's
// TempDir small. size < 0 means "until EOF"; otherwise exactly size bytes.
func writeSparse(dst string, r io.Reader, size int64) (err error) {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(dst, 0o444)
		}
	}()
	const block = 64 << 10
	buf := make([]byte, block)
	zero := make([]byte, block)
	var off int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if bytes.Equal(buf[:n], zero[:n]) {
				if _, err := f.Seek(int64(n), io.SeekCurrent); err != nil {
					return err
				}
			} else if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
			off += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if size >= 0 && off != size {
		return fmt.Errorf("got %d bytes, want %d", off, size)
	}
	return f.Truncate(off)
}

// FileSHA256 is the hex SHA-256 of a file's bytes, streamed: tests compare
// evidence before and after ingest, builds with each other, and images
// with SHA256SUMS.
func FileSHA256(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
