package lnk

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// ShellItem is one item of an IDList, decoded as far as the target path
// needs: root folders, volumes, file entries and network locations.
type ShellItem struct {
	Class byte
	Kind  string // root, volume, file, directory, network, other
	// Name is the volume name (C:\), the long name of a file entry (its
	// 8.3 name when there is no extension block), or a network location.
	Name      string
	ShortName string // primary name of a file entry
	GUID      string // root folder
	// MFT reference from the file entry extension block; 0 if absent.
	MFTEntry uint64
	MFTSeq   uint16
}

var folderNames = map[string]string{
	"20d04fe0-3aea-1069-a2d8-08002b30309d": "My Computer",
	"208d2c60-3aea-1069-a2d7-08002b30309d": "My Network Places",
	"450d8fba-ad25-11d0-98a8-0800361b1103": "My Documents",
	"59031a47-3f72-44a7-89c5-5595fe6b30ee": "Users",
	"645ff040-5081-101b-9f08-00aa002f954e": "Recycle Bin",
	"21ec2020-3aea-1069-a2dd-08002b30309d": "Control Panel",
	"f02c1a0d-be21-4350-88b0-7367fc96ef3c": "Network",
}

func parseIDList(b []byte, l *Link) []ShellItem {
	var items []ShellItem
	for off := 0; off+2 <= len(b); {
		n := int(binary.LittleEndian.Uint16(b[off:]))
		if n == 0 {
			return items
		}
		if n < 3 || off+n > len(b) {
			l.warn("shell item %d: size %d out of range", len(items)+1, n)
			return items
		}
		if len(items) == maxItems {
			l.warn("IDList: more than %d shell items", maxItems)
			return items
		}
		items = append(items, parseItem(b[off:off+n]))
		off += n
	}
	return items
}

func parseItem(it []byte) ShellItem {
	s := ShellItem{Class: it[2], Kind: "other"}
	switch {
	case s.Class == 0x1F && len(it) >= 20:
		s.Kind = "root"
		s.GUID = FormatGUID(it[4:20])
		s.Name = folderNames[s.GUID]
	case s.Class&0x70 == 0x20 && s.Class != 0x2E && len(it) > 3:
		s.Kind = "volume"
		s.Name = ansiz(it, 3)
	case s.Class&0x70 == 0x30 && len(it) > 14:
		s.Kind = "file"
		if s.Class&0x01 != 0 {
			s.Kind = "directory"
		}
		if s.Class&0x04 != 0 {
			s.ShortName = utf16z(it, 14)
		} else {
			s.ShortName = ansiz(it, 14)
		}
		s.Name = s.ShortName
		if long, entry, seq, ok := beef0004(it); ok {
			if long != "" {
				s.Name = long
			}
			s.MFTEntry, s.MFTSeq = entry, seq
		}
	case s.Class&0x70 == 0x40 && len(it) > 5:
		s.Kind = "network"
		s.Name = ansiz(it, 5)
	}
	return s
}

// beef0004 finds the file entry extension block and returns its long
// name and NTFS file reference. The long name's position depends on the
// block version ([MS-SHLLINK] leaves shell items to libfwsi's notes).
func beef0004(it []byte) (long string, entry uint64, seq uint16, ok bool) {
	i := bytes.Index(it, []byte{0x04, 0x00, 0xEF, 0xBE})
	if i < 4 {
		return "", 0, 0, false
	}
	blk := it[i-4:]
	le := binary.LittleEndian
	size := int(le.Uint16(blk))
	if size < 18 || size > len(blk) {
		return "", 0, 0, false
	}
	blk = blk[:size]
	version := le.Uint16(blk[2:])
	off := 18
	if version >= 7 {
		if len(blk) >= 28 {
			ref := le.Uint64(blk[20:])
			entry, seq = ref&0xFFFFFFFFFFFF, uint16(ref>>48)
		}
		off += 2 + 8 + 8
	}
	if version >= 3 {
		off += 2
	}
	if version >= 9 {
		off += 4
	}
	if version >= 8 {
		off += 4
	}
	return utf16z(blk, off), entry, seq, true
}

// idListPath joins the items into a path: a volume or network share
// followed by file entry names.
func idListPath(items []ShellItem) string {
	var p strings.Builder
	for _, it := range items {
		switch it.Kind {
		case "volume":
			p.Reset()
			p.WriteString(it.Name)
		case "network":
			if strings.HasPrefix(it.Name, `\\`) {
				p.Reset()
				p.WriteString(it.Name)
			}
		case "file", "directory":
			if p.Len() == 0 {
				continue
			}
			if !strings.HasSuffix(p.String(), `\`) {
				p.WriteByte('\\')
			}
			p.WriteString(it.Name)
		}
	}
	return p.String()
}
