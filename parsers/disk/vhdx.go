package disk

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	vhdxparser "github.com/Velocidex/go-vhdx/parser"
)

// VHDX through go-vhdx, clamped to the virtual size because the library
// zero-fills reads past the end (dependencies.md D5). Reads are guarded
// with recover: the library is not hardened against hostile input.

type vhdxImage struct {
	path   string
	file   *os.File
	v      *vhdxparser.VHDXFile
	size   int64
	format string
}

func openVHDX(path string) (img Image, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("vhdx %s: %w", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("vhdx %s: malformed image: %v", path, r)
		}
		if err != nil {
			f.Close()
		}
	}()
	// go-vhdx trusts the region table entry count; bound it ourselves
	// (region table 1 at 192 KiB: signature, checksum, entry count).
	var rt [12]byte
	if _, err := f.ReadAt(rt[:], 192<<10); err != nil {
		return nil, fmt.Errorf("vhdx %s: region table at offset %d: %w", path, 192<<10, err)
	}
	if n := binary.LittleEndian.Uint32(rt[8:]); n > 2047 {
		return nil, fmt.Errorf("vhdx %s: region table lists %d entries (max 2047)", path, n)
	}
	v, err := vhdxparser.NewVHDXFile(f)
	if err != nil {
		return nil, fmt.Errorf("vhdx %s: %w", path, err)
	}
	md := v.Metadata
	if md.HasParent {
		return nil, fmt.Errorf("vhdx %s: differencing disk (has a parent): %w", path, ErrUnsupported)
	}
	if md.VirtualDiskSize > 1<<50 || md.BlockSize > 256<<20 || md.LogicalSectorSize > 4096 {
		return nil, fmt.Errorf("vhdx %s: implausible metadata (virtual size %d, block size %d, sector size %d)", path, md.VirtualDiskSize, md.BlockSize, md.LogicalSectorSize)
	}
	format := "vhdx-dynamic"
	if fixedVHDX(f) {
		format = "vhdx-fixed"
	}
	return &vhdxImage{path: path, file: f, v: v, size: int64(md.VirtualDiskSize), format: format}, nil
}

// fixedVHDX reads the LeaveBlocksAllocated flag of the file parameters
// metadata item, which is what makes a VHDX "fixed" (go-vhdx ignores it).
func fixedVHDX(f io.ReaderAt) bool {
	var rt [16 + 32*64]byte
	n, _ := f.ReadAt(rt[:], 192<<10)
	le := binary.LittleEndian
	if n < 16 || string(rt[:4]) != "regi" {
		return false
	}
	var mdOff int64 = -1
	for i := 0; i < int(le.Uint32(rt[8:])) && 16+32*(i+1) <= n; i++ {
		e := rt[16+32*i:]
		if guidString(e[:16]) == "8B7CA206-4790-4B9A-B8FE-575F050F886E" {
			mdOff = int64(le.Uint64(e[16:]))
		}
	}
	if mdOff < 0 {
		return false
	}
	var mt [32 + 32*64]byte
	n, _ = f.ReadAt(mt[:], mdOff)
	if n < 32 || string(mt[:8]) != "metadata" {
		return false
	}
	for i := 0; i < int(le.Uint16(mt[10:])) && 32+32*(i+1) <= n; i++ {
		e := mt[32+32*i:]
		if guidString(e[:16]) == "CAA16737-FA36-4D43-B3B6-33F0AA44E76B" {
			var fp [8]byte
			if _, err := f.ReadAt(fp[:], mdOff+int64(le.Uint32(e[16:]))); err != nil {
				return false
			}
			return le.Uint32(fp[4:])&1 != 0
		}
	}
	return false
}

func (img *vhdxImage) Size() int64                 { return img.size }
func (img *vhdxImage) Format() string              { return img.format }
func (img *vhdxImage) Files() []string             { return []string{img.path} }
func (img *vhdxImage) Hashes() map[string]string   { return nil }
func (img *vhdxImage) Metadata() map[string]string { return nil }
func (img *vhdxImage) Close() error                { return img.file.Close() }

func (img *vhdxImage) ReadAt(p []byte, off int64) (int, error) {
	return readAtBounded(p, off, img.size, func(p []byte, off int64) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("vhdx %s at offset %d: malformed image: %v", img.path, off, r)
			}
		}()
		n, err := img.v.ReadAt(p, off)
		if err == nil && n < len(p) {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("vhdx %s at offset %d: %w", img.path, off, err)
		}
		return nil
	})
}
