package registry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sort"
)

// Transaction-log replay, after the layout in msuhanov's "Windows registry
// file format specification" (new format: HvLE entries with Marvin32
// hashes; old format: DIRT bitmap of 512-byte pages). regparser's
// RecoverHive skips the first entry of each log (D15), so we do it here.

const (
	logTypeOld1 = 1
	logTypeOld2 = 2
	logTypeNew  = 6
	sector      = 512
)

type logEntry struct {
	seq      uint32
	flags    uint32
	binsSize uint32
	pages    []dirtyPage
}

type dirtyPage struct {
	off  uint32 // relative to the hive bins
	data []byte
}

// replay returns a recovered copy of hive; hive itself is not modified.
func replay(hive []byte, logs [][]byte) ([]byte, int, error) {
	out := append([]byte(nil), hive...)
	var newEntries []logEntry
	var errs []error
	var oldLogs [][]byte
	var logBase []byte // a valid log base block, for a primary with a bad checksum
	for i, l := range logs {
		if !IsHive(l) || len(l) < sector {
			errs = append(errs, fmt.Errorf("log %d: no regf base block", i+1))
			continue
		}
		if checksum(l) != binary.LittleEndian.Uint32(l[508:]) {
			// Windows trusts a log only with an intact base-block copy.
			errs = append(errs, fmt.Errorf("log %d: base block checksum wrong", i+1))
			continue
		}
		if logBase == nil {
			logBase = l[:sector]
		}
		switch t := binary.LittleEndian.Uint32(l[28:]); t {
		case logTypeNew:
			es, err := hvleEntries(l)
			if err != nil {
				errs = append(errs, fmt.Errorf("log %d: %w", i+1, err))
			}
			newEntries = append(newEntries, es...)
		case logTypeOld1, logTypeOld2:
			oldLogs = append(oldLogs, l)
		default:
			errs = append(errs, fmt.Errorf("log %d: file type %d is not a transaction log", i+1, t))
		}
	}
	badBase := checksum(out) != binary.LittleEndian.Uint32(out[508:])
	if len(newEntries) > 0 {
		if badBase {
			if logBase == nil {
				return nil, 0, errors.Join(append(errs, errors.New("base block checksum wrong and no log has a valid base block"))...)
			}
			copy(out, logBase)
			binary.LittleEndian.PutUint32(out[28:], 0)
		}
		rec, pages, err := applyNew(out, newEntries)
		if err != nil {
			return nil, 0, errors.Join(append(errs, err)...)
		}
		return rec, pages, nil
	}
	for i, l := range oldLogs {
		rec, pages, err := applyOld(out, l, badBase)
		if err == nil {
			return rec, pages, nil
		}
		errs = append(errs, fmt.Errorf("old-format log %d: %w", i+1, err))
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no log entries"))
	}
	return nil, 0, errors.Join(errs...)
}

// hvleEntries reads the log entries of a new-format log up to the first one
// that is not valid (bad signature, size or hash): Windows stops there too.
func hvleEntries(l []byte) ([]logEntry, error) {
	var out []logEntry
	for off := sector; off+40 <= len(l); {
		e := l[off:]
		if string(e[:4]) != "HvLE" {
			break // end of entries (or an old remnant)
		}
		size := int(binary.LittleEndian.Uint32(e[4:]))
		if size < 40 || size%sector != 0 || size > len(e) {
			return out, fmt.Errorf("log entry at 0x%x: bad size %d", off, size)
		}
		e = e[:size]
		if marvin32(e[40:]) != binary.LittleEndian.Uint64(e[24:]) || marvin32(e[:32]) != binary.LittleEndian.Uint64(e[32:]) {
			return out, fmt.Errorf("log entry at 0x%x: hash mismatch", off)
		}
		ent := logEntry{
			flags:    binary.LittleEndian.Uint32(e[8:]),
			seq:      binary.LittleEndian.Uint32(e[12:]),
			binsSize: binary.LittleEndian.Uint32(e[16:]),
		}
		if ent.binsSize%4096 != 0 || int64(ent.binsSize)+baseBlockSize > MaxHiveSize {
			return out, fmt.Errorf("log entry at 0x%x: bad hive bins size %d", off, ent.binsSize)
		}
		n := int(binary.LittleEndian.Uint32(e[20:]))
		if n > (size-40)/8 {
			return out, fmt.Errorf("log entry at 0x%x: %d dirty pages overflow the entry", off, n)
		}
		data := 40 + 8*n
		for i := 0; i < n; i++ {
			po := binary.LittleEndian.Uint32(e[40+8*i:])
			ps := int(binary.LittleEndian.Uint32(e[44+8*i:]))
			if ps > size-data || uint64(po)+uint64(ps) > uint64(ent.binsSize) {
				return out, fmt.Errorf("log entry at 0x%x: dirty page %d out of range", off, i)
			}
			ent.pages = append(ent.pages, dirtyPage{off: po, data: e[data : data+ps]})
			data += ps
		}
		out = append(out, ent)
		off += size
	}
	return out, nil
}

// applyNew applies the entries from the hive's secondary sequence number
// on, in sequence order across both logs, stopping at the first gap.
func applyNew(out []byte, entries []logEntry) ([]byte, int, error) {
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].seq < entries[j].seq })
	next := binary.LittleEndian.Uint32(out[8:])
	applied, pages := 0, 0
	var last logEntry
	for _, e := range entries {
		if e.seq < next {
			continue // already in the primary file, or a duplicate
		}
		// After a partial reconcile the first entry to apply may be past the
		// secondary sequence number; after that they must be contiguous.
		if applied > 0 && e.seq != next {
			break
		}
		need := baseBlockSize + int(e.binsSize)
		if need > len(out) {
			out = append(out, make([]byte, need-len(out))...)
		}
		for _, p := range e.pages {
			copy(out[baseBlockSize+int(p.off):], p.data)
		}
		pages += len(e.pages)
		last, next = e, e.seq+1
		applied++
	}
	if applied == 0 {
		return nil, 0, fmt.Errorf("no log entry at or after sequence %d", binary.LittleEndian.Uint32(out[8:]))
	}
	binary.LittleEndian.PutUint32(out[4:], last.seq)
	binary.LittleEndian.PutUint32(out[8:], last.seq)
	binary.LittleEndian.PutUint32(out[40:], last.binsSize)
	binary.LittleEndian.PutUint32(out[144:], last.flags)
	binary.LittleEndian.PutUint32(out[508:], checksum(out))
	return out, pages, nil
}

// applyOld applies an old-format (Vista/7) log: a DIRT bitmap of 512-byte
// pages of the hive bins, followed by the dirty pages in bitmap order.
func applyOld(out, l []byte, badBase bool) ([]byte, int, error) {
	if binary.LittleEndian.Uint32(l[4:]) != binary.LittleEndian.Uint32(l[8:]) {
		return nil, 0, errors.New("log was not completely written (sequence numbers differ)")
	}
	// The log must describe this state of the primary: same last-written
	// time (with a damaged base block, the first hive bin's time counts).
	same := string(l[12:20]) == string(out[12:20])
	if badBase && !same {
		same = string(l[12:20]) == string(out[baseBlockSize+20:baseBlockSize+28])
	}
	if !same {
		return nil, 0, errors.New("log belongs to another state of the hive (timestamps differ)")
	}
	binsSize := int(binary.LittleEndian.Uint32(l[40:]))
	if binsSize%4096 != 0 || binsSize+baseBlockSize > MaxHiveSize {
		return nil, 0, fmt.Errorf("bad hive bins size %d", binsSize)
	}
	if len(l) < sector+4 || string(l[sector:sector+4]) != "DIRT" {
		return nil, 0, errors.New("no DIRT dirty vector")
	}
	nbits := binsSize / sector
	bitmap := l[sector+4:]
	if len(bitmap) < (nbits+7)/8 {
		return nil, 0, errors.New("dirty vector truncated")
	}
	bitmap = bitmap[:(nbits+7)/8]
	pages := 0
	pageOff := (sector + 4 + len(bitmap) + sector - 1) / sector * sector
	if need := baseBlockSize + binsSize; need > len(out) {
		out = append(out, make([]byte, need-len(out))...)
	}
	for i := 0; i < nbits; i++ {
		if bitmap[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		if pageOff+sector > len(l) {
			return nil, 0, fmt.Errorf("dirty page for bit %d beyond the end of the log", i)
		}
		copy(out[baseBlockSize+sector*i:], l[pageOff:pageOff+sector])
		pageOff += sector
		pages++
	}
	if badBase {
		copy(out, l[:sector])
	}
	binary.LittleEndian.PutUint32(out[28:], 0)
	seq := binary.LittleEndian.Uint32(l[4:])
	binary.LittleEndian.PutUint32(out[4:], seq)
	binary.LittleEndian.PutUint32(out[8:], seq)
	binary.LittleEndian.PutUint32(out[40:], uint32(binsSize))
	binary.LittleEndian.PutUint32(out[508:], checksum(out))
	return out, pages, nil
}

// marvin32 is the Marvin32 hash with the seed Windows uses for HvLE entries.
func marvin32(b []byte) uint64 {
	const seed = 0x82EF4D887A4E55C5
	lo, hi := uint32(seed&0xFFFFFFFF), uint32(seed>>32)
	mix := func() {
		hi ^= lo
		lo = bits.RotateLeft32(lo, 20)
		lo += hi
		hi = bits.RotateLeft32(hi, 9)
		hi ^= lo
		lo = bits.RotateLeft32(lo, 27)
		lo += hi
		hi = bits.RotateLeft32(hi, 19)
	}
	for len(b) >= 4 {
		lo += binary.LittleEndian.Uint32(b)
		mix()
		b = b[4:]
	}
	var final uint32
	switch len(b) {
	case 0:
		final = 0x80
	case 1:
		final = 0x8000 | uint32(b[0])
	case 2:
		final = 0x800000 | uint32(binary.LittleEndian.Uint16(b))
	case 3:
		final = 0x80000000 | uint32(b[2])<<16 | uint32(binary.LittleEndian.Uint16(b))
	}
	lo += final
	mix()
	mix()
	return uint64(hi)<<32 | uint64(lo)
}
