package disk

import (
	"bytes"
	"encoding/binary"
	"io"
)

// fsProbeBytes covers every signature we look for (btrfs sits at 64 KiB).
const fsProbeBytes = 72 << 10

// detectFS identifies the file system of the volume at off. Only NTFS is
// usable; every other result carries the reason it is skipped.
func detectFS(r io.ReaderAt, off, size int64) (fs, skip string) {
	n := min(int64(fsProbeBytes), size)
	if n < 512 {
		return "unknown", "volume too small to hold a file system"
	}
	b := make([]byte, n)
	m, err := r.ReadAt(b, off)
	if m < 512 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return "unknown", "cannot read boot sector: " + err.Error()
	}
	b = b[:m]
	at := func(o int, sig string) bool { return len(b) >= o+len(sig) && string(b[o:o+len(sig)]) == sig }
	le := binary.LittleEndian
	switch {
	case at(3, "NTFS    "):
		if ntfsBPBSane(b) {
			return "ntfs", ""
		}
		return "ntfs", "NTFS boot sector with an invalid BPB"
	case at(3, "-FVE-FS-"):
		return "bitlocker", "not NTFS: BitLocker-encrypted volume"
	case at(3, "EXFAT   "):
		return "exfat", "not NTFS: exFAT"
	case at(3, "ReFS\x00\x00\x00\x00"):
		return "refs", "not NTFS: ReFS"
	case at(0, "XFSB"):
		return "xfs", "not NTFS: XFS"
	case at(0, "LUKS\xba\xbe"):
		return "luks", "not NTFS: LUKS-encrypted volume"
	case at(32, "NXSB"):
		return "apfs", "not NTFS: APFS"
	case at(512, "LABELONE") && at(536, "LVM2 001"):
		return "lvm", "not NTFS: Linux LVM physical volume"
	case len(b) >= 1082 && le.Uint16(b[1080:]) == 0xef53:
		compat, incompat := le.Uint32(b[1024+92:]), le.Uint32(b[1024+96:])
		switch {
		case incompat&(0x40|0x80|0x200) != 0:
			return "ext4", "not NTFS: ext4"
		case compat&0x4 != 0:
			return "ext3", "not NTFS: ext3"
		}
		return "ext2", "not NTFS: ext2"
	case at(4086, "SWAPSPACE2"), at(4086, "SWAP-SPACE"):
		return "swap", "not NTFS: Linux swap"
	case at(65600, "_BHRfS_M"):
		return "btrfs", "not NTFS: Btrfs"
	case at(1024, "H+"), at(1024, "HX"):
		return "hfsplus", "not NTFS: HFS+"
	case at(32769, "CD001"):
		return "iso9660", "not NTFS: ISO 9660"
	}
	if b[510] == 0x55 && b[511] == 0xaa && fatBPBSane(b) {
		switch {
		case at(82, "FAT32   "):
			return "fat32", "not NTFS: FAT32"
		case at(54, "FAT12   "):
			return "fat12", "not NTFS: FAT12"
		case at(54, "FAT16   "), at(54, "FAT     "):
			return "fat16", "not NTFS: FAT16"
		case le.Uint16(b[22:]) == 0: // no 16-bit FAT size: FAT32 layout
			return "fat32", "not NTFS: FAT32"
		}
		return "fat", "not NTFS: FAT"
	}
	return "unknown", "not NTFS: unrecognised file system"
}

func powerOfTwo(v int) bool { return v > 0 && v&(v-1) == 0 }

func ntfsBPBSane(b []byte) bool {
	le := binary.LittleEndian
	bps := int(le.Uint16(b[11:]))
	spc := int(b[13])
	if !powerOfTwo(bps) || bps < 256 || bps > 4096 {
		return false
	}
	if !(powerOfTwo(spc) && spc <= 128) && !(spc >= 0xf4) { // 0xF4..0xFF: 2^(256-v)
		return false
	}
	total := le.Uint64(b[40:])
	mft := le.Uint64(b[48:])
	return total > 0 && mft > 0 && total < 1<<48
}

func fatBPBSane(b []byte) bool {
	le := binary.LittleEndian
	bps := int(le.Uint16(b[11:]))
	return powerOfTwo(bps) && bps >= 512 && bps <= 4096 &&
		powerOfTwo(int(b[13])) && le.Uint16(b[14:]) >= 1 && b[16] >= 1 && b[16] <= 4
}

// looksLikeDisk reports whether the first sectors of a file of unknown
// type plainly hold a partition table or a file system we would parse.
// LooksLikeDisk reports whether head, a file's first bytes, starts like a
// disk (an MBR or GPT) or an NTFS volume.
func LooksLikeDisk(head []byte) bool { return looksLikeDisk(head) }

func looksLikeDisk(head []byte) bool {
	if len(head) < 512 {
		return false
	}
	if len(head) >= 520 && string(head[512:520]) == "EFI PART" {
		return true
	}
	if fs, _ := detectFS(bytes.NewReader(head), 0, int64(len(head))); fs == "ntfs" {
		return ntfsBPBSane(head)
	}
	return validMBR(head, 1<<62)
}
