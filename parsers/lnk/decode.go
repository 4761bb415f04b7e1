// Package lnk reads Windows shell link (.lnk) files as [MS-SHLLINK]
// describes them: header times, size and attributes, the LinkTargetIDList
// shell items, LinkInfo (volume or network share), StringData and the
// ExtraData blocks, and turns each link into timeline events about its
// target.
//
// The decoder is our own: parsiya/golnk swaps the modification and access
// times (D19). Decode is exported so the jump list parser reads the LNK
// streams of a jump list with the same code.
package lnk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// Link is one decoded shell link.
type Link struct {
	Flags      uint32
	Attributes uint32
	// Target times as the header stores them. Zero means not set.
	Created, Accessed, Modified event.FileTime
	Size                        uint32
	IconIndex                   int32
	ShowCommand                 uint32
	HotKey                      uint16

	// Items of the LinkTargetIDList, in order.
	Items []ShellItem

	// LinkInfo. HasVolume says a VolumeID was present.
	HasLinkInfo      bool
	HasVolume        bool
	DriveType        uint32
	VolumeSerial     uint32
	VolumeLabel      string
	LocalBasePath    string
	CommonPathSuffix string
	NetName          string // \\host\share
	DeviceName       string // mapped drive letter, "Z:"
	NetProvider      uint32

	// StringData.
	Name, RelativePath, WorkingDir, Arguments, IconLocation string

	// ExtraData.
	EnvTarget     string // environment variables block: unexpanded target
	IconEnv       string // icon environment block
	Darwin        string // Darwin (MSI) descriptor
	KnownFolder   string // known folder GUID
	SpecialFolder uint32 // CSIDL of the special folder block, 0 if none
	Tracker       *Tracker
	Blocks        []uint32 // signatures of the extra data blocks, in order

	// Length is the number of bytes the link occupies, up to and including
	// its terminal block (or as far as it could be read).
	Length int
	// Warnings lists damage that did not stop decoding.
	Warnings []string
}

// Tracker is the distributed link tracking block.
type Tracker struct {
	MachineID                        string
	VolumeDroid, FileDroid           string
	BirthVolumeDroid, BirthFileDroid string
	// MAC is the node of the file droid when it is a version 1 GUID.
	MAC string
}

// Link flags ([MS-SHLLINK] 2.1.1).
const (
	FlagHasIDList       = 1 << 0
	FlagHasLinkInfo     = 1 << 1
	FlagHasName         = 1 << 2
	FlagHasRelativePath = 1 << 3
	FlagHasWorkingDir   = 1 << 4
	FlagHasArguments    = 1 << 5
	FlagHasIconLocation = 1 << 6
	FlagIsUnicode       = 1 << 7
	FlagForceNoLinkInfo = 1 << 8
)

// Extra data block signatures.
const (
	blockEnvironment  = 0xA0000001
	blockTracker      = 0xA0000003
	blockSpecial      = 0xA0000005
	blockDarwin       = 0xA0000006
	blockIconEnv      = 0xA0000007
	blockPropertyStor = 0xA0000009
	blockKnownFolder  = 0xA000000B
)

const (
	headerSize = 0x4C
	// maxLinkSize bounds what Decode looks at: real links are a few KiB,
	// property stores can add tens of KiB.
	maxLinkSize = 4 << 20
	maxItems    = 512
	maxBlocks   = 256
)

var linkCLSID = [16]byte{0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}

// ErrSignature is returned for data that is not a shell link.
var ErrSignature = errors.New("not a shell link (bad header size or CLSID)")

// IsLNK reports whether head starts like a shell link.
func IsLNK(head []byte) bool {
	return len(head) >= 20 && binary.LittleEndian.Uint32(head) == headerSize && string(head[4:20]) == string(linkCLSID[:])
}

// Decode decodes the shell link at the start of b. Damage after the header
// is recorded in Warnings and what was read before it is kept; an error is
// returned only when b is not a shell link at all.
func Decode(b []byte) (l *Link, err error) {
	if len(b) > maxLinkSize {
		b = b[:maxLinkSize]
	}
	if len(b) < headerSize {
		return nil, fmt.Errorf("lnk header: %d bytes, need %d", len(b), headerSize)
	}
	if !IsLNK(b) {
		return nil, ErrSignature
	}
	le := binary.LittleEndian
	l = &Link{
		Flags:       le.Uint32(b[20:]),
		Attributes:  le.Uint32(b[24:]),
		Created:     event.FileTime(le.Uint64(b[28:])),
		Accessed:    event.FileTime(le.Uint64(b[36:])),
		Modified:    event.FileTime(le.Uint64(b[44:])),
		Size:        le.Uint32(b[52:]),
		IconIndex:   int32(le.Uint32(b[56:])),
		ShowCommand: le.Uint32(b[60:]),
		HotKey:      le.Uint16(b[64:]),
		Length:      headerSize,
	}
	defer func() {
		// The readers below check bounds; this is the guard for what they
		// missed, so a hostile link costs a warning, not the ingest.
		if r := recover(); r != nil {
			l.Warnings = append(l.Warnings, fmt.Sprintf("decoder panic: %v", r))
			err = nil
		}
	}()
	off := headerSize
	if l.Flags&FlagHasIDList != 0 {
		if off+2 > len(b) {
			l.warn("IDList at %d: truncated", off)
			return l, nil
		}
		n := int(le.Uint16(b[off:]))
		end := off + 2 + n
		if end > len(b) {
			l.warn("IDList at %d: size %d beyond end of data", off, n)
			end = len(b)
		}
		l.Items = parseIDList(b[off+2:end], l)
		off = end
		l.Length = off
	}
	if l.Flags&FlagHasLinkInfo != 0 {
		if off+4 > len(b) {
			l.warn("LinkInfo at %d: truncated", off)
			return l, nil
		}
		n := int(le.Uint32(b[off:]))
		if n < 4 || off+n > len(b) {
			l.warn("LinkInfo at %d: size %d out of range", off, n)
			return l, nil
		}
		if l.Flags&FlagForceNoLinkInfo == 0 {
			l.parseLinkInfo(b[off:off+n], off)
		}
		off += n
		l.Length = off
	}
	unicode := l.Flags&FlagIsUnicode != 0
	for _, s := range []struct {
		flag uint32
		dst  *string
		what string
	}{
		{FlagHasName, &l.Name, "name"},
		{FlagHasRelativePath, &l.RelativePath, "relative path"},
		{FlagHasWorkingDir, &l.WorkingDir, "working directory"},
		{FlagHasArguments, &l.Arguments, "arguments"},
		{FlagHasIconLocation, &l.IconLocation, "icon location"},
	} {
		if l.Flags&s.flag == 0 {
			continue
		}
		if off+2 > len(b) {
			l.warn("%s at %d: truncated", s.what, off)
			return l, nil
		}
		n := int(le.Uint16(b[off:]))
		size := n
		if unicode {
			size *= 2
		}
		if off+2+size > len(b) {
			l.warn("%s at %d: %d characters beyond end of data", s.what, off, n)
			return l, nil
		}
		if unicode {
			*s.dst = utf16String(b[off+2 : off+2+size])
		} else {
			*s.dst = ansiString(b[off+2 : off+2+size])
		}
		off += 2 + size
		l.Length = off
	}
	l.parseExtra(b, off)
	return l, nil
}

func (l *Link) warn(format string, args ...any) {
	l.Warnings = append(l.Warnings, fmt.Sprintf(format, args...))
}

// parseLinkInfo reads the LinkInfo structure li found at file offset base.
func (l *Link) parseLinkInfo(li []byte, base int) {
	le := binary.LittleEndian
	if len(li) < 0x1C {
		l.warn("LinkInfo at %d: %d bytes, need 28", base, len(li))
		return
	}
	l.HasLinkInfo = true
	hdr := int(le.Uint32(li[4:]))
	flags := le.Uint32(li[8:])
	volOff := int(le.Uint32(li[12:]))
	localOff := int(le.Uint32(li[16:]))
	netOff := int(le.Uint32(li[20:]))
	suffixOff := int(le.Uint32(li[24:]))
	var localU, suffixU int
	if hdr >= 0x24 && len(li) >= 0x24 {
		localU = int(le.Uint32(li[28:]))
		suffixU = int(le.Uint32(li[32:]))
	}
	if flags&1 != 0 {
		if v, ok := sub(li, volOff); ok && len(v) >= 16 {
			l.HasVolume = true
			l.DriveType = le.Uint32(v[4:])
			l.VolumeSerial = le.Uint32(v[8:])
			lab := int(le.Uint32(v[12:]))
			vs := int(le.Uint32(v[0:]))
			if vs >= 16 && vs <= len(v) {
				v = v[:vs]
			}
			if lab == 0x14 && len(v) >= 20 {
				l.VolumeLabel = utf16z(v, int(le.Uint32(v[16:])))
			} else {
				l.VolumeLabel = ansiz(v, lab)
			}
		} else {
			l.warn("LinkInfo at %d: VolumeID offset %d out of range", base, volOff)
		}
		if localU > 0 {
			l.LocalBasePath = utf16z(li, localU)
		} else {
			l.LocalBasePath = ansiz(li, localOff)
		}
	}
	if flags&2 != 0 {
		if n, ok := sub(li, netOff); ok && len(n) >= 0x14 {
			size := int(le.Uint32(n[0:]))
			if size >= 0x14 && size <= len(n) {
				n = n[:size]
			}
			nflags := le.Uint32(n[4:])
			nameOff := int(le.Uint32(n[8:]))
			devOff := int(le.Uint32(n[12:]))
			l.NetProvider = le.Uint32(n[16:])
			if nameOff > 0x14 && len(n) >= 0x1C {
				l.NetName = utf16z(n, int(le.Uint32(n[0x14:])))
				if nflags&1 != 0 {
					l.DeviceName = utf16z(n, int(le.Uint32(n[0x18:])))
				}
			} else {
				l.NetName = ansiz(n, nameOff)
				if nflags&1 != 0 {
					l.DeviceName = ansiz(n, devOff)
				}
			}
		} else {
			l.warn("LinkInfo at %d: CommonNetworkRelativeLink offset %d out of range", base, netOff)
		}
	}
	if suffixU > 0 {
		l.CommonPathSuffix = utf16z(li, suffixU)
	} else if suffixOff > 0 {
		l.CommonPathSuffix = ansiz(li, suffixOff)
	}
}

// parseExtra reads the ExtraData blocks from off to the terminal block.
func (l *Link) parseExtra(b []byte, off int) {
	le := binary.LittleEndian
	for i := 0; ; i++ {
		if off+4 > len(b) {
			if off < len(b) || i > 0 {
				l.warn("extra data at %d: no terminal block", off)
			}
			l.Length = len(b)
			return
		}
		size := int(le.Uint32(b[off:]))
		if size < 4 {
			l.Length = off + 4
			return
		}
		if i >= maxBlocks {
			l.warn("extra data at %d: more than %d blocks", off, maxBlocks)
			l.Length = off
			return
		}
		if size < 8 || off+size > len(b) {
			l.warn("extra data block at %d: size %d out of range", off, size)
			l.Length = len(b)
			return
		}
		blk := b[off : off+size]
		sig := le.Uint32(blk[4:])
		l.Blocks = append(l.Blocks, sig)
		switch sig {
		case blockEnvironment, blockIconEnv, blockDarwin:
			// 260 bytes of ANSI, then 520 bytes of Unicode; the Unicode copy
			// wins when present.
			var s string
			if len(blk) >= 8+260+520 {
				s = utf16z(blk[8+260:8+260+520], 0)
			}
			if s == "" && len(blk) >= 8+260 {
				s = ansiz(blk[8:8+260], 0)
			}
			switch sig {
			case blockEnvironment:
				l.EnvTarget = s
			case blockIconEnv:
				l.IconEnv = s
			default:
				l.Darwin = s
			}
		case blockTracker:
			if len(blk) >= 0x60 {
				t := &Tracker{
					MachineID:        ansiz(blk[16:32], 0),
					VolumeDroid:      FormatGUID(blk[32:48]),
					FileDroid:        FormatGUID(blk[48:64]),
					BirthVolumeDroid: FormatGUID(blk[64:80]),
					BirthFileDroid:   FormatGUID(blk[80:96]),
				}
				// A version 1 GUID carries the MAC of the machine that
				// created it in its node field.
				if blk[48+7]>>4 == 1 {
					m := blk[48+10 : 48+16]
					t.MAC = fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
				}
				l.Tracker = t
			} else {
				l.warn("tracker block at %d: %d bytes, need 96", off, size)
			}
		case blockSpecial:
			if len(blk) >= 12 {
				l.SpecialFolder = le.Uint32(blk[8:])
			}
		case blockKnownFolder:
			if len(blk) >= 24 {
				l.KnownFolder = FormatGUID(blk[8:24])
			}
		}
		// Console, property store, shim and Vista ID list blocks are
		// skipped by their size.
		off += size
	}
}

// sub returns b[off:] when off is inside b.
func sub(b []byte, off int) ([]byte, bool) {
	if off <= 0 || off >= len(b) {
		return nil, false
	}
	return b[off:], true
}

// FormatGUID renders a GUID in its on-disk layout (first three groups
// little-endian) the way readers print it.
func FormatGUID(g []byte) string {
	if len(g) < 16 {
		return ""
	}
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8:10], g[10:16])
}

// utf16z decodes a NUL-terminated UTF-16LE string at off.
func utf16z(b []byte, off int) string {
	if off < 0 || off >= len(b) {
		return ""
	}
	b = b[off:]
	end := len(b) &^ 1
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			end = i
			break
		}
	}
	return utf16String(b[:end])
}

func utf16String(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// ansiz decodes a NUL-terminated code-page string at off.
func ansiz(b []byte, off int) string {
	if off < 0 || off >= len(b) {
		return ""
	}
	b = b[off:]
	for i, c := range b {
		if c == 0 {
			return ansiString(b[:i])
		}
	}
	return ansiString(b)
}

// ansiString decodes in Windows-1252, as liblnk does: Windows writes ANSI
// strings in the system code page, which a link does not name.
func ansiString(b []byte) string { return event.Windows1252(b, event.KeepC1) }
