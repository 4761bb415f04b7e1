// Package jumplist writes Windows 10 automatic destinations jump lists
// (<AppID>.automaticDestinations-ms): an OLE compound file holding one LNK
// stream per entry, named by the entry number in lower-case hex, and a
// DestList stream (format version 4) that records, per entry, the host,
// tracking droids, last access, access count and pin state.
package jumplist

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf16"

	"github.com/foothold/foothold/forge/lnk"
	"github.com/foothold/foothold/parsers/event"
)

// AppIDMstsc is the AppID of mstsc.exe's jump list
// (1bc392b8e104a00e.automaticDestinations-ms); the corpus file of that
// name (DFIRArtifactMuseum StolenSzechuan) holds an mstsc.exe link.
const AppIDMstsc = "1bc392b8e104a00e"

// Entry is one destination.
type Entry struct {
	Link        lnk.Link
	LastAccess  event.FileTime
	AccessCount uint32
	Pinned      bool
	// Hostname is the NetBIOS name of the computer, as Windows writes it in
	// the DestList (lower case, at most 15 characters).
	Hostname string
}

const (
	destListVersion = 4
	maxEntries      = 4096
)

// WriteAutomatic writes a jump list for appID (16 hex digits). Entries get
// numbers in order of last access, oldest first, and the DestList lists
// them newest first, as Windows keeps it.
func WriteAutomatic(w io.Writer, appID string, entries []Entry) error {
	b, err := automatic(appID, entries)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("jump list %s: write: %w", appID, err)
	}
	return nil
}

func automatic(appID string, entries []Entry) ([]byte, error) {
	if _, err := strconv.ParseUint(appID, 16, 64); err != nil || len(appID) != 16 {
		return nil, fmt.Errorf("jump list: AppID %q is not 16 hex digits", appID)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("jump list %s: no entries", appID)
	}
	if len(entries) > maxEntries {
		return nil, fmt.Errorf("jump list %s: %d entries, at most %d", appID, len(entries), maxEntries)
	}
	// numbered[i] gets entry number i+1.
	numbered := make([]int, len(entries))
	for i := range numbered {
		numbered[i] = i
	}
	sort.SliceStable(numbered, func(a, b int) bool {
		return entries[numbered[a]].LastAccess < entries[numbered[b]].LastAccess
	})
	var streams []stream
	for n, i := range numbered {
		b, err := lnk.Bytes(entries[i].Link)
		if err != nil {
			return nil, fmt.Errorf("jump list %s entry %d: %w", appID, n+1, err)
		}
		streams = append(streams, stream{name: strconv.FormatUint(uint64(n+1), 16), data: b})
	}
	dl, err := destList(entries, numbered)
	if err != nil {
		return nil, fmt.Errorf("jump list %s: %w", appID, err)
	}
	streams = append(streams, stream{name: "DestList", data: dl})
	out, err := writeCFB(streams)
	if err != nil {
		return nil, fmt.Errorf("jump list %s: %w", appID, err)
	}
	return out, nil
}

// DestPath is the string the DestList records for a link: its target, or
// for a link with arguments (mstsc /v:host) an identifier of 16 hex digits,
// as Windows stores for such shell links. Windows' derivation is not known;
// ours is the FNV-1a 64 hash of target and arguments.
func DestPath(l lnk.Link) string {
	if l.Arguments == "" {
		return l.Target
	}
	h := fnv.New64a()
	io.WriteString(h, l.Target+"\x00"+l.Arguments)
	return fmt.Sprintf("%016x", h.Sum64())
}

func destList(entries []Entry, numbered []int) ([]byte, error) {
	le := binary.LittleEndian
	number := make([]uint32, len(entries))
	for n, i := range numbered {
		number[i] = uint32(n + 1)
	}
	var body []byte
	var score float32
	var pinned, revisions uint32
	// Newest first; entries numbered later are newer on equal times.
	for k := len(numbered) - 1; k >= 0; k-- {
		e := entries[numbered[k]]
		if len(e.Hostname) > 15 {
			return nil, fmt.Errorf("entry %d: hostname %q longer than 15 characters", number[numbered[k]], e.Hostname)
		}
		for _, r := range e.Hostname {
			if r >= 0x80 {
				return nil, fmt.Errorf("entry %d: hostname %q is not ASCII", number[numbered[k]], e.Hostname)
			}
		}
		var vol, file [16]byte
		l := e.Link
		if l.MachineID != "" || l.MAC != "" || l.FileDroid != "" || l.VolumeDroid != "" {
			var err error
			if vol, file, err = lnk.Droids(l); err != nil {
				return nil, fmt.Errorf("entry %d: %w", number[numbered[k]], err)
			}
		}
		path := utf16.Encode([]rune(DestPath(l)))
		if len(path) > math.MaxUint16 {
			return nil, fmt.Errorf("entry %d: path too long", number[numbered[k]])
		}
		b := make([]byte, 130, 130+2*len(path)+4)
		copy(b[8:], vol[:])
		copy(b[24:], file[:])
		copy(b[40:], vol[:])
		copy(b[56:], file[:])
		copy(b[72:88], e.Hostname)
		le.PutUint32(b[88:], number[numbered[k]])
		// Windows keeps a usage score as a float; for entries that have not
		// decayed it equals the access count.
		le.PutUint32(b[96:], math.Float32bits(float32(e.AccessCount)))
		le.PutUint64(b[100:], uint64(e.LastAccess))
		pin := int32(-1)
		if e.Pinned {
			pin = int32(pinned)
			pinned++
		}
		le.PutUint32(b[108:], uint32(pin))
		le.PutUint32(b[112:], 0xFFFFFFFF)
		le.PutUint32(b[116:], e.AccessCount)
		le.PutUint16(b[128:], uint16(len(path)))
		for _, c := range path {
			b = le.AppendUint16(b, c)
		}
		b = append(b, 0, 0, 0, 0)
		// The first eight bytes are a checksum whose algorithm Windows does
		// not document; ours is FNV-1a 64 over the rest of the entry.
		h := fnv.New64a()
		h.Write(b[8:])
		le.PutUint64(b[0:], h.Sum64())
		body = append(body, b...)
		score += float32(e.AccessCount)
		revisions += e.AccessCount
	}
	hdr := make([]byte, 32)
	le.PutUint32(hdr[0:], destListVersion)
	le.PutUint32(hdr[4:], uint32(len(entries)))
	le.PutUint32(hdr[8:], pinned)
	le.PutUint32(hdr[12:], math.Float32bits(score))
	le.PutUint32(hdr[16:], uint32(len(entries))) // last issued entry number
	le.PutUint64(hdr[24:], uint64(revisions))
	return append(hdr, body...), nil
}
