package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

func acquire(t *testing.T, dir string, data []byte, args ...string) string {
	t.Helper()
	needTool(t, "ewfacquire")
	raw := writeFile(t, filepath.Join(dir, "src.raw"), data)
	run(t, "ewfacquire", append(append([]string{"-u", "-q", "-t", filepath.Join(dir, "img")}, args...), raw)...)
	return filepath.Join(dir, "img")
}

func TestEWFCorruptStoredChunk(t *testing.T) {
	dir := t.TempDir()
	base := acquire(t, dir, testRaw(4<<20), "-c", "none")
	p := base + ".E01"
	img := openT(t, p).(*ewfImage)
	c := img.chunks[10]
	if c.compressed {
		t.Fatal("-c none stored a compressed chunk")
	}
	img.Close()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{1, 2, 3, 4}, c.off+1000)
	f.Close()

	img2 := openT(t, p)
	buf := make([]byte, 4096)
	_, err = img2.ReadAt(buf, 10*img.chunk+512)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "img.E01") || !strings.Contains(err.Error(), "chunk 10") {
		t.Errorf("ReadAt over a corrupted chunk = %v, want a checksum error naming the segment and chunk", err)
	}
	if _, err := img2.ReadAt(buf, 11*img.chunk); err != nil {
		t.Errorf("neighbouring chunk: %v", err)
	}
	if _, err := Verify(context.Background(), img2, nil); !errors.Is(err, ErrChecksum) {
		t.Errorf("Verify = %v, want ErrChecksum", err)
	}
	needTool(t, "ewfverify")
	if out, err := exec.Command("ewfverify", "-q", p).CombinedOutput(); err == nil {
		t.Errorf("ewfverify accepted the corrupted image:\n%s", out)
	}
}

func TestEWFCorruptCompressedChunk(t *testing.T) {
	dir := t.TempDir()
	base := acquire(t, dir, testRaw(4<<20), "-f", "smart")
	p := base + ".s01"
	img := openT(t, p).(*ewfImage)
	idx := int64(40) // inside the repetitive-text megabyte: compressible
	c := img.chunks[idx]
	if !c.compressed {
		t.Fatal("smart chunk not compressed")
	}
	img.Close()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xde, 0xad}, c.off+int64(c.size)/2)
	f.Close()
	img2 := openT(t, p)
	buf := make([]byte, img.chunk)
	if n, err := img2.ReadAt(buf, idx*img.chunk); err == nil {
		t.Errorf("ReadAt over a corrupted compressed chunk returned %d bytes and no error", n)
	}
}

func copyFiles(t *testing.T, dst string, src ...string) []string {
	var out []string
	for _, s := range src {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, writeFile(t, filepath.Join(dst, filepath.Base(s)), b))
	}
	return out
}

func TestEWFTruncatedAndMissingSegments(t *testing.T) {
	src, err := filepath.Glob(filepath.Join(corpus(t, "ewf/rand.dd"), "rand.dd.E0*"))
	if err != nil || len(src) != 6 {
		t.Fatalf("rand.dd segments: %v %v", src, err)
	}
	t.Run("truncated", func(t *testing.T) {
		segs := copyFiles(t, t.TempDir(), src...)
		st, _ := os.Stat(segs[1])
		os.Truncate(segs[1], st.Size()/2)
		_, err := Open(segs[0])
		if err == nil || !strings.Contains(err.Error(), "rand.dd.E02") {
			t.Errorf("Open with truncated E02 = %v, want an error naming rand.dd.E02", err)
		}
	})
	t.Run("missing-last", func(t *testing.T) {
		segs := copyFiles(t, t.TempDir(), src[:5]...)
		if _, err := Open(segs[0]); err == nil || !strings.Contains(err.Error(), "missing or truncated segment") {
			t.Errorf("Open without E06 = %v", err)
		}
	})
}

// TestReadOnly: opening and reading evidence must not change a byte of it.
func TestReadOnly(t *testing.T) {
	paths := []string{corpus(t, "ewf/test.ntfs.dd.E01"), corpus(t, "vmdk/image.vmdk"), corpus(t, "raw/tsk_volume_system.raw")}
	rand, _ := filepath.Glob(filepath.Join(corpus(t, "ewf/rand.dd"), "rand.dd.E0*"))
	before := map[string]string{}
	for _, p := range append(paths, rand...) {
		before[p] = testimg.FileSHA256(t, p)
	}
	for _, p := range append(paths, rand[0]) {
		img := openT(t, p)
		if _, err := io.Copy(io.Discard, io.NewSectionReader(img, 0, img.Size())); err != nil {
			t.Fatal(err)
		}
		Volumes(img, img.Size())
		Verify(context.Background(), img, nil)
		img.Close()
	}
	for p, h := range before {
		if testimg.FileSHA256(t, p) != h {
			t.Errorf("%s changed", p)
		}
	}
}

func readHead(t testing.TB, path string, n int) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b[:min(n, len(b))]
}

// exercise reads a little of every part of an opened image; a recovered
// panic inside Open is reported as "internal error" and is a bug.
func exercise(t *testing.T, path string) {
	img, err := Open(path)
	if err != nil {
		if strings.Contains(err.Error(), "internal error") {
			t.Fatal(err)
		}
		return
	}
	defer img.Close()
	buf := make([]byte, 70000)
	for _, off := range []int64{0, img.Size() / 3, img.Size() - 100, img.Size()} {
		img.ReadAt(buf, off)
	}
	if img.Size() < 64<<20 {
		io.Copy(io.Discard, io.NewSectionReader(img, 0, img.Size()))
	}
	Volumes(img, img.Size())
}

func FuzzOpenEWF(f *testing.F) {
	f.Add(readHead(f, corpus(f, "ewf/plaso-image.E01"), 1<<20))
	f.Add(readHead(f, corpus(f, "ewf/test.ntfs.dd.E01"), 4<<10))
	f.Add(readHead(f, corpus(f, "ewf/partition_image.E01"), 4<<10))
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, writeFile(t, filepath.Join(t.TempDir(), "f.E01"), data))
	})
}

func FuzzVMDK(f *testing.F) {
	f.Add(readHead(f, corpus(f, "vmdk/image.vmdk"), 16<<10))
	f.Add([]byte("# Disk DescriptorFile\nversion=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW 4 ZERO\nRW 8 FLAT \"f.vmdk\" 0\nRW 2 SPARSE \"f.vmdk\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, writeFile(t, filepath.Join(t.TempDir(), "f.vmdk"), data))
	})
}

// Seeds stay small (a few KiB): the fuzzer minimises every new input and
// that is very slow on 100 KiB+ inputs.
func FuzzVolumes(f *testing.F) {
	f.Add(mbrSeed(f))
	if img, err := Open(corpus(f, "ewf/test.ntfs.dd.E01")); err == nil {
		b := make([]byte, 4<<10)
		img.ReadAt(b, 0)
		f.Add(b)
		img.Close()
	}
	// A small GPT disk: protective MBR, header and entries built by sfdisk.
	if _, err := exec.LookPath("sfdisk"); err == nil {
		p := filepath.Join(f.TempDir(), "gpt.raw")
		os.WriteFile(p, nil, 0o644)
		os.Truncate(p, 2<<20)
		cmd := exec.Command("sfdisk", "-q", "--no-reread", "--no-tell-kernel", p)
		cmd.Stdin = strings.NewReader("label: gpt\nstart=2048, size=1024, name=\"x\"\n")
		if cmd.Run() == nil {
			b, _ := os.ReadFile(p)
			f.Add(bytes.Clone(b[:17<<10]))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vols, err := Volumes(bytes.NewReader(data), int64(len(data)))
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatal(err)
		}
		for _, v := range vols {
			if v.Offset < 0 || v.Size < 0 {
				t.Fatalf("negative volume %+v", v)
			}
		}
	})
}

// mbrSeed is a 9 KiB disk in the shape of tsk_volume_system.raw: the MBR of
// that image (primary Linux + extended) rescaled so the extended partition's
// EBR and a logical partition holding an NTFS boot sector fit in the seed.
func mbrSeed(f *testing.F) []byte {
	b := make([]byte, 18*512)
	copy(b[:512], readHead(f, corpus(f, "raw/tsk_volume_system.raw"), 512))
	put := func(sector, slot int, typ byte, start, n uint32) {
		e := b[sector*512+446+slot*16:]
		e[4] = typ
		binary.LittleEndian.PutUint32(e[8:], start)
		binary.LittleEndian.PutUint32(e[12:], n)
		b[sector*512+510], b[sector*512+511] = 0x55, 0xaa
	}
	put(0, 0, 0x83, 1, 4)
	put(0, 1, 0x05, 6, 12)
	put(6, 0, 0x07, 1, 4)  // logical at sector 7
	put(6, 1, 0x05, 6, 6)  // next EBR at sector 12
	put(12, 0, 0x0b, 1, 4) // logical at sector 13
	boot := b[7*512:]
	copy(boot[3:], "NTFS    ")
	binary.LittleEndian.PutUint16(boot[11:], 512)
	boot[13] = 8
	binary.LittleEndian.PutUint64(boot[40:], 4)
	binary.LittleEndian.PutUint64(boot[48:], 1)
	return b
}
