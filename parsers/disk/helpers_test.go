package disk

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

// repoRoot is the repository root.
func repoRoot(t testing.TB) string {
	t.Helper()
	return testimg.RepoRoot(t)
}

// corpus returns a path inside ../shared/corpus/images; the corpus is part
// of the project's test environment, so its absence is a failure.
func corpus(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", "corpus", "images", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("corpus file missing: %v", err)
	}
	return p
}

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// qemuRaw converts any qemu-readable image to raw bytes with qemu-img.
func qemuRaw(t testing.TB, path string, extra ...string) []byte {
	t.Helper()
	needTool(t, "qemu-img")
	out := filepath.Join(t.TempDir(), "ref.raw")
	args := append([]string{"convert"}, extra...)
	run(t, "qemu-img", append(args, "-O", "raw", path, out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ewfRaw exports an EWF image with libewf's ewfexport (to a file: "-t -"
// mixes status text into stdout).
func ewfRaw(t testing.TB, path string) []byte {
	t.Helper()
	needTool(t, "ewfexport")
	out := filepath.Join(t.TempDir(), "ref")
	run(t, "ewfexport", "-u", "-q", "-f", "raw", "-t", out, path)
	b, err := os.ReadFile(out + ".raw")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testRaw builds a deterministic disk of size bytes mixing incompressible,
// zero and repetitive data, so that EWF writers store chunks both
// compressed and uncompressed and sparse formats leave grains unallocated.
func testRaw(size int) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewSource(42))
	for off := 0; off < size; off += 1 << 20 {
		blk := b[off:min(off+1<<20, size)]
		switch (off >> 20) % 4 {
		case 0, 3:
			r.Read(blk)
		case 1: // zeros
		case 2:
			for i := range blk {
				blk[i] = "foothold timeline "[i%18]
			}
		}
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// boundaries returns the virtual offsets where the image switches from one
// file (segment, extent, split part) to the next.
func boundaries(img Image) []int64 {
	var out []int64
	switch x := img.(type) {
	case *multiFile:
		out = append(out, x.starts[1:len(x.starts)-1]...)
	case *ewfImage:
		for i := 1; i < len(x.chunks); i++ {
			if x.chunks[i].seg != x.chunks[i-1].seg {
				out = append(out, int64(i)*x.chunk)
			}
		}
	case *vmdkImage:
		for _, e := range x.extents[1:] {
			out = append(out, e.start)
		}
	}
	return out
}

// compareImage is the differential harness of dependencies.md §12: the whole
// disk in 1 MiB reads (buffers pre-filled with 0xCC to expose short reads)
// compared per sector, random unaligned reads, probes at every file boundary
// and reads at the end of the image.
func compareImage(t *testing.T, img Image, ref []byte) {
	t.Helper()
	size := img.Size()
	if size != int64(len(ref)) {
		t.Fatalf("%s: size %d, reference %d", img.Format(), size, len(ref))
	}
	buf := make([]byte, 1<<20)
	badSectors := 0
	for off := int64(0); off < size; off += int64(len(buf)) {
		for i := range buf {
			buf[i] = 0xCC
		}
		want := ref[off:min(off+int64(len(buf)), size)]
		n, err := img.ReadAt(buf, off)
		if n != len(want) || (err != nil && !(errors.Is(err, io.EOF) && n < len(buf))) {
			t.Fatalf("ReadAt(%d, 1 MiB) = %d, %v; want %d", off, n, err, len(want))
		}
		for s := 0; s < len(want); s += 512 {
			e := min(s+512, len(want))
			if !bytes.Equal(buf[s:e], want[s:e]) {
				if badSectors < 5 {
					t.Errorf("sector at offset %#x differs", off+int64(s))
				}
				badSectors++
			}
		}
	}
	if badSectors > 0 {
		t.Fatalf("%d sectors differ from the reference", badSectors)
	}
	probe := func(off int64, n int) {
		t.Helper()
		if off < 0 {
			return
		}
		p := bytes.Repeat([]byte{0xCC}, n)
		got, err := img.ReadAt(p, off)
		wantN := int(max(0, min(int64(n), size-off)))
		if got != wantN {
			t.Fatalf("ReadAt(off %d, len %d) = %d, %v; want %d", off, n, got, err, wantN)
		}
		if wantN < n && !errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt(off %d, len %d) short read with err %v, want io.EOF", off, n, err)
		}
		if wantN == n && err != nil {
			t.Fatalf("ReadAt(off %d, len %d): %v", off, n, err)
		}
		if wantN > 0 && !bytes.Equal(p[:wantN], ref[off:off+int64(wantN)]) {
			t.Fatalf("ReadAt(off %d, len %d) returned wrong bytes", off, n)
		}
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		n := 1 + r.Intn(300<<10)
		probe(r.Int63n(size), n)
	}
	bs := boundaries(img)
	for _, b := range bs {
		for _, d := range []int64{-4097, -511, -1, 0, 1, 511, 4097} {
			probe(b+d, 1)
			probe(b+d, 9000)
		}
	}
	probe(size-100, 4096)
	probe(size, 4096)
	probe(size+1<<20, 4096)
	t.Logf("%s: %d bytes identical, 3000 random reads, %d boundaries probed", img.Format(), size, len(bs))
}

func openT(t *testing.T, path string) Image {
	t.Helper()
	img, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { img.Close() })
	return img
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}
