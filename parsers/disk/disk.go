// Package disk opens evidence containers (raw, split raw, EWF, VMDK, VHDX)
// as plain byte-addressable disks and finds the volumes on them.
//
// Every container is exposed as a bounded io.ReaderAt whose bytes equal a
// raw export of the same evidence (qemu-img convert -O raw, ewfexport).
// Readers never return a silently zero-filled page: a chunk that fails to
// inflate or whose checksum is wrong is an error naming the file and offset.
package disk

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Image is an opened evidence container seen as one virtual disk.
type Image interface {
	io.ReaderAt
	Size() int64
	// Format names the container layout: "raw", "split", "e01", "s01",
	// "vmdk-monolithicSparse", "vmdk-streamOptimized", "vhdx-dynamic", ...
	Format() string
	// Files lists every file that makes up the image (segments, extents,
	// descriptor), first file first.
	Files() []string
	// Hashes returns the acquisition hashes stored in the container
	// (lower-case hex keyed "md5", "sha1"); nil if there are none.
	Hashes() map[string]string
	// Metadata returns container header fields (EWF case number,
	// examiner, acquisition date, ...); may be nil.
	Metadata() map[string]string
	Close() error
}

// ErrUnsupported is wrapped by Open for recognised but unsupported
// containers (differencing disks, EWF2, continuation segments ...).
var ErrUnsupported = errors.New("unsupported image")

// Format names returned by Detect for files that belong to an image but are
// not its first file; the ingest walk should skip them because the image is
// opened through its first file.
const (
	FormatEWFSegment   = "e01-segment"
	FormatSplitSegment = "split-segment"
	FormatVMDKExtent   = "vmdk-extent"
)

var (
	magicEVF  = []byte("EVF\x09\x0d\x0a\xff\x00")
	magicLVF  = []byte("LVF\x09\x0d\x0a\xff\x00")
	magicEVF2 = []byte("EVF2\r\n\x81\x00")
	magicLEF2 = []byte("LEF2\r\n\x81\x00")
	magicKDMV = []byte("KDMV")
	magicVHDX = []byte("vhdxfile")
	magicVHD  = []byte("conectix")
	magicQCOW = []byte("QFI\xfb")
)

// Detect cheaply decides whether path is a disk image container (or a raw
// disk). Continuation files (second EWF segment, .002 split part, VMDK
// extent) are reported with the *-segment / vmdk-extent formats.
func Detect(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	format, ok := sniff(path, head, st.Size(), f)
	return format, ok
}

func sniff(path string, head []byte, size int64, r io.ReaderAt) (string, bool) {
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case hasPrefix(head, magicEVF):
		if len(head) >= 11 && int(head[9])|int(head[10])<<8 != 1 {
			return FormatEWFSegment, true
		}
		if strings.HasPrefix(ext, ".s") {
			return "s01", true
		}
		return "e01", true
	case hasPrefix(head, magicLVF), hasPrefix(head, magicEVF2), hasPrefix(head, magicLEF2):
		return "", false // logical evidence / EWF2: not a disk we can open
	case hasPrefix(head, magicKDMV):
		if isVMDKExtentName(path) {
			return FormatVMDKExtent, true
		}
		return "vmdk", true
	case hasPrefix(head, []byte("# Disk DescriptorFile")):
		return "vmdk", true
	case hasPrefix(head, magicVHDX):
		return "vhdx", true
	case hasPrefix(head, magicVHD):
		return "vhd", true
	case hasPrefix(head, magicQCOW):
		return "", false
	}
	if isVMDKExtentName(path) {
		return FormatVMDKExtent, true
	}
	if size >= 512 && size%512 == 0 {
		var foot [8]byte
		if _, err := r.ReadAt(foot[:], size-512); err == nil && string(foot[:]) == string(magicVHD) {
			return "vhd", true
		}
	}
	if isFirstSplit(path) {
		return "split", true
	}
	if isSplitContinuation(path) {
		return FormatSplitSegment, true
	}
	switch ext {
	case ".dd", ".raw", ".img", ".ima", ".vfd", ".dsk":
		if size > 0 {
			return "raw", true
		}
	}
	// Unknown extension: accept only content that plainly is a disk or a volume.
	if size >= 4096 && size%512 == 0 && len(head) >= 512 && looksLikeDisk(head) {
		return "raw", true
	}
	return "", false
}

func hasPrefix(b, p []byte) bool { return len(b) >= len(p) && string(b[:len(p)]) == string(p) }

// Open opens the evidence at path read-only, detecting the container by its
// magic first and its file name second.
func Open(path string) (img Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("open %s: internal error: %v", path, r)
		}
	}()
	format, ok := Detect(path)
	if !ok {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		return nil, fmt.Errorf("open %s: not a recognised disk image: %w", path, ErrUnsupported)
	}
	switch format {
	case "e01", "s01":
		return openEWF(path)
	case FormatEWFSegment:
		return nil, fmt.Errorf("open %s: EWF segment other than the first: %w", path, ErrUnsupported)
	case FormatSplitSegment:
		return nil, fmt.Errorf("open %s: split raw part other than the first: %w", path, ErrUnsupported)
	case FormatVMDKExtent:
		return nil, fmt.Errorf("open %s: VMDK extent file; open the descriptor instead: %w", path, ErrUnsupported)
	case "vmdk":
		return openVMDK(path)
	case "vhdx":
		return openVHDX(path)
	case "vhd":
		return openVHD(path)
	case "split":
		return openSplit(path)
	default:
		return openRaw(path)
	}
}

// readAtBounded implements the io.ReaderAt end-of-image contract on top of
// fill, which only ever sees in-range requests.
func readAtBounded(p []byte, off, size int64, fill func(p []byte, off int64) error) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	if off >= size {
		return 0, io.EOF
	}
	want := p
	if rem := size - off; int64(len(want)) > rem {
		want = want[:rem]
	}
	if err := fill(want, off); err != nil {
		return 0, err
	}
	if len(want) < len(p) {
		return len(want), io.EOF
	}
	return len(p), nil
}

// VerifyResult compares the hashes computed over the whole media with the
// hashes stored at acquisition.
type VerifyResult struct {
	Bytes    int64             // bytes hashed (the media size)
	Computed map[string]string // "md5", "sha1"
	Stored   map[string]string // as Image.Hashes()
	Compared []string          // algorithms present in both
	Mismatch []string          // algorithms whose values differ
}

// OK reports whether at least one stored hash was compared and all matched.
func (r VerifyResult) OK() bool { return len(r.Compared) > 0 && len(r.Mismatch) == 0 }

// Verify hashes every byte of img with MD5 and SHA-1 and compares the result
// with the hashes stored in the container. Read errors (bad chunk checksum,
// truncated segment) are returned as errors with their offset.
func Verify(ctx context.Context, img Image, progress func(done int64)) (VerifyResult, error) {
	hs := map[string]hash.Hash{"md5": md5.New(), "sha1": sha1.New()}
	w := io.MultiWriter(hs["md5"], hs["sha1"])
	buf := make([]byte, 1<<20)
	size := img.Size()
	var done int64
	for done < size {
		if err := ctx.Err(); err != nil {
			return VerifyResult{}, err
		}
		n := int64(len(buf))
		if size-done < n {
			n = size - done
		}
		m, err := img.ReadAt(buf[:n], done)
		if int64(m) != n {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return VerifyResult{}, fmt.Errorf("verify at offset %d: %w", done+int64(m), err)
		}
		w.Write(buf[:n])
		done += n
		if progress != nil {
			progress(done)
		}
	}
	res := VerifyResult{Bytes: done, Computed: map[string]string{}, Stored: img.Hashes()}
	for name, h := range hs {
		res.Computed[name] = hex.EncodeToString(h.Sum(nil))
	}
	for _, name := range []string{"md5", "sha1"} {
		stored, ok := res.Stored[name]
		if !ok {
			continue
		}
		res.Compared = append(res.Compared, name)
		if !strings.EqualFold(stored, res.Computed[name]) {
			res.Mismatch = append(res.Mismatch, name)
		}
	}
	return res, nil
}
