package disk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
)

// VHD (Virtual PC / "vpc") fixed and dynamic disks. The size is the footer's
// current size, as Windows and qemu (for non-Virtual-PC creators) use it.
// Like qemu we serve allocated blocks without consulting the sector bitmap.

const vhdMaxBlock = 64 << 20

type vhdImage struct {
	path      string
	file      *os.File
	size      int64
	format    string
	blockSize int64
	bat       []uint32 // sector offsets, 0xFFFFFFFF = unallocated
	bitmap    int64    // bytes of sector bitmap before each block's data
}

func openVHD(path string) (Image, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("vhd %s: %w", path, err)
	}
	img, err := readVHD(path, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("vhd %s: %w", path, err)
	}
	return img, nil
}

func readVHD(path string, f *os.File) (*vhdImage, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < 512 {
		return nil, fmt.Errorf("file of %d bytes is too small", st.Size())
	}
	var foot [512]byte
	if _, err := f.ReadAt(foot[:], st.Size()-512); err != nil || !bytes.Equal(foot[:8], magicVHD) {
		// A dynamic disk keeps a copy of the footer at offset 0.
		if _, err := f.ReadAt(foot[:], 0); err != nil || !bytes.Equal(foot[:8], magicVHD) {
			return nil, fmt.Errorf("no footer with the conectix cookie")
		}
	}
	be := binary.BigEndian
	img := &vhdImage{path: path, file: f, size: int64(be.Uint64(foot[48:]))}
	if img.size < 0 || img.size > 1<<50 {
		return nil, fmt.Errorf("implausible disk size %d", img.size)
	}
	switch typ := be.Uint32(foot[60:]); typ {
	case 2:
		img.format = "vhd-fixed"
		if img.size > st.Size()-512 {
			return nil, fmt.Errorf("fixed disk of %d bytes in a file of %d bytes: truncated", img.size, st.Size())
		}
		return img, nil
	case 3:
		img.format = "vhd-dynamic"
	case 4:
		return nil, fmt.Errorf("differencing disk: %w", ErrUnsupported)
	default:
		return nil, fmt.Errorf("disk type %d: %w", typ, ErrUnsupported)
	}
	var dh [1024]byte
	dhOff := int64(be.Uint64(foot[16:]))
	if dhOff < 0 || dhOff > st.Size()-1024 {
		return nil, fmt.Errorf("dynamic header offset %d outside the file", dhOff)
	}
	if _, err := f.ReadAt(dh[:], dhOff); err != nil || string(dh[:8]) != "cxsparse" {
		return nil, fmt.Errorf("no dynamic header at offset %d", dhOff)
	}
	batOff := int64(be.Uint64(dh[16:]))
	entries := int64(be.Uint32(dh[28:]))
	img.blockSize = int64(be.Uint32(dh[32:]))
	if img.blockSize < 512 || img.blockSize > vhdMaxBlock || img.blockSize%512 != 0 {
		return nil, fmt.Errorf("implausible block size %d", img.blockSize)
	}
	if need := (img.size + img.blockSize - 1) / img.blockSize; entries < need || entries*4 > st.Size() || batOff < 0 || batOff > st.Size() {
		return nil, fmt.Errorf("block table of %d entries at offset %d does not cover %d bytes", entries, batOff, img.size)
	}
	raw := make([]byte, entries*4)
	if _, err := f.ReadAt(raw, batOff); err != nil {
		return nil, fmt.Errorf("block table at offset %d: %w", batOff, err)
	}
	img.bat = make([]uint32, entries)
	for i := range img.bat {
		img.bat[i] = be.Uint32(raw[i*4:])
	}
	img.bitmap = ((img.blockSize/512+7)/8 + 511) / 512 * 512
	return img, nil
}

func (img *vhdImage) Size() int64                 { return img.size }
func (img *vhdImage) Format() string              { return img.format }
func (img *vhdImage) Files() []string             { return []string{img.path} }
func (img *vhdImage) Hashes() map[string]string   { return nil }
func (img *vhdImage) Metadata() map[string]string { return nil }
func (img *vhdImage) Close() error                { return img.file.Close() }

func (img *vhdImage) ReadAt(p []byte, off int64) (int, error) {
	return readAtBounded(p, off, img.size, func(p []byte, off int64) error {
		if img.bat == nil {
			if _, err := img.file.ReadAt(p, off); err != nil {
				return fmt.Errorf("vhd %s at offset %d: %w", img.path, off, err)
			}
			return nil
		}
		for len(p) > 0 {
			b, in := off/img.blockSize, off%img.blockSize
			n := min(int64(len(p)), img.blockSize-in)
			if s := img.bat[b]; s == 0xffffffff {
				clear(p[:n])
			} else {
				fo := int64(s)*512 + img.bitmap + in
				if _, err := img.file.ReadAt(p[:n], fo); err != nil {
					return fmt.Errorf("vhd %s block %d at file offset %d: %w", img.path, b, fo, err)
				}
			}
			p, off = p[n:], off+n
		}
		return nil
	})
}
