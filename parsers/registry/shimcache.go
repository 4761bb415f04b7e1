package registry

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/foothold/foothold/parsers/event"
)

// ShimEntry is one AppCompatCache (ShimCache) entry.
type ShimEntry struct {
	Position     int // 0 = most recently inserted
	Path         string
	LastModified event.FileTime // the file's $SI modification time when cached
	// Executed is the insertion flag 0x2 where the format has one
	// (Vista to 8.1); HasExecuted is false on XP and Windows 10/11.
	Executed, HasExecuted bool
}

// ShimCache formats returned by ParseShimCache.
const (
	ShimXP    = "xp"
	ShimVista = "vista" // also Server 2003 x64 and 2008
	ShimWin7  = "win7"
	ShimWin8  = "win8" // 8.0 and 8.1
	ShimWin10 = "win10"
)

// maxShimEntries bounds the entry loop; Windows keeps at most 1,024.
const maxShimEntries = 1 << 16

// ParseShimCache decodes an AppCompatCache value. The entries read before
// any damage are returned with the error.
func ParseShimCache(d []byte) (format string, entries []ShimEntry, err error) {
	if len(d) < 8 {
		return "", nil, errors.New("shimcache: value shorter than its header")
	}
	magic := binary.LittleEndian.Uint32(d)
	switch {
	case magic == 0xDEADBEEF:
		entries, err = shimXP(d)
		return ShimXP, entries, err
	case magic == 0xBADC0FFE:
		entries, err = shimVista7(d, 8, false)
		return ShimVista, entries, err
	case magic == 0xBADC0FEE:
		entries, err = shimVista7(d, 128, true)
		return ShimWin7, entries, err
	case len(d) >= 132 && (string(d[128:132]) == "00ts" || string(d[128:132]) == "10ts"):
		entries, err = shimTS(d, 128, true)
		return ShimWin8, entries, err
	case magic >= 0x30 && magic <= 0x80 && int(magic)+4 <= len(d) && string(d[magic:magic+4]) == "10ts":
		entries, err = shimTS(d, int(magic), false)
		return ShimWin10, entries, err
	}
	return "", nil, fmt.Errorf("shimcache: unknown header 0x%08x", magic)
}

func shimXP(d []byte) ([]ShimEntry, error) {
	const start, size = 0x190, 552
	if len(d) < 12 {
		return nil, errors.New("shimcache xp: value shorter than its header")
	}
	n := int(binary.LittleEndian.Uint32(d[8:]))
	if max := int(binary.LittleEndian.Uint32(d[4:])); n > max {
		n = max
	}
	var out []ShimEntry
	for i := 0; i < n && i < maxShimEntries; i++ {
		off := start + i*size
		if off+size > len(d) {
			return out, fmt.Errorf("shimcache xp: entry %d beyond the value", i)
		}
		e := d[off : off+size]
		out = append(out, ShimEntry{Position: i, Path: utf16z(e[:520]),
			LastModified: event.FileTime(binary.LittleEndian.Uint64(e[528:]))})
	}
	return out, nil
}

// shimVista7 reads the Vista/2008 (24/32-byte) and Windows 7 (32/48-byte)
// entry arrays; 64-bit entries are recognised by the zero padding after the
// path length fields and a zero high half of the path offset.
func shimVista7(d []byte, start int, win7 bool) ([]ShimEntry, error) {
	n := int(binary.LittleEndian.Uint32(d[4:]))
	if start+16 > len(d) {
		return nil, errors.New("shimcache: no entries after the header")
	}
	wide := binary.LittleEndian.Uint32(d[start+4:]) == 0 && binary.LittleEndian.Uint32(d[start+12:]) == 0
	size := 24
	switch {
	case win7 && wide:
		size = 48
	case win7:
		size = 32
	case wide:
		size = 32
	}
	var out []ShimEntry
	for i := 0; i < n && i < maxShimEntries; i++ {
		off := start + i*size
		if off+size > len(d) {
			return out, fmt.Errorf("shimcache: entry %d beyond the value", i)
		}
		e := d[off : off+size]
		plen := int(binary.LittleEndian.Uint16(e))
		var poff uint64
		rest := e[8:]
		if wide {
			poff = binary.LittleEndian.Uint64(e[8:])
			rest = e[16:]
		} else {
			poff = uint64(binary.LittleEndian.Uint32(e[4:]))
		}
		if poff+uint64(plen) > uint64(len(d)) {
			return out, fmt.Errorf("shimcache: entry %d path outside the value", i)
		}
		flags := binary.LittleEndian.Uint32(rest[8:])
		out = append(out, ShimEntry{Position: i, Path: utf16all(d[poff : poff+uint64(plen)]),
			LastModified: event.FileTime(binary.LittleEndian.Uint64(rest)),
			Executed:     flags&2 != 0, HasExecuted: true})
	}
	return out, nil
}

// shimTS reads the "00ts"/"10ts" entry chains of Windows 8.x and 10/11.
func shimTS(d []byte, off int, win8 bool) ([]ShimEntry, error) {
	var out []ShimEntry
	for i := 0; off+12 <= len(d) && i < maxShimEntries; i++ {
		sig := string(d[off : off+4])
		if sig == "\x00\x00\x00\x00" {
			return out, nil // zero padding after the last entry
		}
		if sig != "00ts" && sig != "10ts" {
			return out, fmt.Errorf("shimcache: entry %d at 0x%x has signature %q", i, off, sig)
		}
		size := int(binary.LittleEndian.Uint32(d[off+8:]))
		body := d[off+12:]
		var cut error
		if size > len(body) {
			// A value cut short (copied from memory, carved): keep the
			// entry if its path is whole, with whatever follows it.
			cut = fmt.Errorf("shimcache: entry %d at 0x%x overflows the value", i, off)
			size = len(body)
		}
		body = body[:size]
		r := blobReader{b: body}
		plen, ok := r.u16()
		path, ok2 := r.bytes(int(plen))
		if !ok || !ok2 {
			return out, fmt.Errorf("shimcache: entry %d at 0x%x: path cut short", i, off)
		}
		e := ShimEntry{Position: i, Path: utf16all(path)}
		if cut != nil {
			if ft, ok := r.bytes(8); ok && !win8 {
				e.LastModified = event.FileTime(binary.LittleEndian.Uint64(ft))
			}
			return append(out, e), cut
		}
		if win8 {
			pk, ok := r.u16()
			_, ok2 := r.bytes(int(pk))
			flags, ok3 := r.bytes(8) // insertion flags, shim flags
			if !ok || !ok2 || !ok3 {
				return out, fmt.Errorf("shimcache: entry %d at 0x%x: flags cut short", i, off)
			}
			e.Executed, e.HasExecuted = binary.LittleEndian.Uint32(flags)&2 != 0, true
		}
		ft, ok := r.bytes(8)
		if !ok {
			return out, fmt.Errorf("shimcache: entry %d at 0x%x: time cut short", i, off)
		}
		e.LastModified = event.FileTime(binary.LittleEndian.Uint64(ft))
		out = append(out, e)
		off += 12 + size
	}
	return out, nil
}

// shimcache emits the AppCompatCache of every control set.
func (h *Hive) shimcache(em *emitter) error {
	for _, cs := range h.controlSets() {
		var v Value
		var rel string
		for _, p := range []string{`Control\Session Manager\AppCompatCache`, `Control\Session Manager\AppCompatibility`} {
			if k, ok := cs.key.Open(p); ok {
				if v, ok = k.Value("AppCompatCache"); ok {
					rel = cs.name + `\` + p
					break
				}
			}
		}
		if rel == "" {
			continue
		}
		d, err := v.Data()
		if err != nil {
			em.damaged(err)
			continue
		}
		format, entries, err := ParseShimCache(d)
		if err != nil {
			em.damaged(fmt.Errorf("%s: %w", rel, err))
		}
		for _, se := range entries {
			e := &event.Event{
				Time:     se.LastModified,
				TimeDesc: "File last modified (ShimCache)",
				Artifact: event.Shimcache,
				Type:     "entry",
				Path:     se.Path,
				Record:   int64(se.Position),
				Offset:   -1,
			}
			e.Add("path", se.Path).Add("position", se.Position).Add("last_modified", se.LastModified).
				Add("control_set", cs.name).Add("format", format).Add("key", em.path(rel))
			if se.HasExecuted {
				e.Add("executed", se.Executed)
			}
			if format == ShimWin10 {
				// Windows 10 inserts files it only looked at: presence, not execution.
				e.Add("presence_only", true)
			}
			e.Message = fmt.Sprintf("ShimCache entry %d (%s): %s", se.Position, cs.name, se.Path)
			if se.HasExecuted && se.Executed {
				e.Message += " (executed)"
			}
			if err := em.emit(e); err != nil {
				return err
			}
		}
	}
	return nil
}
