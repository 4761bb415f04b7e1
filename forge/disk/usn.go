package disk

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// USN reason flags (USN_REASON_*), for Op.Reason.
const (
	ReasonDataOverwrite      uint32 = 0x1
	ReasonDataExtend         uint32 = 0x2
	ReasonDataTruncation     uint32 = 0x4
	ReasonNamedDataOverwrite uint32 = 0x10
	ReasonNamedDataExtend    uint32 = 0x20
	ReasonNamedDataTrunc     uint32 = 0x40
	ReasonFileCreate         uint32 = 0x100
	ReasonFileDelete         uint32 = 0x200
	ReasonEAChange           uint32 = 0x400
	ReasonSecurityChange     uint32 = 0x800
	ReasonRenameOldName      uint32 = 0x1000
	ReasonRenameNewName      uint32 = 0x2000
	ReasonIndexableChange    uint32 = 0x4000
	ReasonBasicInfoChange    uint32 = 0x8000
	ReasonHardLinkChange     uint32 = 0x10000
	ReasonStreamChange       uint32 = 0x200000
	ReasonClose              uint32 = 0x80000000
)

const (
	jrnlRoot = "$UsnJrnl"
	jrnlPath = `\$Extend\$UsnJrnl`
)

// createJournal makes $Extend\$UsnJrnl with $J and $Max. Both ntfs-3g
// drivers refuse to create anything inside $Extend, but lowntfs-3g's
// rename does not check the target directory, so the file is created in
// the root, moved, and given the 8.3 name $USNJRNL (which makes its $FN
// "DOS and Windows" like the other system files). Its empty unnamed $DATA
// is removed after the last mount.
func (b *builder) createJournal(ctx context.Context) error {
	j := b.spec.Journal
	maxSize := j.MaxSize
	if maxSize == 0 {
		maxSize = 32 << 20
	}
	if err := b.m.mount(ctx, "ntfs-3g", j.Created); err != nil {
		return err
	}
	root := filepath.Join(b.m.mnt, jrnlRoot)
	maxRec := make([]byte, 32)
	binary.LittleEndian.PutUint64(maxRec[0:], uint64(maxSize))
	binary.LittleEndian.PutUint64(maxRec[8:], uint64(maxSize/4))
	binary.LittleEndian.PutUint64(maxRec[16:], uint64(j.Created)) // UsnJournalID
	binary.LittleEndian.PutUint64(maxRec[24:], uint64(j.First))   // LowestValidUsn
	attrs := make([]byte, 4)
	binary.LittleEndian.PutUint32(attrs, 0x26) // hidden, system, archive
	err := writeFile(root, nil, os.O_CREATE|os.O_EXCL|os.O_WRONLY)
	if err == nil {
		err = writeFile(root+":$J", nil, os.O_CREATE|os.O_WRONLY)
	}
	if err == nil {
		err = writeFile(root+":$Max", maxRec, os.O_CREATE|os.O_WRONLY)
	}
	if err == nil {
		err = syscall.Setxattr(root, "system.ntfs_attrib", attrs, 0)
	}
	if err != nil {
		b.m.abort()
		return err
	}
	if err := b.m.unmount(); err != nil {
		return err
	}

	if err := b.m.mount(ctx, "lowntfs-3g", j.Created); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(b.m.mnt, jrnlRoot), filepath.Join(b.m.mnt, "$Extend", jrnlRoot)); err != nil {
		b.m.abort()
		return fmt.Errorf("move into $Extend: %w", err)
	}
	if err := b.m.unmount(); err != nil {
		return err
	}

	if err := b.m.mount(ctx, "ntfs-3g", j.Created); err != nil {
		return err
	}
	p := b.host(jrnlPath)
	err = b.dosName(p, "$USNJRNL")
	if err == nil {
		var st os.FileInfo
		if st, err = os.Lstat(p); err == nil {
			b.journalEntry = inodeOf(st)
		}
	}
	if err != nil {
		b.m.abort()
		return err
	}
	return b.m.unmount()
}

// usn appends one USN_RECORD_V2 for op.Path to $J. The file and parent
// references need the sequence numbers, which ntfs-3g does not expose;
// they are read from the volume file, which is flushed because a usn op
// never shares a mount with an earlier changing op.
func (b *builder) usn(op *Op, p string) error {
	file, _, _ := cutStream(p)
	st, err := os.Lstat(file)
	if err != nil {
		return err
	}
	pst, err := os.Lstat(filepath.Dir(file))
	if err != nil {
		return err
	}
	entry, parent := inodeOf(st), inodeOf(pst)
	seqs, err := b.sequences(entry, parent)
	if err != nil {
		return err
	}
	seq, pseq := seqs[0], seqs[1]
	attrs := op.Attrs
	if attrs == 0 {
		buf := make([]byte, 4)
		if n, err := syscall.Getxattr(file, "system.ntfs_attrib", buf); err == nil && n == 4 {
			attrs = binary.LittleEndian.Uint32(buf)
		}
		if st.IsDir() {
			attrs |= 0x10
		}
	}
	rec := usnRecord{
		ref:    entry | uint64(seq)<<48,
		parent: parent | uint64(pseq)<<48,
		time:   op.At,
		reason: op.Reason,
		attrs:  attrs,
		name:   winBase(op.Path),
	}
	usn, err := appendUSN(b.host(jrnlPath)+":$J", b.spec.Journal.First, &rec)
	if err != nil {
		return fmt.Errorf("append to $J: %w", err)
	}
	b.lastUSN[entry] = usn
	return nil
}

func cutStream(p string) (file, stream string, ok bool) {
	dir, base := filepath.Split(p)
	for i := 0; i < len(base); i++ {
		if base[i] == ':' {
			return dir + base[:i], base[i+1:], true
		}
	}
	return p, "", false
}

func (b *builder) sequences(entries ...uint64) ([]uint16, error) {
	v, err := openRawVolume(b.vol, false)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	out := make([]uint16, len(entries))
	for i, n := range entries {
		rec, err := v.readRecord(n)
		if err != nil {
			return nil, err
		}
		out[i] = sequence(rec)
	}
	return out, nil
}

type usnRecord struct {
	ref, parent   uint64
	usn           uint64
	time          event.FileTime
	reason        uint32
	source, attrs uint32
	name          string
}

// marshal encodes a USN_RECORD_V2: 60-byte header, UTF-16LE name, padded
// to 8 bytes.
func (r *usnRecord) marshal() []byte {
	name := utf16.Encode([]rune(r.name))
	length := (60 + 2*len(name) + 7) &^ 7
	b := make([]byte, length)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(length))
	le.PutUint16(b[4:], 2) // major; minor 0
	le.PutUint64(b[8:], r.ref)
	le.PutUint64(b[16:], r.parent)
	le.PutUint64(b[24:], r.usn)
	le.PutUint64(b[32:], uint64(r.time))
	le.PutUint32(b[40:], r.reason)
	le.PutUint32(b[44:], r.source)
	// SecurityId (48) stays 0.
	le.PutUint32(b[52:], r.attrs)
	le.PutUint16(b[56:], uint16(2*len(name)))
	le.PutUint16(b[58:], 60)
	for i, u := range name {
		le.PutUint16(b[60+2*i:], u)
	}
	return b
}

// nextUSN is where a record of length bytes goes after a $J of size bytes:
// 8-byte aligned, never straddling a 4 KiB page (Windows pads pages with
// zeros), and not before first.
func nextUSN(size, first int64, length int) int64 {
	usn := (max(size, first) + 7) &^ 7
	if usn%4096+int64(length) > 4096 {
		usn = (usn/4096 + 1) * 4096
	}
	return usn
}

// appendUSN writes rec at the next USN of the $J stream at path and
// returns that USN.
func appendUSN(path string, first int64, rec *usnRecord) (uint64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return 0, err
	}
	length := len(rec.marshal())
	usn := nextUSN(size, first, length)
	rec.usn = uint64(usn)
	if _, err := f.WriteAt(rec.marshal(), usn); err != nil {
		f.Close()
		return 0, err
	}
	return uint64(usn), f.Close()
}
