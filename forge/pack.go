package forge

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// pack replaces each outDir/images/HOST/ folder by images/HOST.tar.bz2 (a
// ustar of the container files, no directories, owner 0, mtime the
// collection time) and writes images/SHA256SUMS of the unpacked files:
// the committed form of a demo case, which `foothold demo` unpacks. Go has
// no bzip2 writer, so bzip2(1) compresses.
func pack(outDir string, images map[string][]string, mtime time.Time) error {
	bz, err := exec.LookPath("bzip2")
	if err != nil {
		return fmt.Errorf("forge pack: %w", err)
	}
	hosts := make([]string, 0, len(images))
	for h := range images {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var sums strings.Builder
	for _, host := range hosts {
		files := append([]string(nil), images[host]...)
		sort.Strings(files)
		var ball bytes.Buffer
		tw := tar.NewWriter(&ball)
		for _, rel := range files {
			sum, err := addFile(tw, filepath.Join(outDir, filepath.FromSlash(rel)), mtime)
			if err != nil {
				return fmt.Errorf("forge pack %s: %w", host, err)
			}
			fmt.Fprintf(&sums, "%s  %s/%s\n", sum, host, filepath.Base(rel))
		}
		if err := tw.Close(); err != nil {
			return fmt.Errorf("forge pack %s: %w", host, err)
		}
		dst := filepath.Join(outDir, "images", host+".tar.bz2")
		out, err := os.Create(dst)
		if err != nil {
			return fmt.Errorf("forge pack: %w", err)
		}
		cmd := exec.Command(bz, "-9", "-c")
		cmd.Stdin, cmd.Stdout = &ball, out
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("forge pack %s: bzip2: %v %s", host, err, strings.TrimSpace(stderr.String()))
		}
		if err := os.RemoveAll(filepath.Join(outDir, "images", host)); err != nil {
			return fmt.Errorf("forge pack: %w", err)
		}
	}
	return os.WriteFile(filepath.Join(outDir, "images", "SHA256SUMS"), []byte(sums.String()), 0o644)
}

// addFile writes one regular file into tw under its base name and returns
// the sha256 of its bytes.
func addFile(tw *tar.Writer, path string, mtime time.Time) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: filepath.Base(path), Size: st.Size(), Mode: 0o644,
		ModTime: mtime.UTC().Truncate(time.Second), Format: tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
