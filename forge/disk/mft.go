package disk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// rawVolume is just enough NTFS to read, patch and rewrite whole MFT
// records of an unmounted volume file. It is used for the edits ntfs-3g
// cannot express ($SI times that differ from $FN, the $SI USN field, the
// journal without an unnamed $DATA) and to read sequence numbers.
type rawVolume struct {
	f       *os.File
	cluster int64
	recSize int64
	mirror  int64     // byte offset of $MFTMirr
	runs    []dataRun // $MFT data runs
}

type dataRun struct {
	vcn, length int64
	lcn         int64 // -1 for a sparse run
}

const (
	attrStdInfo  = 0x10
	attrAttrList = 0x20
	attrFileName = 0x30
	attrData     = 0x80
	attrEnd      = 0xFFFFFFFF
)

func openRawVolume(path string, write bool) (*rawVolume, error) {
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	v := &rawVolume{f: f}
	if err := v.init(); err != nil {
		f.Close()
		return nil, fmt.Errorf("volume %s: %w", path, err)
	}
	return v, nil
}

func (v *rawVolume) Close() error { return v.f.Close() }

func (v *rawVolume) init() error {
	boot := make([]byte, 512)
	if _, err := v.f.ReadAt(boot, 0); err != nil {
		return fmt.Errorf("boot sector: %w", err)
	}
	if string(boot[3:11]) != "NTFS    " {
		return errors.New("no NTFS boot sector")
	}
	bps := int64(binary.LittleEndian.Uint16(boot[0x0B:]))
	spc := int64(boot[0x0D])
	if spc > 0x80 {
		spc = 1 << (256 - spc)
	}
	if bps < 256 || bps > 4096 || spc == 0 {
		return fmt.Errorf("bad geometry: %d bytes/sector, %d sectors/cluster", bps, spc)
	}
	v.cluster = bps * spc
	mftLCN := int64(binary.LittleEndian.Uint64(boot[0x30:]))
	v.mirror = int64(binary.LittleEndian.Uint64(boot[0x38:])) * v.cluster
	cpr := int8(boot[0x40])
	if cpr > 0 {
		v.recSize = int64(cpr) * v.cluster
	} else {
		v.recSize = 1 << uint(-cpr)
	}
	if v.recSize < 512 || v.recSize > 4096 {
		return fmt.Errorf("bad MFT record size %d", v.recSize)
	}
	// Record 0 sits at the start of the MFT; read it through a one-run
	// map, then switch to its real run list.
	v.runs = []dataRun{{0, (v.recSize + v.cluster - 1) / v.cluster, mftLCN}}
	rec0, err := v.readRecord(0)
	if err != nil {
		return err
	}
	runs, err := mftRuns(rec0)
	if err != nil {
		return fmt.Errorf("$MFT record 0: %w", err)
	}
	v.runs = runs
	return nil
}

// mftRuns decodes the run list of $MFT's unnamed $DATA.
func mftRuns(rec []byte) ([]dataRun, error) {
	for _, a := range attributes(rec) {
		if a.typ == attrAttrList {
			return nil, errors.New("$MFT has an attribute list (volume too fragmented)")
		}
		if a.typ != attrData || a.nameLen != 0 || a.resident {
			continue
		}
		b := rec[a.off : a.off+a.length]
		if len(b) < 0x40 {
			return nil, errors.New("$DATA header truncated")
		}
		vcn := int64(binary.LittleEndian.Uint64(b[0x10:]))
		return decodeRuns(b, int(binary.LittleEndian.Uint16(b[0x20:])), vcn)
	}
	return nil, errors.New("no non-resident $DATA")
}

func decodeRuns(b []byte, pos int, vcn int64) ([]dataRun, error) {
	var runs []dataRun
	var lcn int64
	for pos < len(b) && b[pos] != 0 {
		nlen, noff := int(b[pos]&0x0F), int(b[pos]>>4)
		if nlen == 0 || nlen > 8 || noff > 8 || pos+1+nlen+noff > len(b) {
			return nil, fmt.Errorf("bad dataRun header 0x%02x at %d", b[pos], pos)
		}
		length := leInt(b[pos+1:pos+1+nlen], false)
		if length <= 0 {
			return nil, fmt.Errorf("bad dataRun length at %d", pos)
		}
		r := dataRun{vcn: vcn, length: length, lcn: -1}
		if noff > 0 {
			lcn += leInt(b[pos+1+nlen:pos+1+nlen+noff], true)
			r.lcn = lcn
		}
		runs = append(runs, r)
		vcn += length
		pos += 1 + nlen + noff
	}
	return runs, nil
}

// leInt decodes a little-endian integer of 1-8 bytes.
func leInt(b []byte, signed bool) int64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if signed && len(b) < 8 && b[len(b)-1]&0x80 != 0 {
		v |= ^uint64(0) << (8 * uint(len(b)))
	}
	return int64(v)
}

type piece struct{ off, length int64 }

// pieces maps MFT record n to (volume offset, length) pieces.
func (v *rawVolume) pieces(n uint64) ([]piece, error) {
	start := int64(n) * v.recSize
	end := start + v.recSize
	var out []piece
	for pos := start; pos < end; {
		vcn, inner := pos/v.cluster, pos%v.cluster
		found := false
		for _, r := range v.runs {
			if vcn < r.vcn || vcn >= r.vcn+r.length {
				continue
			}
			if r.lcn < 0 {
				return nil, fmt.Errorf("MFT record %d lies in a sparse dataRun", n)
			}
			take := min(end-pos, (r.vcn+r.length-vcn)*v.cluster-inner)
			out = append(out, piece{(r.lcn+vcn-r.vcn)*v.cluster + inner, take})
			pos += take
			found = true
			break
		}
		if !found {
			return nil, fmt.Errorf("MFT record %d is outside the $MFT data", n)
		}
	}
	return out, nil
}

// readRecord returns record n with its update sequence fixups undone.
func (v *rawVolume) readRecord(n uint64) ([]byte, error) {
	ps, err := v.pieces(n)
	if err != nil {
		return nil, err
	}
	rec := make([]byte, 0, v.recSize)
	for _, p := range ps {
		buf := make([]byte, p.length)
		if _, err := v.f.ReadAt(buf, p.off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("MFT record %d at offset %d: %w", n, p.off, err)
		}
		rec = append(rec, buf...)
	}
	if err := unfixup(rec); err != nil {
		return nil, fmt.Errorf("MFT record %d: %w", n, err)
	}
	return rec, nil
}

// writeRecord applies the fixups to a copy of rec and writes it back, to
// $MFTMirr as well for records 0-3 (the mirror must stay identical).
func (v *rawVolume) writeRecord(n uint64, rec []byte) error {
	out := append([]byte(nil), rec...)
	if err := fixup(out); err != nil {
		return fmt.Errorf("MFT record %d: %w", n, err)
	}
	ps, err := v.pieces(n)
	if err != nil {
		return err
	}
	pos := int64(0)
	for _, p := range ps {
		if _, err := v.f.WriteAt(out[pos:pos+p.length], p.off); err != nil {
			return fmt.Errorf("MFT record %d: %w", n, err)
		}
		pos += p.length
	}
	if n < 4 {
		if _, err := v.f.WriteAt(out, v.mirror+int64(n)*v.recSize); err != nil {
			return fmt.Errorf("$MFTMirr record %d: %w", n, err)
		}
	}
	return nil
}

// canonicalUpdateSequence is the update sequence number Build leaves in
// every MFT record.
const canonicalUpdateSequence = 1

// canonicalUpdateSequences sets every MFT record's update sequence number
// to canonicalUpdateSequence. ntfs-3g bumps it on each write of a record,
// and how often it writes one depends on when the kernel's FUSE release
// arrives: under load a record was written once more in one of two builds
// of the same Spec, and the images differed in those two bytes (at +0x30
// and the end of each 512-byte stride) alone. Nothing reads the value of a
// record at rest; it only detects torn writes.
func (v *rawVolume) canonicalUpdateSequences() error {
	var clusters int64
	for _, r := range v.runs {
		clusters = max(clusters, r.vcn+r.length)
	}
	for n := uint64(0); n < uint64(clusters*v.cluster/v.recSize); n++ {
		rec, err := v.readRecord(n)
		if err != nil {
			continue // never used (no FILE signature), or not ours to repair
		}
		off := int(binary.LittleEndian.Uint16(rec[4:]))
		if binary.LittleEndian.Uint16(rec[off:]) == canonicalUpdateSequence {
			continue
		}
		binary.LittleEndian.PutUint16(rec[off:], canonicalUpdateSequence)
		if err := v.writeRecord(n, rec); err != nil {
			return err
		}
	}
	return nil
}

func usaBounds(rec []byte) (off, count int, err error) {
	if len(rec) < 0x30 || string(rec[:4]) != "FILE" {
		return 0, 0, errors.New("no FILE signature")
	}
	off = int(binary.LittleEndian.Uint16(rec[4:]))
	count = int(binary.LittleEndian.Uint16(rec[6:]))
	if count < 1 || (count-1)*512 > len(rec) || off+2*count > len(rec) || off < 0x28 {
		return 0, 0, fmt.Errorf("bad update sequence array (offset %d, count %d)", off, count)
	}
	return off, count, nil
}

// unfixup restores the last two bytes of every 512-byte stride from the
// update sequence array, checking the stride's copy of the sequence value.
func unfixup(rec []byte) error {
	off, count, err := usaBounds(rec)
	if err != nil {
		return err
	}
	for i := 1; i < count; i++ {
		end := i * 512
		if rec[end-2] != rec[off] || rec[end-1] != rec[off+1] {
			return fmt.Errorf("update sequence mismatch in stride %d", i)
		}
		copy(rec[end-2:end], rec[off+2*i:off+2*i+2])
	}
	return nil
}

// fixup is unfixup's inverse. The sequence value is kept as it is: the
// record is rewritten in place, so there is no torn-write to detect.
func fixup(rec []byte) error {
	off, count, err := usaBounds(rec)
	if err != nil {
		return err
	}
	for i := 1; i < count; i++ {
		end := i * 512
		copy(rec[off+2*i:off+2*i+2], rec[end-2:end])
		copy(rec[end-2:end], rec[off:off+2])
	}
	return nil
}

// usedBytes is the record's "bytes in use", clamped to the buffer.
func usedBytes(rec []byte) int {
	used := int(binary.LittleEndian.Uint32(rec[0x18:]))
	if used > len(rec) || used < int(binary.LittleEndian.Uint16(rec[0x14:])) {
		used = len(rec)
	}
	return used
}

type attr struct {
	off, length int
	typ         uint32
	resident    bool
	nameLen     int
	valueOff    int // resident only: offset of the value within rec
	valueLen    int
}

// attributes lists the attributes of a fixed-up record, stopping at the
// end marker or at the first header that does not fit.
func attributes(rec []byte) []attr {
	if len(rec) < 0x18 {
		return nil
	}
	var out []attr
	off := int(binary.LittleEndian.Uint16(rec[0x14:]))
	used := usedBytes(rec)
	for off+16 <= used {
		typ := binary.LittleEndian.Uint32(rec[off:])
		if typ == attrEnd {
			break
		}
		length := int(binary.LittleEndian.Uint32(rec[off+4:]))
		if length < 16 || off+length > used || length%8 != 0 {
			break
		}
		a := attr{off: off, length: length, typ: typ, resident: rec[off+8] == 0, nameLen: int(rec[off+9])}
		if a.resident {
			if length < 0x18 {
				break
			}
			a.valueLen = int(binary.LittleEndian.Uint32(rec[off+0x10:]))
			a.valueOff = off + int(binary.LittleEndian.Uint16(rec[off+0x14:]))
			if a.valueOff+a.valueLen > off+length || a.valueOff < off {
				break
			}
		}
		out = append(out, a)
		off += length
	}
	return out
}

// Offsets of the four times inside $STANDARD_INFORMATION and $FILE_NAME
// values, in B, M, C, A order.
var (
	siTimeOff = [4]int{0, 8, 16, 24}
	fnTimeOff = [4]int{8, 16, 24, 32}
)

func (t Times) list() [4]uint64 { return [4]uint64{uint64(t.B), uint64(t.M), uint64(t.C), uint64(t.A)} }

// patchTimes writes the non-zero times of si into $SI and of fn into
// every $FN of the record. It reports an error if a wanted attribute is
// missing, so a rawtimes op can never silently do nothing.
func patchTimes(rec []byte, si, fn Times) error {
	var hasSI, hasFN bool
	for _, a := range attributes(rec) {
		var offs [4]int
		var want [4]uint64
		switch {
		case a.typ == attrStdInfo && a.resident && a.valueLen >= 48:
			offs, want, hasSI = siTimeOff, si.list(), true
		case a.typ == attrFileName && a.resident && a.valueLen >= 66:
			offs, want, hasFN = fnTimeOff, fn.list(), true
		default:
			continue
		}
		for i, v := range want {
			if v != 0 {
				binary.LittleEndian.PutUint64(rec[a.valueOff+offs[i]:], v)
			}
		}
	}
	if si != (Times{}) && !hasSI {
		return errors.New("no $STANDARD_INFORMATION to patch")
	}
	if fn != (Times{}) && !hasFN {
		return errors.New("no $FILE_NAME to patch")
	}
	return nil
}

// restoreZeroSITimes puts ft into a $SI whose four times are all zero.
// ntfs-3g never loads $MFT's own $SI times, so a mount that grows the MFT
// writes record 0 back with zeros; the format time is what mkntfs wrote.
func restoreZeroSITimes(rec []byte, ft uint64) bool {
	for _, a := range attributes(rec) {
		if a.typ != attrStdInfo || !a.resident || a.valueLen < 32 {
			continue
		}
		v := rec[a.valueOff:]
		for _, o := range siTimeOff {
			if binary.LittleEndian.Uint64(v[o:]) != 0 {
				return false
			}
		}
		for _, o := range siTimeOff {
			binary.LittleEndian.PutUint64(v[o:], ft)
		}
		return true
	}
	return false
}

// setSIUSN writes the entry's last USN into the 72-byte $SI (offset 0x40).
func setSIUSN(rec []byte, usn uint64) bool {
	for _, a := range attributes(rec) {
		if a.typ == attrStdInfo && a.resident && a.valueLen >= 72 {
			binary.LittleEndian.PutUint64(rec[a.valueOff+0x40:], usn)
			return true
		}
	}
	return false
}

// dropEmptyUnnamedData removes a resident, empty, unnamed $DATA. Every file
// ntfs-3g creates has one; on $UsnJrnl it makes TSK's usnjls read that
// empty stream instead of $J and print nothing.
func dropEmptyUnnamedData(rec []byte) error {
	for _, a := range attributes(rec) {
		if a.typ != attrData || a.nameLen != 0 {
			continue
		}
		if !a.resident || a.valueLen != 0 {
			return errors.New("unnamed $DATA is not empty")
		}
		used := usedBytes(rec)
		copy(rec[a.off:], rec[a.off+a.length:used])
		clear(rec[used-a.length : used])
		binary.LittleEndian.PutUint32(rec[0x18:], uint32(used-a.length))
		return nil
	}
	return nil
}

// sequence returns the sequence number stored in the record header.
func sequence(rec []byte) uint16 { return binary.LittleEndian.Uint16(rec[0x10:]) }
