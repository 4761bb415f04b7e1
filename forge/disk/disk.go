// Package disk builds small NTFS disk images whose files carry exactly the
// times, streams, names and USN records a scenario asks for. Callers import
// it as fdisk.
//
// How: mkntfs formats a volume file under a stopped fake clock
// (libfaketime), then every operation runs inside an ntfs-3g FUSE mount
// whose clock is stopped at the operation's time, so the $STANDARD_INFORMATION
// and $FILE_NAME stamps ntfs-3g writes are exact to 100 ns. What ntfs-3g
// cannot express ($SI times that differ from $FN, the $SI USN field, a
// journal without an unnamed $DATA, $MFT's own $SI times) is patched
// straight into the MFT records after the last mount. Finally the volume
// is copied behind an MBR or GPT written by sfdisk, or kept bare.
//
// What each operation does to times (T = Op.At; checked with TSK istat):
//
//	mkdir, file       new entry: $SI and $FN all four = T (missing parents too)
//	write, append, ads $SI M, C = T; $FN unchanged
//	touch             $SI M and/or A = Op.SI.M/Op.SI.A, $SI C = T; $FN unchanged
//	settimes          B/M/A = Op.SI.B/M/A in $SI and every $FN; both C = T
//	move              $SI C = T; new $FN = the $SI times just before the move
//	                  (missing target directories are created, stamped T)
//	delete            entry unallocated, attributes kept (recursive for dirs)
//	usn               appends a USN_RECORD_V2 stamped T to $J with the file's
//	                  current reference and its parent's; the file's $SI
//	                  USN field gets its last record's USN
//	rawtimes          non-zero Op.SI/Op.FN times written into the record
//	                  after the last mount (every $FN; the parent's $I30
//	                  index copy keeps the ntfs-3g times)
//
// Creating, deleting or moving a child also sets the parent directory's $SI
// M and C to T (so deleting a directory stamps it too: its children go
// first). ntfs-3g hands a new file the lowest free MFT entry, so a
// file or mkdir after a delete may reuse the deleted entry; Build warns.
//
// Mount batching: consecutive ops with the same At share one mount. This
// gives the same bytes as one mount per op because every stamp in that
// mount is T either way, except in two cases, where Build starts a new
// mount: after touch or settimes (ntfs-3g then suppresses later time
// updates to that inode for the rest of the mount), and before a usn op
// that follows a changing op (usn reads the sequence numbers of the file
// and its parent from the volume file, which must be flushed).
// Spec.OneMountPerOp turns batching off; the tests compare both.
//
// Determinism: the same Spec built twice with the same mkntfs/ntfs-3g
// versions gives a byte-identical raw image (mkntfs seeds its random
// numbers, e.g. the volume serial, from the fake clock; partition-table
// ids are fixed, and finish gives every MFT record the same update
// sequence number, which ntfs-3g bumps a timing-dependent number of
// times). Only Convert's VMDK and VHDX carry random ids (qemu-img).
package disk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// Op kinds.
const (
	OpMkdir    = "mkdir"
	OpFile     = "file"
	OpWrite    = "write"
	OpAppend   = "append"
	OpADS      = "ads"
	OpTouch    = "touch"
	OpSetTimes = "settimes"
	OpMove     = "move"
	OpDelete   = "delete"
	OpUSN      = "usn"
	OpRawTimes = "rawtimes"
)

// PartitionStart is the first sector of the NTFS partition on MBR and GPT
// disks (fls -o 2048).
const PartitionStart = 2048

// Times are the four NTFS times; zero means "leave as it is".
type Times struct {
	B, M, C, A event.FileTime
}

// Journal asks for $Extend\$UsnJrnl.
type Journal struct {
	Created event.FileTime // times of the journal file and its UsnJournalID
	MaxSize int64          // $Max MaximumSize; 0 = 32 MiB (AllocationDelta = MaxSize/4)
	// First is the USN of the first record (a multiple of 4096). The bytes
	// of $J before it are a sparse hole, as in a journal Windows has
	// trimmed. With First 0 and under ~700 bytes of records ntfs-3g keeps
	// $J resident, which Windows never does; TSK and parsers/ntfs read
	// both, but set First (e.g. 1 MiB) for a realistic non-resident $J.
	First int64
}

// Spec describes one disk.
type Spec struct {
	Size      int64          // volume bytes (multiple of 4096, at least 2 MiB)
	Label     string         // volume label
	Formatted event.FileTime // time of mkntfs: all system files carry it
	Scheme    string         // "mbr", "gpt" or "" (bare volume)
	Journal   *Journal       // nil = no $UsnJrnl
	Ops       []Op           // applied in order (callers sort by time)

	// Serial is the 64-bit volume serial number (fsstat shows it in hex;
	// Windows shows its low 32 bits, e.g. in LNK and Prefetch files).
	// 0 keeps mkntfs's, which the format clock seeds: the same Formatted
	// gives the same serial.
	Serial uint64
	// DiskID and PartUUID override the fixed identifiers of the partition
	// table (MBR: "0x1234abcd"; GPT: GUIDs) so hosts can differ.
	DiskID, PartUUID string
	// OneMountPerOp disables mount batching (see the package comment).
	OneMountPerOp bool
	// Warn receives warnings (e.g. MFT entry reuse); nil logs them.
	Warn func(msg string)
}

// Op is one timed file-system operation.
type Op struct {
	Kind    string         // one of the Op* constants
	Path    string         // `\Users\a.reyes\Downloads\X.exe`; for ads `path:stream`
	To      string         // move target
	At      event.FileTime // the clock during the operation (1970 or later); rawtimes: 0 = any
	Data    []byte         // content for file, write, append, ads
	SI, FN  Times          // settimes (SI only) and rawtimes
	Reason  uint32         // usn reason flags
	Attrs   uint32         // usn file attributes; 0 = the file's own
	DosName string         // optional 8.3 name for file, mkdir and move
}

// Tools Build and Convert run.
var (
	buildTools   = []string{"mkntfs", "ntfs-3g", "lowntfs-3g", "sfdisk"}
	convertTools = []string{"qemu-img", "ewfacquire", "ewfexport"}
)

// Available returns nil if Build and Convert can run here: root, a
// /dev/fuse device, libfaketime and every external tool; otherwise an
// error naming what is missing.
func Available() error {
	return available(append(append([]string{}, buildTools...), convertTools...))
}

func available(tools []string) error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (ntfs-3g FUSE mounts)")
	}
	if st, err := os.Stat("/dev/fuse"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		missing = append(missing, "/dev/fuse")
	}
	if _, err := fakeTimeLib(); err != nil {
		missing = append(missing, "libfaketimeMT.so.1")
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("forge/disk needs: %s", strings.Join(missing, ", "))
	}
	return nil
}

// validate checks the whole spec before anything is built.
func (s *Spec) validate() error {
	if s.Size < 2<<20 || s.Size%4096 != 0 {
		return fmt.Errorf("volume size %d: want a multiple of 4096, at least 2 MiB", s.Size)
	}
	if _, err := fakeClock(s.Formatted); err != nil {
		return fmt.Errorf("Formatted: %w", err)
	}
	switch s.Scheme {
	case "", "mbr", "gpt":
	default:
		return fmt.Errorf("scheme %q: want mbr, gpt or empty", s.Scheme)
	}
	if j := s.Journal; j != nil {
		if _, err := fakeClock(j.Created); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if j.MaxSize < 0 || j.First < 0 || j.First%4096 != 0 {
			return fmt.Errorf("journal: MaxSize %d / First %d invalid (First must be a multiple of 4096)", j.MaxSize, j.First)
		}
	}
	for i, op := range s.Ops {
		if err := op.validate(s.Journal != nil); err != nil {
			return fmt.Errorf("op %d (%s %s): %w", i, op.Kind, op.Path, err)
		}
	}
	return nil
}

func (op *Op) validate(journal bool) error {
	if op.Kind != OpRawTimes || op.At != 0 {
		if _, err := fakeClock(op.At); err != nil {
			return err
		}
	}
	if err := checkPath(op.Path, op.Kind == OpADS); err != nil {
		return err
	}
	switch op.Kind {
	case OpMkdir, OpFile, OpWrite, OpAppend, OpADS, OpDelete:
	case OpMove:
		if err := checkPath(op.To, false); err != nil {
			return fmt.Errorf("move target: %w", err)
		}
	case OpTouch:
		if op.SI.M == 0 && op.SI.A == 0 {
			return errors.New("touch needs SI.M and/or SI.A")
		}
		if op.SI.B != 0 || op.SI.C != 0 || op.FN != (Times{}) {
			return errors.New("touch sets only SI.M and SI.A (use settimes or rawtimes)")
		}
	case OpSetTimes:
		if op.SI.B == 0 && op.SI.M == 0 && op.SI.A == 0 {
			return errors.New("settimes needs SI.B, SI.M and/or SI.A")
		}
		if op.SI.C != 0 || op.FN != (Times{}) {
			return errors.New("settimes sets SI.B/M/A in $SI and every $FN, C = At (use rawtimes for more)")
		}
	case OpUSN:
		if !journal {
			return errors.New("usn needs Spec.Journal")
		}
		if op.Reason == 0 {
			return errors.New("usn needs Reason")
		}
	case OpRawTimes:
		if op.SI == (Times{}) && op.FN == (Times{}) {
			return errors.New("rawtimes needs at least one SI or FN time")
		}
	default:
		return fmt.Errorf("unknown op kind %q", op.Kind)
	}
	if op.DosName != "" && op.Kind != OpFile && op.Kind != OpMkdir && op.Kind != OpMove {
		return errors.New("DosName only goes with file, mkdir and move")
	}
	return nil
}

// checkPath accepts `\a\b` (and `\a\b:stream` when stream is true).
func checkPath(p string, stream bool) error {
	if !strings.HasPrefix(p, `\`) || p == `\` {
		return fmt.Errorf("path %q: want an absolute Windows path like \\dir\\file", p)
	}
	if strings.ContainsAny(p, "/\x00") {
		return fmt.Errorf("path %q: '/' and NUL are not allowed", p)
	}
	parts := strings.Split(p[1:], `\`)
	for i, c := range parts {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("path %q: empty, . or .. component", p)
		}
		n := strings.Count(c, ":")
		switch {
		case stream && i == len(parts)-1:
			if n != 1 || strings.HasPrefix(c, ":") || strings.HasSuffix(c, ":") {
				return fmt.Errorf("path %q: ads wants file:stream", p)
			}
		case n > 0:
			return fmt.Errorf("path %q: ':' only names a stream of an ads op", p)
		}
		if len(utf16.Encode([]rune(c))) > 255 {
			return fmt.Errorf("path %q: name longer than 255 UTF-16 units", p)
		}
	}
	return nil
}

// builder holds the state of one Build.
type builder struct {
	spec Spec
	vol  string
	m    *mounter
	warn func(string)

	open     bool           // a mount is up
	at       event.FileTime // its clock
	dirty    bool           // a changing op ran in this mount
	timesSet bool           // touch/settimes ran in this mount

	journalEntry uint64
	lastUSN      map[uint64]uint64 // MFT entry -> last USN written for it
	raw          []rawEdit
	freed        map[uint64]string // MFT entries of deleted paths
}

type rawEdit struct {
	entry  uint64
	si, fn Times
	path   string
}

// Build writes a raw disk (Scheme mbr/gpt) or bare volume to outRaw. The
// file is written next to outRaw under a temporary name and renamed at the
// end, so a failed build never leaves a half image at outRaw.
func Build(ctx context.Context, spec Spec, outRaw string) (err error) {
	if err := spec.validate(); err != nil {
		return fmt.Errorf("forge disk %s: %w", outRaw, err)
	}
	if err := available(buildTools); err != nil {
		return err
	}
	lib, _ := fakeTimeLib()
	work, err := os.MkdirTemp("", "forge-disk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b := &builder{
		spec:    spec,
		vol:     filepath.Join(work, "volume.img"),
		lastUSN: map[uint64]uint64{},
		freed:   map[uint64]string{},
		warn:    spec.Warn,
	}
	if b.warn == nil {
		b.warn = func(msg string) { log.Printf("forge disk %s: warning: %s", outRaw, msg) }
	}
	mnt := filepath.Join(work, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return err
	}
	b.m = &mounter{vol: b.vol, mnt: mnt, lib: lib}
	defer b.m.abort() // no-op unless an error left a mount behind
	if err := b.build(ctx); err != nil {
		return fmt.Errorf("forge disk %s: %w", outRaw, err)
	}
	if err := writeImage(ctx, b.vol, &spec, outRaw); err != nil {
		return fmt.Errorf("forge disk %s: %w", outRaw, err)
	}
	return nil
}

func (b *builder) build(ctx context.Context) error {
	if err := b.format(ctx); err != nil {
		return err
	}
	if b.spec.Journal != nil {
		if err := b.createJournal(ctx); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	for i := range b.spec.Ops {
		op := &b.spec.Ops[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.prepare(ctx, op); err != nil {
			return fmt.Errorf("op %d (%s %s): %w", i, op.Kind, op.Path, err)
		}
		if err := b.apply(op); err != nil {
			return fmt.Errorf("op %d (%s %s) at %s: %w", i, op.Kind, op.Path, op.At, err)
		}
	}
	if err := b.close(); err != nil {
		return err
	}
	return b.finish()
}

// format runs mkntfs under the format clock. The clock also seeds mkntfs's
// random numbers (volume serial, ...), so the volume is reproducible.
func (b *builder) format(ctx context.Context) error {
	f, err := os.Create(b.vol)
	if err != nil {
		return err
	}
	if err := f.Truncate(b.spec.Size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	clock, _ := fakeClock(b.spec.Formatted)
	start := 0
	if b.spec.Scheme != "" {
		start = PartitionStart
	}
	// -Q: quick format leaves free space zero (compressible images);
	// -p/-H/-S: hidden sectors = partition start, conventional geometry.
	args := []string{"-F", "-Q", "-q", "-s", "512", "-c", "4096", "-p", fmt.Sprint(start), "-H", "255", "-S", "63"}
	if b.spec.Label != "" {
		args = append(args, "-L", b.spec.Label)
	}
	args = append(args, b.vol)
	cmd := exec.CommandContext(ctx, "mkntfs", args...)
	cmd.Env = fakeEnv(b.m.lib, clock)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mkntfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	if b.spec.Serial != 0 {
		return setSerial(b.vol, b.spec.Serial)
	}
	return nil
}

// setSerial writes the volume serial (boot sector offset 0x48) into the
// boot sector and its backup in the volume's last sector. ntfs-3g reads
// the serial from the boot sector only and NTFS has no boot checksum to fix.
func setSerial(vol string, serial uint64) error {
	f, err := os.OpenFile(vol, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	boot := make([]byte, 512)
	if _, err := f.ReadAt(boot, 0); err != nil {
		return fmt.Errorf("boot sector: %w", err)
	}
	backup := int64(binary.LittleEndian.Uint64(boot[0x28:])) * 512
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if backup <= 0 || backup+512 > st.Size() {
		return fmt.Errorf("backup boot sector at %d is outside the volume", backup)
	}
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], serial)
	for _, off := range []int64{0, backup} {
		if _, err := f.WriteAt(v[:], off+0x48); err != nil {
			return fmt.Errorf("volume serial at %d: %w", off+0x48, err)
		}
	}
	return f.Close()
}

// host maps a Windows path into the current mount.
func (b *builder) host(p string) string {
	return filepath.Join(b.m.mnt, filepath.FromSlash(strings.ReplaceAll(p, `\`, "/")))
}

// prepare makes sure the right mount is up for op (see the package
// comment for when ops share a mount).
func (b *builder) prepare(ctx context.Context, op *Op) error {
	join := b.open && !b.timesSet
	switch {
	case op.Kind == OpRawTimes:
		// rawtimes only resolves its path; any mount will do.
	case b.spec.OneMountPerOp || op.At != b.at:
		join = false
	case op.Kind == OpUSN && b.dirty:
		join = false
	}
	if join {
		return nil
	}
	if err := b.close(); err != nil {
		return err
	}
	at := op.At
	if at == 0 { // rawtimes without a clock
		at = max(b.at, b.spec.Formatted)
	}
	if err := b.m.mount(ctx, "ntfs-3g", at); err != nil {
		return err
	}
	b.open, b.at, b.dirty, b.timesSet = true, at, false, false
	return nil
}

func (b *builder) close() error {
	if !b.open {
		return nil
	}
	b.open = false
	return b.m.unmount()
}

func (b *builder) apply(op *Op) error {
	p := b.host(op.Path)
	switch op.Kind {
	case OpRawTimes, OpUSN:
	case OpTouch, OpSetTimes:
		b.dirty, b.timesSet = true, true
	default:
		b.dirty = true
	}
	switch op.Kind {
	case OpMkdir:
		if err := b.mkdirAll(p); err != nil {
			return err
		}
		return b.dosName(p, op.DosName)
	case OpFile:
		if err := b.mkdirAll(filepath.Dir(p)); err != nil {
			return err
		}
		if err := writeFile(p, op.Data, os.O_CREATE|os.O_EXCL|os.O_WRONLY); err != nil {
			return err
		}
		b.checkReuse(p)
		return b.dosName(p, op.DosName)
	case OpWrite:
		return writeFile(p, op.Data, os.O_WRONLY|os.O_TRUNC)
	case OpAppend:
		return writeFile(p, op.Data, os.O_WRONLY|os.O_APPEND)
	case OpADS:
		file, _, _ := strings.Cut(p, ":")
		if _, err := os.Stat(file); err != nil {
			return err
		}
		return writeFile(p, op.Data, os.O_CREATE|os.O_WRONLY|os.O_TRUNC)
	case OpTouch:
		return touch(p, op.SI.M, op.SI.A)
	case OpSetTimes:
		return setTimes(p, op.SI)
	case OpMove:
		to := b.host(op.To)
		if _, err := os.Lstat(p); err != nil {
			return err
		}
		if _, err := os.Lstat(to); err == nil {
			return fmt.Errorf("move target %s exists", op.To)
		}
		if err := b.mkdirAll(filepath.Dir(to)); err != nil {
			return err
		}
		if err := os.Rename(p, to); err != nil {
			return err
		}
		return b.dosName(to, op.DosName)
	case OpDelete:
		return b.delete(p, op.Path)
	case OpUSN:
		return b.usn(op, p)
	case OpRawTimes:
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		b.raw = append(b.raw, rawEdit{entry: inodeOf(st), si: op.SI, fn: op.FN, path: op.Path})
		return nil
	}
	return fmt.Errorf("unknown op kind %q", op.Kind)
}

// inodeOf is the MFT entry number: ntfs-3g reports it as st_ino.
func inodeOf(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Ino
	}
	return 0
}

func (b *builder) mkdirAll(p string) error {
	if st, err := os.Stat(p); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", p)
		}
		return nil
	}
	if p != b.m.mnt {
		if err := b.mkdirAll(filepath.Dir(p)); err != nil {
			return err
		}
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return err
	}
	b.checkReuse(p)
	return nil
}

// checkReuse warns when a new entry took the MFT entry of a deleted one.
func (b *builder) checkReuse(p string) {
	st, err := os.Lstat(p)
	if err != nil {
		return
	}
	n := inodeOf(st)
	if old, ok := b.freed[n]; ok {
		rel, _ := filepath.Rel(b.m.mnt, p)
		b.warn(fmt.Sprintf("%s reused MFT entry %d of deleted %s (put deletions after the last creation)",
			`\`+strings.ReplaceAll(rel, "/", `\`), n, old))
		delete(b.freed, n)
	}
}

func (b *builder) delete(p, win string) error {
	if _, err := os.Lstat(p); err != nil {
		return err
	}
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if st, err := d.Info(); err == nil {
			name := win
			if rel, _ := filepath.Rel(p, q); rel != "." {
				name += `\` + strings.ReplaceAll(rel, "/", `\`)
			}
			b.freed[inodeOf(st)] = name
		}
		return nil
	})
	if err != nil {
		return err
	}
	return os.RemoveAll(p)
}

func (b *builder) dosName(p, name string) error {
	if name == "" {
		return nil
	}
	if err := syscall.Setxattr(p, "system.ntfs_dos_name", []byte(name), 0); err != nil {
		return fmt.Errorf("8.3 name %q: %w", name, err)
	}
	return nil
}

func writeFile(p string, data []byte, flag int) error {
	f, err := os.OpenFile(p, flag, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// utimeOmit is UTIME_OMIT: utimensat leaves that time alone.
const utimeOmit = (1 << 30) - 2

func timespec(ft event.FileTime) syscall.Timespec {
	if ft == 0 {
		return syscall.Timespec{Nsec: utimeOmit}
	}
	// Floor division: times before 1970 have a negative second count and
	// a fraction in [0, 1 s), as the kernel expects.
	d := int64(ft) - unixEpochTicks
	sec := d / 10_000_000
	frac := d % 10_000_000
	if frac < 0 {
		sec, frac = sec-1, frac+10_000_000
	}
	return syscall.Timespec{Sec: sec, Nsec: frac * 100}
}

// touch sets $SI modification and/or access through utimensat.
func touch(p string, m, a event.FileTime) error {
	return syscall.UtimesNano(p, []syscall.Timespec{timespec(a), timespec(m)})
}

// setTimes writes ntfs-3g's system.ntfs_times: creation, modification,
// access as little-endian FILETIMEs, into $SI and every $FN. Only as many
// values as needed are written, so later ones keep their current value.
func setTimes(p string, t Times) error {
	cur := make([]byte, 32)
	n, err := syscall.Getxattr(p, "system.ntfs_times", cur)
	if err != nil || n < 24 {
		return fmt.Errorf("read system.ntfs_times: %v (%d bytes)", err, n)
	}
	want := []event.FileTime{t.B, t.M, t.A}
	last := 0
	for i, v := range want {
		if v != 0 {
			binary.LittleEndian.PutUint64(cur[8*i:], uint64(v))
			last = i
		}
	}
	if err := syscall.Setxattr(p, "system.ntfs_times", cur[:8*(last+1)], 0); err != nil {
		return fmt.Errorf("write system.ntfs_times: %w", err)
	}
	return nil
}

// finish applies the raw MFT edits after the last mount.
func (b *builder) finish() error {
	v, err := openRawVolume(b.vol, true)
	if err != nil {
		return err
	}
	defer v.Close()
	edit := func(n uint64, what string, fn func(rec []byte) error) error {
		rec, err := v.readRecord(n)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := fn(rec); err != nil {
			return fmt.Errorf("%s: MFT record %d: %w", what, n, err)
		}
		return v.writeRecord(n, rec)
	}
	for _, r := range b.raw {
		if err := edit(r.entry, "rawtimes "+r.path, func(rec []byte) error { return patchTimes(rec, r.si, r.fn) }); err != nil {
			return err
		}
	}
	for n, usn := range b.lastUSN {
		if err := edit(n, "$SI USN", func(rec []byte) error {
			if !setSIUSN(rec, usn) {
				return errors.New("no 72-byte $STANDARD_INFORMATION")
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if b.spec.Journal != nil {
		if err := edit(b.journalEntry, `$Extend\$UsnJrnl`, dropEmptyUnnamedData); err != nil {
			return err
		}
	}
	if err := edit(0, "$MFT $SI times", func(rec []byte) error {
		restoreZeroSITimes(rec, uint64(b.spec.Formatted))
		return nil
	}); err != nil {
		return err
	}
	return v.canonicalUpdateSequences()
}

// winBase is the last component of a Windows path, without a stream.
func winBase(p string) string {
	base := path.Base(strings.ReplaceAll(p, `\`, "/"))
	base, _, _ = strings.Cut(base, ":")
	return base
}
