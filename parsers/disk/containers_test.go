package disk

import (
	"archive/zip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Stored MD5 values from GROUND_TRUTH_POINTERS.md (ewfverify); the test
// also runs ewfverify live.
func TestEWFCorpus(t *testing.T) {
	needTool(t, "ewfverify")
	cases := []struct {
		rel      string
		segments int
		md5      string
	}{
		{"ewf/test.ntfs.dd.E01", 1, "8b4382280340597b7930b4b34742afba"},
		{"ewf/rand.dd/rand.dd.E01", 6, "b0ac1a238d20da977b07371c3b13cc65"},
		{"ewf/partition_image.E01", 1, "2f342dd13cbfea48b5cacc3c8b8b8b49"},
		{"ewf/plaso-image.E01", 1, "d73c51f10c7ee6a681b7b619ccc6f1c4"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.rel), func(t *testing.T) {
			p := corpus(t, c.rel)
			img := openT(t, p)
			if got := len(img.Files()); got != c.segments {
				t.Errorf("Files() has %d segments, want %d", got, c.segments)
			}
			compareImage(t, img, ewfRaw(t, p))
			res, err := Verify(context.Background(), img, nil)
			if err != nil {
				t.Fatal(err)
			}
			live := regexp.MustCompile(`MD5 hash calculated over data:\s+([0-9a-f]{32})`).FindStringSubmatch(run(t, "ewfverify", "-q", p))
			if live == nil {
				t.Fatal("ewfverify printed no MD5")
			}
			if res.Computed["md5"] != c.md5 || res.Computed["md5"] != live[1] || !res.OK() {
				t.Errorf("Verify md5 %s (stored %v, ok %v); ewfverify %s, ground truth %s", res.Computed["md5"], res.Stored, res.OK(), live[1], c.md5)
			}
		})
	}
}

// TestEWFAcquired covers the writers and layouts of libewf, incl. the D1
// fixtures (-f smart / -f ewf with 1 MiB segments and incompressible data)
// and a media size that is not a multiple of the chunk size.
func TestEWFAcquired(t *testing.T) {
	needTool(t, "ewfacquire")
	needTool(t, "ewfinfo")
	dir := t.TempDir()
	rawData := testRaw(8<<20 + 5*512)
	raw := writeFile(t, filepath.Join(dir, "src.raw"), rawData)
	sum := md5.Sum(rawData)
	cases := []struct {
		name, ext string
		args      []string
	}{
		{"smart", ".s01", []string{"-f", "smart", "-S", "1MiB"}},
		{"ewf", ".e01", []string{"-f", "ewf", "-S", "1MiB"}},
		{"encase6-best", ".E01", []string{"-c", "best", "-S", "1MiB"}},
		{"encase6-none", ".E01", []string{"-c", "none", "-S", "1MiB"}},
		{"encase6-empty-block", ".E01", []string{"-c", "empty-block"}},
		{"encase7-sha1", ".E01", []string{"-f", "encase7", "-d", "sha1", "-S", "1MiB"}},
		{"encase2", ".E01", []string{"-f", "encase2", "-S", "1MiB"}},
		{"ftk", ".E01", []string{"-f", "ftk", "-S", "1MiB"}},
		{"linen6", ".E01", []string{"-f", "linen6"}},
		{"ewfx", ".e01", []string{"-f", "ewfx"}},
		{"chunk64k", ".E01", []string{"-b", "128", "-S", "1MiB"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := filepath.Join(dir, c.name, "img")
			os.MkdirAll(filepath.Dir(target), 0o755)
			args := append([]string{"-u", "-q", "-C", "CASE-42", "-e", "Jane Doe", "-E", "EV-7", "-D", "desc", "-N", "notes", "-t", target}, c.args...)
			run(t, "ewfacquire", append(args, raw)...)
			p := target + c.ext
			img := openT(t, p)
			ref := ewfRaw(t, p)
			if string(ref) != string(rawData) {
				t.Fatal("ewfexport output differs from the acquired raw")
			}
			compareImage(t, img, ref)
			info := run(t, "ewfinfo", p)
			if h := img.Hashes(); h["md5"] != hex.EncodeToString(sum[:]) || !strings.Contains(info, h["md5"]) {
				t.Errorf("stored md5 %q; ewfinfo:\n%s", h["md5"], info)
			}
			if sha1, ok := img.Hashes()["sha1"]; ok && !strings.Contains(info, sha1) {
				t.Errorf("stored sha1 %s not in ewfinfo output", sha1)
			}
			if c.name == "encase7-sha1" && img.Hashes()["sha1"] == "" {
				t.Error("encase7 -d sha1: no stored sha1")
			}
			m := img.Metadata()
			for _, kv := range [][2]string{{"case_number", "Case number"}, {"examiner", "Examiner name"}, {"evidence_number", "Evidence number"}} {
				line := regexp.MustCompile(kv[1] + `:\s+(.*)`).FindStringSubmatch(info)
				if line == nil || m[kv[0]] != strings.TrimSpace(line[1]) {
					t.Errorf("metadata %s = %q, ewfinfo %q", kv[0], m[kv[0]], line)
				}
			}
			res, err := Verify(context.Background(), img, func(int64) {})
			if err != nil || !res.OK() || res.Bytes != int64(len(rawData)) {
				t.Errorf("Verify = %+v, %v", res, err)
			}
		})
	}
}

func TestVMDK(t *testing.T) {
	needTool(t, "qemu-img")
	t.Run("corpus-image.vmdk", func(t *testing.T) {
		p := corpus(t, "vmdk/image.vmdk")
		img := openT(t, p)
		if img.Format() != "vmdk-monolithicSparse" {
			t.Errorf("format %s", img.Format())
		}
		compareImage(t, img, qemuRaw(t, p))
	})
	dir := t.TempDir()
	raw := writeFile(t, filepath.Join(dir, "src.raw"), testRaw(9<<20+3*512))
	for _, sub := range []string{"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized"} {
		t.Run(sub, func(t *testing.T) {
			p := filepath.Join(dir, sub, "disk.vmdk")
			os.MkdirAll(filepath.Dir(p), 0o755)
			run(t, "qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat="+sub, raw, p)
			img := openT(t, p)
			if img.Format() != "vmdk-"+sub {
				t.Errorf("format %s", img.Format())
			}
			compareImage(t, img, qemuRaw(t, p))
			for _, f := range img.Files()[1:] {
				if fm, ok := Detect(f); !ok || fm != FormatVMDKExtent {
					t.Errorf("Detect(%s) = %s, %v; want %s", f, fm, ok, FormatVMDKExtent)
				}
			}
		})
	}
	t.Run("differencing-refused", func(t *testing.T) {
		base := filepath.Join(dir, "monolithicSparse", "disk.vmdk")
		child := filepath.Join(dir, "child.vmdk")
		run(t, "qemu-img", "create", "-q", "-f", "vmdk", "-b", base, "-F", "vmdk", child)
		if _, err := Open(child); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Open(differencing) = %v, want ErrUnsupported", err)
		}
	})
}

func unzipOne(t *testing.T, zipPath, dir string) string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f := zr.File[0]
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := filepath.Join(dir, filepath.Base(f.Name))
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := io.Copy(w, rc); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVHDX(t *testing.T) {
	needTool(t, "qemu-img")
	dir := t.TempDir()
	t.Run("corpus-test.vhdx", func(t *testing.T) {
		p := unzipOne(t, corpus(t, "vhdx/test.vhdx.zip"), dir)
		img := openT(t, p)
		ref := qemuRaw(t, p)
		if sum := md5.Sum(ref); hex.EncodeToString(sum[:]) != "29a6a0389eff11f35882abbbfa7b7cb5" {
			t.Errorf("qemu-img raw md5 %x differs from GROUND_TRUTH", sum)
		}
		compareImage(t, img, ref)
	})
	raw := writeFile(t, filepath.Join(dir, "src.raw"), testRaw(9<<20))
	for _, c := range []struct{ name, opts, format string }{
		{"dynamic-1M", "subformat=dynamic,block_size=1M", "vhdx-dynamic"},
		{"dynamic", "subformat=dynamic", "vhdx-dynamic"},
		{"fixed", "subformat=fixed", "vhdx-fixed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".vhdx")
			run(t, "qemu-img", "convert", "-f", "raw", "-O", "vhdx", "-o", c.opts, raw, p)
			img := openT(t, p)
			if img.Format() != c.format {
				t.Errorf("format %s, want %s", img.Format(), c.format)
			}
			compareImage(t, img, qemuRaw(t, p))
		})
	}
}

func TestRawAndSplit(t *testing.T) {
	t.Run("corpus-raw", func(t *testing.T) {
		p := corpus(t, "raw/tsk_volume_system.raw")
		img := openT(t, p)
		if img.Format() != "raw" {
			t.Errorf("format %s", img.Format())
		}
		compareImage(t, img, qemuRaw(t, p, "-f", "raw"))
	})
	data := testRaw(5<<20 + 777)
	for _, c := range []struct {
		name  string
		names []string
	}{
		{"numeric", []string{"disk.001", "disk.002", "disk.003", "disk.004", "disk.005", "disk.006"}},
		{"alpha", []string{"disk.aa", "disk.ab", "disk.ac", "disk.ad", "disk.ae", "disk.af"}},
		{"raw-r01", []string{"disk.raw", "disk.r01", "disk.r02", "disk.r03", "disk.r04", "disk.r05"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			const part = 999999 // odd part size, as split -b 999999
			for i, n := range c.names {
				writeFile(t, filepath.Join(dir, n), data[min(i*part, len(data)):min((i+1)*part, len(data))])
			}
			first := filepath.Join(dir, c.names[0])
			if f, ok := Detect(first); !ok || f != "split" {
				t.Errorf("Detect(first) = %s, %v", f, ok)
			}
			if f, ok := Detect(filepath.Join(dir, c.names[2])); !ok || f != FormatSplitSegment {
				t.Errorf("Detect(third part) = %s, %v", f, ok)
			}
			img := openT(t, first)
			if len(img.Files()) != len(c.names) || img.Format() != "split" {
				t.Errorf("Files %v format %s", img.Files(), img.Format())
			}
			compareImage(t, img, data)
		})
	}
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	text := writeFile(t, filepath.Join(dir, "notes.txt"), []byte(strings.Repeat("not a disk\n", 1000)))
	cases := []struct {
		path   string
		format string
		ok     bool
	}{
		{corpus(t, "ewf/test.ntfs.dd.E01"), "e01", true},
		{corpus(t, "ewf/rand.dd/rand.dd.E01"), "e01", true},
		{corpus(t, "ewf/rand.dd/rand.dd.E03"), FormatEWFSegment, true},
		{corpus(t, "vmdk/image.vmdk"), "vmdk", true},
		{corpus(t, "raw/tsk_volume_system.raw"), "raw", true},
		{corpus(t, "vhdx/test.vhdx.zip"), "", false},
		{text, "", false},
		{filepath.Join(dir, "missing.E01"), "", false},
	}
	for _, c := range cases {
		f, ok := Detect(c.path)
		if f != c.format || ok != c.ok {
			t.Errorf("Detect(%s) = %q, %v; want %q, %v", filepath.Base(c.path), f, ok, c.format, c.ok)
		}
	}
	if _, err := Open(text); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Open(text file) = %v, want ErrUnsupported", err)
	}
	if _, err := Open(corpus(t, "ewf/rand.dd/rand.dd.E02")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Open(second segment) = %v, want ErrUnsupported", err)
	}
}

func TestVHD(t *testing.T) {
	needTool(t, "qemu-img")
	dir := t.TempDir()
	raw := writeFile(t, filepath.Join(dir, "src.raw"), testRaw(9<<20+512))
	for _, sub := range []string{"dynamic", "fixed"} {
		t.Run(sub, func(t *testing.T) {
			p := filepath.Join(dir, sub+".vhd")
			// force_size keeps the exact size (creator "qem2"), which is
			// what both qemu and we then report.
			run(t, "qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat="+sub+",force_size=on", raw, p)
			if f, ok := Detect(p); !ok || f != "vhd" {
				t.Errorf("Detect = %s, %v", f, ok)
			}
			img := openT(t, p)
			if img.Format() != "vhd-"+sub {
				t.Errorf("format %s", img.Format())
			}
			compareImage(t, img, qemuRaw(t, p, "-f", "vpc"))
		})
	}
}
