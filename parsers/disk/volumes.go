package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"
)

// Volume is one partition (or the whole disk when it holds a bare file
// system) with the file system found on it.
type Volume struct {
	Index  int    // 1-based partition number (MBR: 1-4 primary, 5+ logical; GPT: entry number); 0 for a bare volume
	Scheme string // "mbr", "gpt", "none"
	Offset int64  // bytes from the start of the disk
	Size   int64
	Type   string // MBR type "0x07" or GPT type GUID
	Name   string // GPT partition name
	FS     string // "ntfs", "fat32", "exfat", "ext4", "bitlocker", "unknown", ...
	Skip   string // non-empty: why this volume is not parsed
}

const (
	maxLogical    = 1024 // EBR chain length
	maxGPTEntries = 16384
)

// Volumes lists the partitions of a disk and detects the file system on
// each. A disk whose first sector is a file system boot sector is one bare
// volume with Scheme "none".
func Volumes(r io.ReaderAt, size int64) (vols []Volume, err error) {
	defer func() {
		if p := recover(); p != nil {
			vols, err = nil, fmt.Errorf("volumes: internal error: %v", p)
		}
	}()
	if size < 512 {
		return nil, fmt.Errorf("volumes: disk of %d bytes is too small", size)
	}
	s0 := make([]byte, 512)
	if _, err := r.ReadAt(s0, 0); err != nil {
		return nil, fmt.Errorf("volumes: sector 0: %w", err)
	}
	// A boot sector also ends in 55 AA; look for a file system first, as
	// TSK does, so its boot code is not mistaken for partition entries.
	if fs, _ := detectFS(r, 0, size); fs != "unknown" || !validMBR(s0, size) {
		v := Volume{Scheme: "none", Size: size}
		v.FS, v.Skip = detectFS(r, 0, size)
		return []Volume{v}, nil
	}
	for i := 0; i < 4; i++ {
		if s0[446+i*16+4] == 0xee {
			if vols, err := gptVolumes(r, size); err == nil {
				return vols, nil
			} else if !errors.Is(err, errNoGPT) {
				return nil, err
			}
		}
	}
	return mbrVolumes(r, size, s0)
}

var errNoGPT = errors.New("no GPT header")

func validMBR(s0 []byte, size int64) bool {
	if s0[510] != 0x55 || s0[511] != 0xaa {
		return false
	}
	used := 0
	for i := 0; i < 4; i++ {
		e := s0[446+i*16:]
		if e[0] != 0 && e[0] != 0x80 {
			return false
		}
		if e[4] == 0 {
			continue
		}
		start, n := binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[12:])
		if start == 0 || n == 0 {
			if e[4] != 0xee {
				return false
			}
		}
		used++
	}
	return used > 0
}

func mbrVolumes(r io.ReaderAt, size int64, s0 []byte) ([]Volume, error) {
	var vols []Volume
	for i := 0; i < 4; i++ {
		e := s0[446+i*16:]
		typ := e[4]
		start := int64(binary.LittleEndian.Uint32(e[8:])) * 512
		length := int64(binary.LittleEndian.Uint32(e[12:])) * 512
		if typ == 0 || length == 0 {
			continue
		}
		v := Volume{Index: i + 1, Scheme: "mbr", Offset: start, Size: length, Type: fmt.Sprintf("0x%02x", typ)}
		if isExtended(typ) {
			v.Skip = "extended partition container"
			vols = append(vols, v)
			logical, err := ebrChain(r, size, start)
			if err != nil {
				return vols, err
			}
			for j := range logical {
				logical[j].Index = 5 + j
			}
			vols = append(vols, logical...)
			continue
		}
		vols = append(vols, finishVolume(r, size, v, typ))
	}
	sortVolumes(vols)
	return vols, nil
}

func isExtended(t byte) bool { return t == 0x05 || t == 0x0f || t == 0x85 }

func ebrChain(r io.ReaderAt, size, extStart int64) ([]Volume, error) {
	var vols []Volume
	seen := map[int64]bool{}
	ebr := extStart
	b := make([]byte, 512)
	for n := 0; n < maxLogical; n++ {
		if seen[ebr] || ebr+512 > size {
			break
		}
		seen[ebr] = true
		if _, err := r.ReadAt(b, ebr); err != nil {
			return vols, fmt.Errorf("volumes: extended boot record at offset %d: %w", ebr, err)
		}
		if b[510] != 0x55 || b[511] != 0xaa {
			break
		}
		e1, e2 := b[446:], b[462:]
		if t := e1[4]; t != 0 && !isExtended(t) {
			start := ebr + int64(binary.LittleEndian.Uint32(e1[8:]))*512
			length := int64(binary.LittleEndian.Uint32(e1[12:])) * 512
			if length > 0 {
				v := Volume{Scheme: "mbr", Offset: start, Size: length, Type: fmt.Sprintf("0x%02x", t)}
				vols = append(vols, finishVolume(r, size, v, t))
			}
		}
		if !isExtended(e2[4]) {
			break
		}
		ebr = extStart + int64(binary.LittleEndian.Uint32(e2[8:]))*512
	}
	return vols, nil
}

// finishVolume checks bounds and fills FS/Skip; the MBR type explains
// volumes whose content has no recognisable signature.
func finishVolume(r io.ReaderAt, size int64, v Volume, mbrType byte) Volume {
	if v.Offset >= size {
		v.FS, v.Skip = "unknown", fmt.Sprintf("partition starts at %d, beyond the end of the disk (%d bytes)", v.Offset, size)
		return v
	}
	v.FS, v.Skip = detectFS(r, v.Offset, min(v.Size, size-v.Offset))
	if v.FS == "unknown" {
		switch mbrType {
		case 0x82:
			v.FS, v.Skip = "swap", "not NTFS: Linux swap"
		case 0x8e:
			v.FS, v.Skip = "lvm", "not NTFS: Linux LVM"
		case 0xee:
			v.FS, v.Skip = "gpt", "GPT protective partition without a valid GPT"
		case 0x27:
			v.Skip = "not NTFS: Windows recovery partition (unrecognised content)"
		}
	}
	if v.Offset+v.Size > size && v.Skip == "" {
		v.Skip = fmt.Sprintf("partition ends at %d, beyond the end of the disk (%d bytes)", v.Offset+v.Size, size)
	}
	return v
}

func sortVolumes(v []Volume) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].Offset < v[j-1].Offset; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// gptVolumes tries logical sector sizes 512 and 4096, primary header then
// backup header.
func gptVolumes(r io.ReaderAt, size int64) ([]Volume, error) {
	var firstErr error
	for _, ss := range []int64{512, 4096} {
		for _, lba := range []int64{1, size/ss - 1} {
			vols, err := readGPT(r, size, ss, lba)
			if err == nil {
				return vols, nil
			}
			if firstErr == nil && !errors.Is(err, errNoGPT) {
				firstErr = err
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, errNoGPT
}

func readGPT(r io.ReaderAt, size, ss, lba int64) ([]Volume, error) {
	if lba < 1 || (lba+1)*ss > size {
		return nil, errNoGPT
	}
	h := make([]byte, ss)
	if _, err := r.ReadAt(h, lba*ss); err != nil {
		return nil, errNoGPT
	}
	if string(h[:8]) != "EFI PART" {
		return nil, errNoGPT
	}
	le := binary.LittleEndian
	hsize := int64(le.Uint32(h[12:]))
	if hsize < 92 || hsize > ss {
		return nil, fmt.Errorf("volumes: GPT header at LBA %d (sector size %d): header size %d", lba, ss, hsize)
	}
	stored := le.Uint32(h[16:])
	hc := append([]byte(nil), h[:hsize]...)
	clear(hc[16:20])
	if crc32.ChecksumIEEE(hc) != stored {
		return nil, fmt.Errorf("volumes: GPT header at LBA %d (sector size %d): CRC mismatch", lba, ss)
	}
	entLBA := int64(le.Uint64(h[72:]))
	count := int64(le.Uint32(h[80:]))
	esize := int64(le.Uint32(h[84:]))
	if esize < 128 || esize > 4096 || esize%8 != 0 || count > maxGPTEntries || entLBA < 0 || entLBA > size/ss {
		return nil, fmt.Errorf("volumes: GPT header at LBA %d: implausible entry table (%d entries of %d bytes at LBA %d)", lba, count, esize, entLBA)
	}
	tbl := make([]byte, count*esize)
	if _, err := r.ReadAt(tbl, entLBA*ss); err != nil {
		return nil, fmt.Errorf("volumes: GPT entries at offset %d: %w", entLBA*ss, err)
	}
	if crc32.ChecksumIEEE(tbl) != le.Uint32(h[88:]) {
		return nil, fmt.Errorf("volumes: GPT entries at offset %d: CRC mismatch", entLBA*ss)
	}
	var vols []Volume
	for i := int64(0); i < count; i++ {
		e := tbl[i*esize:]
		if bytes.Count(e[:16], []byte{0}) == 16 {
			continue
		}
		first, last := int64(le.Uint64(e[32:])), int64(le.Uint64(e[40:]))
		if first < 0 || last < first || first > size/ss {
			continue
		}
		v := Volume{Index: int(i + 1), Scheme: "gpt", Offset: first * ss, Size: (last - first + 1) * ss,
			Type: guidString(e[:16]), Name: utf16Name(e[56:128])}
		if desc, ok := gptSkipTypes[v.Type]; ok {
			v.FS, v.Skip = detectFS(r, v.Offset, min(v.Size, size-v.Offset))
			if v.FS == "unknown" {
				v.Skip = "not NTFS: " + desc
			}
		} else {
			v = finishVolume(r, size, v, 0)
		}
		vols = append(vols, v)
	}
	sortVolumes(vols)
	return vols, nil
}

var gptSkipTypes = map[string]string{
	"E3C9E316-0B5C-4DB8-817D-F92DF00215AE": "Microsoft reserved partition",
	"21686148-6449-6E6F-744E-656564454649": "BIOS boot partition",
}

func guidString(b []byte) string {
	le := binary.LittleEndian
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%x-%x", le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8:10], b[10:16]))
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := le16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
