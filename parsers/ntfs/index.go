package ntfs

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// PathResolver turns a directory's MFT reference into its volume path
// (`\Users\alice`, "" for the root). A parsed MFT implements it so that USN
// records, which carry only a name and a parent reference, get full paths.
type PathResolver interface {
	Path(entry uint64, seq uint16) (string, bool)
}

const (
	rootEntry   = 5
	orphanDir   = `\$OrphanFiles`
	maxDepth    = 256
	batchSlots  = 1024
	zoneMaxSize = 64 << 10
)

// dirEntry is what path resolution needs of a directory. Only directories
// (in use or deleted) are kept, which bounds memory on large volumes.
type dirEntry struct {
	name      string
	parent    uint64
	parentSeq uint16
	seq       uint16
	inUse     bool
}

// extAttrs are the attributes of one extension record, kept until the base
// record is decoded. Extension records are rare (large or heavily linked
// files), so keeping them all is cheap.
type extAttrs struct {
	baseSeq uint16
	attrs   []attrKey
	names   []fileName
	data    []dataAttr
	index   []dataAttr
}

// mftIndex is the result of the first pass over $MFT.
type mftIndex struct {
	dirs map[uint64]*dirEntry
	ext  map[uint64][]extAttrs
	memo map[uint64]string
}

// walkSlots reads $MFT in batches and calls fn for every complete slot. buf
// is only valid during the call. ctx is checked once per batch.
func walkSlots(ctx context.Context, r io.ReaderAt, size int64, recSize int, fn func(slot uint64, off int64, buf []byte)) error {
	chunk := make([]byte, batchSlots*recSize)
	var slot uint64
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int64(len(chunk))
		if size-off < n {
			n = size - off
		}
		n -= n % int64(recSize)
		if n == 0 {
			break
		}
		m, err := r.ReadAt(chunk[:n], off)
		for i := 0; i+recSize <= m; i += recSize {
			fn(slot, off+int64(i), chunk[i:i+recSize])
			slot++
		}
		if m < int(n) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("$MFT read at offset 0x%x: %w", off+int64(m), err)
		}
		off += n
	}
	return nil
}

// recoverPanics is switched off by the fuzz tests so that a decoder panic
// is reported instead of turned into an error.
var recoverPanics = true

// safeParse decodes a slot and turns a panic into an error, so one hostile
// record cannot stop a parse.
func safeParse(buf []byte, slot uint64) (rec *record, err error) {
	defer func() {
		if !recoverPanics {
			return
		}
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("panic decoding record: %v", p)
		}
	}()
	return parseRecord(buf, slot)
}

func buildIndex(ctx context.Context, r io.ReaderAt, size int64, recSize int) (*mftIndex, error) {
	ix := &mftIndex{
		dirs: make(map[uint64]*dirEntry),
		ext:  make(map[uint64][]extAttrs),
		memo: make(map[uint64]string),
	}
	err := walkSlots(ctx, r, size, recSize, func(slot uint64, off int64, buf []byte) {
		rec, _ := safeParse(buf, slot)
		if rec == nil || rec.baad {
			return
		}
		if rec.baseRef != 0 {
			ix.addExt(rec)
			return
		}
		if rec.isDir() {
			d := &dirEntry{seq: rec.seq, inUse: rec.inUse()}
			if fn, ok := bestName(rec.names); ok {
				d.name, d.parent, d.parentSeq = fn.name, fn.parent, fn.parentSeq
			}
			ix.dirs[slot] = d
		}
	})
	// A directory whose $FILE_NAME lives in an extension record.
	for e, d := range ix.dirs {
		if d.name != "" {
			continue
		}
		var names []fileName
		for _, x := range ix.ext[e] {
			if x.baseSeq == d.seq {
				names = append(names, x.names...)
			}
		}
		if fn, ok := bestName(names); ok {
			d.name, d.parent, d.parentSeq = fn.name, fn.parent, fn.parentSeq
		}
	}
	return ix, err
}

func (ix *mftIndex) addExt(rec *record) {
	x := extAttrs{baseSeq: rec.baseSeq, attrs: rec.attrs, names: rec.names, index: rec.index}
	for _, d := range rec.data {
		if d.resident && strings.EqualFold(d.name, "Zone.Identifier") && len(d.content) <= zoneMaxSize {
			d.content = append([]byte(nil), d.content...)
		} else {
			d.content = nil
		}
		x.data = append(x.data, d)
	}
	for i := range x.index {
		x.index[i].content = nil
	}
	ix.ext[rec.baseRef] = append(ix.ext[rec.baseRef], x)
}

// merge adds the attributes that live in extension records to a base
// record. Attribute ids are only unique within one MFT record, and Windows
// often gives extension attributes id 0; like TSK we renumber an extension
// attribute whose id is already taken to the highest id so far + 1, all
// fragments of one attribute (same type, name and id) alike, so that inode
// strings (38-128-11) match `fls`/`istat`.
func (ix *mftIndex) merge(rec *record) {
	if !rec.hasAttrList {
		return
	}
	used := map[uint16]bool{}
	var maxID uint16
	for _, k := range rec.attrs {
		used[k.id] = true
		if k.id > maxID {
			maxID = k.id
		}
	}
	for _, x := range ix.ext[rec.entry] {
		if x.baseSeq != rec.seq {
			continue
		}
		remap := map[attrKey]uint16{}
		for _, k := range x.attrs {
			if _, ok := remap[k]; ok {
				continue
			}
			id := k.id
			if used[id] {
				maxID++
				id = maxID
			}
			used[id] = true
			if id > maxID {
				maxID = id
			}
			remap[k] = id
		}
		for _, n := range x.names {
			n.id = remap[attrKey{attrFileName, "", n.id}]
			rec.names = append(rec.names, n)
		}
		for _, d := range x.data {
			d.id = remap[attrKey{attrData, d.name, d.id}]
			rec.data = append(rec.data, d)
		}
		for _, d := range x.index {
			d.id = remap[attrKey{attrIndexRoot, d.name, d.id}]
			rec.index = append(rec.index, d)
		}
	}
}

// seqMatch decides whether a reference (entry, seq) still names directory
// d. NTFS increments an entry's sequence number when it frees it, so a
// deleted directory is one ahead of the references its children still hold.
func seqMatch(d *dirEntry, seq uint16) bool {
	return seq == 0 || d.seq == seq || (!d.inUse && d.seq == seq+1)
}

// Path implements PathResolver for directories.
func (ix *mftIndex) Path(entry uint64, seq uint16) (string, bool) {
	if entry == rootEntry {
		return "", true
	}
	d := ix.dirs[entry]
	if d == nil || d.name == "" || !seqMatch(d, seq) {
		return "", false
	}
	return ix.dirPath(entry, d, 0), true
}

func (ix *mftIndex) dirPath(entry uint64, d *dirEntry, depth int) string {
	if entry == rootEntry {
		return ""
	}
	if p, ok := ix.memo[entry]; ok {
		return p
	}
	var p string
	if depth >= maxDepth {
		p = orphanDir + `\` + d.name // a parent loop
	} else {
		p = ix.childPath(d.parent, d.parentSeq, d.name, depth+1)
	}
	ix.memo[entry] = p
	return p
}

// childPath is the path of name inside the directory (parent, seq); names
// whose directory chain is broken go under \$OrphanFiles as in TSK.
func (ix *mftIndex) childPath(parent uint64, seq uint16, name string, depth int) string {
	if parent == rootEntry {
		return `\` + name
	}
	d := ix.dirs[parent]
	if d == nil || d.name == "" || !seqMatch(d, seq) || depth >= maxDepth {
		return orphanDir + `\` + name
	}
	return ix.dirPath(parent, d, depth) + `\` + name
}
