package jumplist

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"
)

// A minimal writer for OLE compound files ([MS-CFB]) version 3: 512-byte
// sectors, streams under 4096 bytes in the mini stream, one storage level
// (the root), which is all a jump list needs.

const (
	sectorSize     = 512
	miniSectorSize = 64
	miniCutoff     = 4096
	dirEntrySize   = 128
	maxHeaderDIFAT = 109
	freeSect       = 0xFFFFFFFF
	endOfChain     = 0xFFFFFFFE
	fatSect        = 0xFFFFFFFD
	noStream       = 0xFFFFFFFF
	maxNameChars   = 31
)

type stream struct {
	name string
	data []byte
}

// cfbLess is the directory's sort order: shorter names first, then by
// upper-cased UTF-16 code units.
func cfbLess(a, b string) bool {
	ua, ub := utf16.Encode([]rune(strings.ToUpper(a))), utf16.Encode([]rune(strings.ToUpper(b)))
	if len(ua) != len(ub) {
		return len(ua) < len(ub)
	}
	for i := range ua {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return false
}

type dirEntry struct {
	name               string
	kind               byte // 2 stream, 5 root
	red                bool
	left, right, child uint32
	start              uint32
	size               uint64
}

func writeCFB(streams []stream) ([]byte, error) {
	seen := map[string]bool{}
	for _, s := range streams {
		n := len(utf16.Encode([]rune(s.name)))
		if n == 0 || n > maxNameChars || strings.ContainsAny(s.name, "/\\:!") {
			return nil, fmt.Errorf("cfb: invalid stream name %q", s.name)
		}
		if seen[strings.ToUpper(s.name)] {
			return nil, fmt.Errorf("cfb: duplicate stream name %q", s.name)
		}
		seen[strings.ToUpper(s.name)] = true
	}

	// Directory: root, then streams in the given order; the red-black tree
	// is built over them in name order.
	entries := []dirEntry{{name: "Root Entry", kind: 5, left: noStream, right: noStream, child: noStream, start: endOfChain}}
	for _, s := range streams {
		entries = append(entries, dirEntry{name: s.name, kind: 2, left: noStream, right: noStream, child: noStream, size: uint64(len(s.data))})
	}
	order := make([]int, len(streams))
	for i := range order {
		order[i] = i + 1
	}
	sort.Slice(order, func(i, j int) bool { return cfbLess(entries[order[i]].name, entries[order[j]].name) })
	entries[0].child = buildTree(entries, order, 0, maxDepth(len(order)))

	// Mini stream.
	var mini []byte
	var miniFAT []uint32
	for i, s := range streams {
		if len(s.data) >= miniCutoff || len(s.data) == 0 {
			if len(s.data) == 0 {
				entries[i+1].start = endOfChain
			}
			continue
		}
		first := uint32(len(mini) / miniSectorSize)
		n := (len(s.data) + miniSectorSize - 1) / miniSectorSize
		for k := 0; k < n; k++ {
			if k == n-1 {
				miniFAT = append(miniFAT, endOfChain)
			} else {
				miniFAT = append(miniFAT, first+uint32(k)+1)
			}
		}
		entries[i+1].start = first
		mini = append(mini, s.data...)
		mini = append(mini, make([]byte, n*miniSectorSize-len(s.data))...)
	}
	entries[0].size = uint64(len(mini))

	sectors := func(n int) int { return (n + sectorSize - 1) / sectorSize }
	dirSectors := sectors(len(entries) * dirEntrySize)
	miniFATSectors := sectors(len(miniFAT) * 4)
	miniSectors := sectors(len(mini))
	bigSectors := 0
	for _, s := range streams {
		if len(s.data) >= miniCutoff {
			bigSectors += sectors(len(s.data))
		}
	}
	rest := dirSectors + miniFATSectors + miniSectors + bigSectors
	fatSectors := 1
	for fatSectors*(sectorSize/4) < rest+fatSectors {
		fatSectors++
	}
	if fatSectors > maxHeaderDIFAT {
		return nil, fmt.Errorf("cfb: %d FAT sectors needed, more than the header holds", fatSectors)
	}
	total := fatSectors + rest
	fat := make([]uint32, fatSectors*(sectorSize/4))
	for i := range fat {
		fat[i] = freeSect
	}
	next := 0
	chain := func(n int) uint32 {
		if n == 0 {
			return endOfChain
		}
		first := next
		for k := 0; k < n; k++ {
			if k == n-1 {
				fat[next] = endOfChain
			} else {
				fat[next] = uint32(next + 1)
			}
			next++
		}
		return uint32(first)
	}
	for k := 0; k < fatSectors; k++ {
		fat[next] = fatSect
		next++
	}
	dirStart := chain(dirSectors)
	miniFATStart := chain(miniFATSectors)
	miniStart := chain(miniSectors)
	if len(mini) > 0 {
		entries[0].start = miniStart
	}
	for i, s := range streams {
		if len(s.data) >= miniCutoff {
			entries[i+1].start = chain(sectors(len(s.data)))
		}
	}

	le := binary.LittleEndian
	out := make([]byte, sectorSize*(1+total))
	h := out[:sectorSize]
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le.PutUint16(h[24:], 0x003E)
	le.PutUint16(h[26:], 3)
	le.PutUint16(h[28:], 0xFFFE)
	le.PutUint16(h[30:], 9)
	le.PutUint16(h[32:], 6)
	le.PutUint32(h[44:], uint32(fatSectors))
	le.PutUint32(h[48:], dirStart)
	le.PutUint32(h[56:], miniCutoff)
	le.PutUint32(h[60:], miniFATStart)
	le.PutUint32(h[64:], uint32(miniFATSectors))
	le.PutUint32(h[68:], endOfChain)
	for i := 0; i < maxHeaderDIFAT; i++ {
		v := uint32(freeSect)
		if i < fatSectors {
			v = uint32(i)
		}
		le.PutUint32(h[76+4*i:], v)
	}
	for i, v := range fat {
		le.PutUint32(out[sectorSize+4*i:], v)
	}
	dir := out[sectorSize*(1+int(dirStart)):]
	for i := 0; i < dirSectors*sectorSize/dirEntrySize; i++ {
		e := dir[i*dirEntrySize : (i+1)*dirEntrySize]
		if i >= len(entries) {
			le.PutUint32(e[68:], noStream)
			le.PutUint32(e[72:], noStream)
			le.PutUint32(e[76:], noStream)
			continue
		}
		d := entries[i]
		u := utf16.Encode([]rune(d.name))
		for k, c := range u {
			le.PutUint16(e[2*k:], c)
		}
		le.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66] = d.kind
		e[67] = 1 // black
		if d.red {
			e[67] = 0
		}
		le.PutUint32(e[68:], d.left)
		le.PutUint32(e[72:], d.right)
		le.PutUint32(e[76:], d.child)
		le.PutUint32(e[116:], d.start)
		le.PutUint64(e[120:], d.size)
	}
	if miniFATSectors > 0 {
		mf := out[sectorSize*(1+int(miniFATStart)):]
		for i := 0; i < miniFATSectors*sectorSize/4; i++ {
			v := uint32(freeSect)
			if i < len(miniFAT) {
				v = miniFAT[i]
			}
			le.PutUint32(mf[4*i:], v)
		}
		copy(out[sectorSize*(1+int(miniStart)):], mini)
	}
	for i, s := range streams {
		if len(s.data) >= miniCutoff {
			copy(out[sectorSize*(1+int(entries[i+1].start)):], s.data)
		}
	}
	return out, nil
}

// maxDepth is the depth of the last level of a tree built by halving n
// sorted items.
func maxDepth(n int) int {
	d := -1
	for n > 0 {
		n /= 2
		d++
	}
	return d
}

// buildTree links order[...] into a balanced binary search tree and returns
// its root. Every level is full except perhaps the last; colouring that
// level red and the rest black satisfies the red-black rules.
func buildTree(entries []dirEntry, order []int, depth, last int) uint32 {
	if len(order) == 0 {
		return noStream
	}
	mid := len(order) / 2
	idx := order[mid]
	entries[idx].left = buildTree(entries, order[:mid], depth+1, last)
	entries[idx].right = buildTree(entries, order[mid+1:], depth+1, last)
	entries[idx].red = depth == last && depth > 0
	return uint32(idx)
}
