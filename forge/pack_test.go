package forge

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPack: the packed form holds each host's files under their base names
// with the exact bytes, SHA256SUMS lists them, and the folders are gone.
func TestPack(t *testing.T) {
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 not installed")
	}
	out := t.TempDir()
	content := map[string][]byte{
		"images/HOSTA/HOSTA.E01": bytes.Repeat([]byte("evf"), 5000),
		"images/HOSTA/HOSTA.E02": []byte("second segment"),
		"images/HOSTB/HOSTB.raw": make([]byte, 1<<20),
	}
	images := map[string][]string{}
	for rel, b := range content {
		p := filepath.Join(out, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		host := filepath.Base(filepath.Dir(p))
		images[host] = append(images[host], rel)
	}
	when := time.Date(2023, 3, 16, 0, 0, 0, 0, time.UTC)
	if err := pack(out, images, when); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"HOSTA", "HOSTB"} {
		if _, err := os.Stat(filepath.Join(out, "images", host)); !os.IsNotExist(err) {
			t.Errorf("%s folder left behind: %v", host, err)
		}
		f, err := os.Open(filepath.Join(out, "images", host+".tar.bz2"))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(bzip2.NewReader(f))
		n := 0
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			want := content["images/"+host+"/"+h.Name]
			if !bytes.Equal(b, want) || h.Typeflag != tar.TypeReg || !h.ModTime.Equal(when) {
				t.Errorf("%s: %s: %d bytes (want %d), type %c, mtime %s", host, h.Name, len(b), len(want), h.Typeflag, h.ModTime)
			}
			n++
		}
		f.Close()
		if n != len(images[host]) {
			t.Errorf("%s: %d files in the archive, want %d", host, n, len(images[host]))
		}
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	want := sum(content["images/HOSTA/HOSTA.E01"]) + "  HOSTA/HOSTA.E01\n" +
		sum(content["images/HOSTA/HOSTA.E02"]) + "  HOSTA/HOSTA.E02\n" +
		sum(content["images/HOSTB/HOSTB.raw"]) + "  HOSTB/HOSTB.raw\n"
	got, err := os.ReadFile(filepath.Join(out, "images", "SHA256SUMS"))
	if err != nil || string(got) != want {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", got, want)
	}
	// sha256sum -c is the independent check of the list.
	if _, err := exec.LookPath("sha256sum"); err == nil {
		dir := t.TempDir()
		for rel, b := range content {
			p := filepath.Join(dir, filepath.Base(filepath.Dir(rel)), filepath.Base(rel))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, b, 0o644)
		}
		cmd := exec.Command("sha256sum", "-c", filepath.Join(out, "images", "SHA256SUMS"))
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, b)
		}
	}
}
