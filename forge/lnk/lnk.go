// Package lnk writes Windows shell link (.lnk) files as [MS-SHLLINK]
// describes them and Windows 10 writes them: header, LinkTargetIDList made
// of shell items, LinkInfo for a local or network target, Unicode
// StringData and a TrackerDataBlock (distributed link tracking).
package lnk

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// Link describes a shortcut and the target it points to.
type Link struct {
	// Target is a local path (C:\ProgramData\TPM\TpmVscMgrSvr.exe) or a UNC
	// path (\\FS01\C$\Builds).
	Target string
	// Times of the target, stored in the header.
	Created, Modified, Accessed event.FileTime
	Size                        uint32
	Attributes                  uint32 // FILE_ATTRIBUTE_*; 0x10 makes the target a directory
	// Volume of a local target.
	VolumeSerial uint32
	VolumeLabel  string
	DriveType    uint32 // 3 fixed, 2 removable, 4 remote, 5 CD-ROM
	// Tracker block. MachineID is the NetBIOS name (Windows writes lower
	// case). FileDroid is a version 1 GUID whose node is the MAC; when it is
	// empty it is derived from MAC and Created. VolumeDroid, when empty, is
	// derived from VolumeSerial. No tracker block is written when MachineID,
	// MAC and both droids are empty.
	MachineID, MAC, FileDroid, VolumeDroid           string
	Arguments, WorkingDir, Description, IconLocation string
	ShowCommand                                      uint32 // 0 is written as 1 (SW_SHOWNORMAL)
}

// Link flags ([MS-SHLLINK] 2.1.1).
const (
	hasLinkTargetIDList = 1 << 0
	hasLinkInfo         = 1 << 1
	hasName             = 1 << 2
	hasWorkingDir       = 1 << 4
	hasArguments        = 1 << 5
	hasIconLocation     = 1 << 6
	isUnicode           = 1 << 7
	hasExpIcon          = 1 << 14
)

const (
	attrDirectory   = 0x10
	wnncNetLanman   = 0x00020000
	maxStringChars  = 0xFFFF
	uuidEpochOffset = 0x146BF33E42C000 // 1582-10-15 to 1601-01-01 in 100 ns
)

var (
	linkCLSID       = mustGUID("00021401-0000-0000-c000-000000000046")
	myComputer      = mustGUID("20d04fe0-3aea-1069-a2d8-08002b30309d")
	myNetworkPlaces = mustGUID("208d2c60-3aea-1069-a2d7-08002b30309d")
)

// Write writes l as a .lnk file.
func Write(w io.Writer, l Link) error {
	b, err := Bytes(l)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("lnk %s: write: %w", l.Target, err)
	}
	return nil
}

// Bytes returns the .lnk file for l.
func Bytes(l Link) ([]byte, error) {
	t, err := parseTarget(l.Target)
	if err != nil {
		return nil, err
	}
	for name, s := range map[string]string{"arguments": l.Arguments, "working directory": l.WorkingDir,
		"description": l.Description, "icon location": l.IconLocation} {
		if len(utf16.Encode([]rune(s))) > maxStringChars {
			return nil, fmt.Errorf("lnk %s: %s longer than %d characters", l.Target, name, maxStringChars)
		}
	}
	tracker, err := trackerBlock(l)
	if err != nil {
		return nil, fmt.Errorf("lnk %s: %w", l.Target, err)
	}

	flags := uint32(hasLinkTargetIDList | hasLinkInfo | isUnicode)
	var strs []byte
	for _, s := range []struct {
		flag uint32
		v    string
	}{
		{hasName, l.Description},
		{hasWorkingDir, l.WorkingDir},
		{hasArguments, l.Arguments},
		{hasIconLocation, l.IconLocation},
	} {
		if s.v == "" {
			continue
		}
		flags |= s.flag
		u := utf16.Encode([]rune(s.v))
		strs = binary.LittleEndian.AppendUint16(strs, uint16(len(u)))
		for _, c := range u {
			strs = binary.LittleEndian.AppendUint16(strs, c)
		}
	}
	var extra []byte
	if strings.Contains(l.IconLocation, "%") {
		flags |= hasExpIcon
		extra = append(extra, envBlock(0xA0000007, l.IconLocation)...)
	}
	extra = append(extra, tracker...)
	extra = append(extra, 0, 0, 0, 0) // terminal block

	show := l.ShowCommand
	if show == 0 {
		show = 1
	}
	var hdr [76]byte
	le := binary.LittleEndian
	le.PutUint32(hdr[0:], 76)
	copy(hdr[4:], linkCLSID[:])
	le.PutUint32(hdr[20:], flags)
	le.PutUint32(hdr[24:], l.Attributes)
	le.PutUint64(hdr[28:], uint64(l.Created))
	le.PutUint64(hdr[36:], uint64(l.Accessed))
	le.PutUint64(hdr[44:], uint64(l.Modified))
	le.PutUint32(hdr[52:], l.Size)
	le.PutUint32(hdr[60:], show)

	out := append([]byte(nil), hdr[:]...)
	out = append(out, idList(l, t)...)
	out = append(out, linkInfo(l, t)...)
	out = append(out, strs...)
	out = append(out, extra...)
	return out, nil
}

type target struct {
	unc      bool
	drive    string   // "C:" for local targets
	share    string   // \\FS01\C$ for UNC targets
	elements []string // path components below the drive or share
}

func parseTarget(p string) (target, error) {
	var t target
	switch {
	case strings.HasPrefix(p, `\\`):
		parts := strings.Split(p[2:], `\`)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return t, fmt.Errorf("lnk %s: UNC target needs \\\\server\\share", p)
		}
		t.unc = true
		t.share = `\\` + parts[0] + `\` + parts[1]
		t.elements = parts[2:]
	case len(p) >= 2 && p[1] == ':' && (p[0]|0x20) >= 'a' && (p[0]|0x20) <= 'z':
		t.drive = strings.ToUpper(p[:2])
		rest := strings.TrimPrefix(p[2:], `\`)
		if rest != "" {
			t.elements = strings.Split(rest, `\`)
		}
	default:
		return t, fmt.Errorf("lnk %q: target must be X:\\... or \\\\server\\share\\...", p)
	}
	for _, e := range append([]string{t.share}, t.elements...) {
		if len(utf16.Encode([]rune(e))) > 255 {
			return t, fmt.Errorf("lnk %.80s...: path component longer than 255 characters", p)
		}
	}
	for _, e := range t.elements {
		if e == "" {
			return t, fmt.Errorf("lnk %s: empty path component", p)
		}
	}
	return t, nil
}

// idList builds the LinkTargetIDList. Only the target's own times are
// known, so intermediate directories carry no times (readers show them as
// not set) rather than invented ones.
func idList(l Link, t target) []byte {
	var items [][]byte
	if t.unc {
		items = append(items, rootItem(0x58, myNetworkPlaces), networkItem(t.share))
	} else {
		items = append(items, rootItem(0x50, myComputer), volumeItem(t.drive+`\`))
	}
	for i, name := range t.elements {
		if i == len(t.elements)-1 {
			items = append(items, fileItem(name, l.Attributes&attrDirectory != 0, l.Size, l.Attributes, l.Modified, l.Created, l.Accessed))
		} else {
			items = append(items, fileItem(name, true, 0, attrDirectory, 0, 0, 0))
		}
	}
	var body []byte
	for _, it := range items {
		body = append(body, it...)
	}
	body = append(body, 0, 0)
	out := binary.LittleEndian.AppendUint16(nil, uint16(len(body)))
	return append(out, body...)
}

func withSize(b []byte) []byte {
	binary.LittleEndian.PutUint16(b, uint16(len(b)))
	return b
}

func rootItem(sort byte, g [16]byte) []byte {
	b := []byte{0, 0, 0x1F, sort}
	return withSize(append(b, g[:]...))
}

func volumeItem(name string) []byte {
	b := make([]byte, 25)
	b[2] = 0x2F
	copy(b[3:], name)
	return withSize(b)
}

// networkItem is a network location item for a share, with the provider
// description Windows gives SMB shares.
func networkItem(share string) []byte {
	b := []byte{0, 0, 0xC3, 0x01, 0x80}
	b = append(b, ansi(share)...)
	b = append(b, 0)
	b = append(b, "Microsoft Network"...)
	b = append(b, 0, 0, 0)
	return withSize(b)
}

// fileItem is a file entry shell item with its 0xBEEF0004 extension block
// (version 9, as Windows 8 and later write it).
func fileItem(name string, dir bool, size, attrs uint32, mod, created, accessed event.FileTime) []byte {
	le := binary.LittleEndian
	class := byte(0x32)
	if dir {
		class = 0x31
	}
	b := []byte{0, 0, class, 0}
	b = le.AppendUint32(b, size)
	b = le.AppendUint32(b, fatTime(mod))
	b = le.AppendUint16(b, uint16(attrs))
	b = append(b, shortName(name)...)
	b = append(b, 0)
	if len(b)%2 != 0 {
		b = append(b, 0)
	}
	extOff := len(b)
	e := []byte{0, 0}
	e = le.AppendUint16(e, 9)
	e = le.AppendUint32(e, 0xBEEF0004)
	e = le.AppendUint32(e, fatTime(created))
	e = le.AppendUint32(e, fatTime(accessed))
	e = le.AppendUint16(e, 0x2E) // identifies version 9
	e = le.AppendUint16(e, 0)
	e = le.AppendUint64(e, 0) // NTFS file reference: not known
	e = le.AppendUint64(e, 0)
	e = le.AppendUint16(e, 0) // no localized name
	e = le.AppendUint32(e, 0)
	e = le.AppendUint32(e, 0)
	for _, c := range utf16.Encode([]rune(name)) {
		e = le.AppendUint16(e, c)
	}
	e = append(e, 0, 0)
	e = le.AppendUint16(e, uint16(extOff))
	le.PutUint16(e, uint16(len(e)))
	return withSize(append(b, e...))
}

// fatTime packs a FILETIME as the FAT date and time shell items hold (UTC,
// two-second steps, rounded up as Windows does).
func fatTime(f event.FileTime) uint32 {
	if f == 0 {
		return 0
	}
	t := f.Time()
	if t.Nanosecond() != 0 || t.Second()%2 != 0 {
		t = t.Truncate(2 * time.Second).Add(2 * time.Second)
	}
	if t.Year() < 1980 || t.Year() > 2107 {
		return 0
	}
	date := uint32(t.Year()-1980)<<9 | uint32(t.Month())<<5 | uint32(t.Day())
	tod := uint32(t.Hour())<<11 | uint32(t.Minute())<<5 | uint32(t.Second()/2)
	return date | tod<<16
}

const shortChars = "!#$%&'()-@^_`{}~"

func validShortChar(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(shortChars, r)
}

// shortName gives the 8.3 name Windows would generate for the first file
// of that name in a directory (NAME~1.EXT); names that already fit 8.3 are
// kept as they are.
func shortName(name string) string {
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext = name[:i], name[i+1:]
	}
	fits := len(base) >= 1 && len(base) <= 8 && len(ext) <= 3 && !strings.Contains(base, ".")
	for _, r := range base + ext {
		fits = fits && validShortChar(r)
	}
	if fits {
		return name
	}
	clean := func(s string, n int) string {
		var b strings.Builder
		for _, r := range strings.ToUpper(s) {
			if b.Len() == n {
				break
			}
			if validShortChar(r) {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	s := clean(base, 6)
	if s == "" {
		s = "FILE"
	}
	s += "~1"
	if e := clean(ext, 3); e != "" {
		s += "." + e
	}
	return s
}

// ansi is the code-page string Windows stores beside Unicode ones; we
// write ASCII and '?' for anything else, with a Unicode copy when needed.
func ansi(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0x80 {
			b = append(b, byte(r))
		} else {
			b = append(b, '?')
		}
	}
	return b
}

func isASCII(s string) bool {
	for _, r := range s {
		if r >= 0x80 {
			return false
		}
	}
	return true
}

// linkInfo builds the LinkInfo structure: VolumeID and local base path for
// a local target, CommonNetworkRelativeLink and path suffix for UNC.
func linkInfo(l Link, t target) []byte {
	le := binary.LittleEndian
	local, suffix := "", ""
	if t.unc {
		suffix = strings.Join(t.elements, `\`)
	} else {
		local = l.Target
	}
	unicode := !isASCII(local) || !isASCII(suffix)
	hdrSize := 0x1C
	if unicode {
		hdrSize = 0x24
	}
	body := make([]byte, hdrSize)
	le.PutUint32(body[4:], uint32(hdrSize))
	if !t.unc {
		le.PutUint32(body[8:], 1) // VolumeIDAndLocalBasePath
		le.PutUint32(body[12:], uint32(len(body)))
		body = append(body, volumeID(l)...)
		le.PutUint32(body[16:], uint32(len(body)))
		body = append(append(body, ansi(local)...), 0)
	} else {
		le.PutUint32(body[8:], 2) // CommonNetworkRelativeLinkAndPathSuffix
		le.PutUint32(body[20:], uint32(len(body)))
		body = append(body, networkLink(t.share)...)
	}
	le.PutUint32(body[24:], uint32(len(body)))
	body = append(append(body, ansi(suffix)...), 0)
	if unicode {
		if !t.unc {
			le.PutUint32(body[28:], uint32(len(body)))
			body = append(body, wire.UTF16Z(local)...)
		}
		le.PutUint32(body[32:], uint32(len(body)))
		body = append(body, wire.UTF16Z(suffix)...)
	}
	le.PutUint32(body[0:], uint32(len(body)))
	return body
}

func volumeID(l Link) []byte {
	le := binary.LittleEndian
	v := make([]byte, 16)
	le.PutUint32(v[4:], l.DriveType)
	le.PutUint32(v[8:], l.VolumeSerial)
	if isASCII(l.VolumeLabel) {
		le.PutUint32(v[12:], 16)
		v = append(append(v, ansi(l.VolumeLabel)...), 0)
	} else {
		// Offset 0x14 means "see the Unicode offset", which follows.
		le.PutUint32(v[12:], 0x14)
		v = le.AppendUint32(v, 0x14)
		v = append(v, wire.UTF16Z(l.VolumeLabel)...)
	}
	le.PutUint32(v[0:], uint32(len(v)))
	return v
}

func networkLink(share string) []byte {
	le := binary.LittleEndian
	unicode := !isASCII(share)
	hdr := 0x14
	if unicode {
		hdr = 0x1C
	}
	n := make([]byte, hdr)
	le.PutUint32(n[4:], 2) // ValidNetType
	le.PutUint32(n[8:], uint32(hdr))
	le.PutUint32(n[16:], wnncNetLanman)
	n = append(append(n, ansi(share)...), 0)
	if unicode {
		le.PutUint32(n[0x14:], uint32(len(n)))
		n = append(n, wire.UTF16Z(share)...)
	}
	le.PutUint32(n[0:], uint32(len(n)))
	return n
}

// envBlock is an environment-variable data block (icon or target) holding
// the unexpanded path in ANSI (260 bytes) and Unicode (520 bytes).
func envBlock(sig uint32, s string) []byte {
	b := make([]byte, 0x314)
	binary.LittleEndian.PutUint32(b[0:], 0x314)
	binary.LittleEndian.PutUint32(b[4:], sig)
	a := ansi(s)
	copy(b[8:8+259], a)
	u := wire.UTF16Z(s)
	copy(b[268:268+518], u)
	return b
}

func trackerBlock(l Link) ([]byte, error) {
	if l.MachineID == "" && l.MAC == "" && l.FileDroid == "" && l.VolumeDroid == "" {
		return nil, nil
	}
	if len(l.MachineID) > 15 || !isASCII(l.MachineID) {
		return nil, fmt.Errorf("machine id %q: at most 15 ASCII characters", l.MachineID)
	}
	vol, err := volumeDroid(l)
	if err != nil {
		return nil, err
	}
	file, err := fileDroid(l)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0x60)
	le := binary.LittleEndian
	le.PutUint32(b[0:], 0x60)
	le.PutUint32(b[4:], 0xA0000003)
	le.PutUint32(b[8:], 0x58)
	copy(b[16:32], l.MachineID)
	copy(b[32:], vol[:])
	copy(b[48:], file[:])
	copy(b[64:], vol[:]) // birth droids: the file has not moved
	copy(b[80:], file[:])
	return b, nil
}

func volumeDroid(l Link) ([16]byte, error) {
	if l.VolumeDroid != "" {
		return parseGUID(l.VolumeDroid)
	}
	// A random (version 4) GUID, derived from the serial so that output is
	// deterministic.
	sum := sha1.Sum(fmt.Appendf(nil, "volume droid %08x", l.VolumeSerial))
	var g [16]byte
	copy(g[:], sum[:16])
	g[7] = g[7]&0x0F | 0x40 // version 4 (Data3 is little-endian on disk)
	g[8] = g[8]&0x3F | 0x80
	return g, nil
}

func parseMAC(s string) ([]byte, error) {
	h := strings.NewReplacer(":", "", "-", "").Replace(s)
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 6 {
		return nil, fmt.Errorf("MAC %q: want six hex bytes", s)
	}
	return b, nil
}

func fileDroid(l Link) ([16]byte, error) {
	var mac []byte
	if l.MAC != "" {
		m, err := parseMAC(l.MAC)
		if err != nil {
			return [16]byte{}, err
		}
		mac = m
	}
	if l.FileDroid != "" {
		g, err := parseGUID(l.FileDroid)
		if err != nil {
			return g, err
		}
		if mac != nil && !bytes.Equal(g[10:], mac) {
			return g, fmt.Errorf("file droid %s does not end in MAC %s", l.FileDroid, l.MAC)
		}
		return g, nil
	}
	if mac == nil {
		return [16]byte{}, errors.New("tracker block needs a file droid or a MAC")
	}
	// Version 1 GUID: 60-bit timestamp of the target's creation, a clock
	// sequence derived from the path, the MAC as node.
	ts := uint64(l.Created) + uuidEpochOffset
	seq := sha1.Sum([]byte(l.Target))
	var g [16]byte
	le := binary.LittleEndian
	le.PutUint32(g[0:], uint32(ts))
	le.PutUint16(g[4:], uint16(ts>>32))
	le.PutUint16(g[6:], uint16(ts>>48)&0x0FFF|0x1000)
	g[8] = seq[0]&0x3F | 0x80
	g[9] = seq[1]
	copy(g[10:], mac)
	return g, nil
}

// parseGUID reads the registry form of a GUID into its on-disk layout
// (first three groups little-endian).
func parseGUID(s string) ([16]byte, error) {
	var g [16]byte
	h := strings.Trim(s, "{}")
	parts := strings.Split(h, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return g, fmt.Errorf("GUID %q: want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	raw, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return g, fmt.Errorf("GUID %q: %w", s, err)
	}
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, nil
}

// FormatGUID is the inverse of the on-disk layout, lower case as readers
// print it.
func FormatGUID(g [16]byte) string {
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8:10], g[10:])
}

// Droids returns the volume and file droids the tracker block of l holds
// (derived ones included), for callers that must repeat them elsewhere,
// such as a jump list's DestList.
func Droids(l Link) (volume, file [16]byte, err error) {
	if volume, err = volumeDroid(l); err != nil {
		return
	}
	file, err = fileDroid(l)
	return
}

func mustGUID(s string) [16]byte {
	g, err := parseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}
