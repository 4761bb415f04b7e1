package ntfs

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"
	"github.com/foothold/foothold/parsers/event"
)

// tskTime converts a FILETIME to the seconds TSK 4.11 prints in a bodyfile:
// unsigned 64-bit arithmetic truncated to 32 bits, so 0 comes out as
// 2076-11-29 (test-images.md §13) and pre-1970 times wrap the same way.
func tskTime(ft event.FileTime) uint32 {
	return uint32((uint64(ft) - 116444736000000000) / 10_000_000)
}

// bodyKey is what the differential compares per bodyfile line: name,
// inode and the four times (atime|mtime|ctime|crtime). Sizes, modes and
// uid/gid are TSK presentation, not ours.
func bodyKey(name, inode string, a, m, c, b uint32) string {
	return fmt.Sprintf("%s|%s|%d|%d|%d|%d", name, inode, a, m, c, b)
}

// bodyKeys renders our MFT events as the bodyfile lines `fls -r -m C:`
// prints: one $SI line per entry (inode of the unnamed $DATA or of $I30;
// none when the entry has neither), one ($FILE_NAME) line, and one line
// per named stream with the $SI times.
func bodyKeys(t testing.TB, events []event.Event) map[string]bool {
	t.Helper()
	type entryEvents struct{ si, fn *event.Event }
	byEntry := map[int64]*entryEvents{}
	for i := range events {
		e := &events[i]
		if e.Artifact != event.MFT {
			continue
		}
		ee := byEntry[e.Record]
		if ee == nil {
			ee = &entryEvents{}
			byEntry[e.Record] = ee
		}
		switch e.Type {
		case "si":
			if ee.si == nil {
				ee.si = e
			}
		case "fn":
			if ee.fn == nil {
				ee.fn = e
			}
		}
	}
	out := map[string]bool{}
	for entry, ee := range byEntry {
		e := ee.si
		if e == nil {
			e = ee.fn
		}
		// Allowed differences on our side:
		//   - the root directory (entry 5): `fls -r` lists what is in the
		//     root, never the root itself; we emit its times like any
		//     directory's;
		//   - in-use entries without a $FILE_NAME (the reserved entries
		//     12-15 Windows formats in use): no directory names them and
		//     TSK only adds *unallocated* entries to $OrphanFiles, so fls
		//     never prints them; we emit them as
		//     \$OrphanFiles\OrphanFile-N so their times stay visible.
		if entry == rootEntry || (field[bool](t, e, "in_use") && field[string](t, e, "name") == "") {
			continue
		}
		name := "C:" + strings.ReplaceAll(e.Path, `\`, "/")
		del := ""
		if field[bool](t, e, "deleted") {
			del = " (deleted)"
		}
		ft := func(k string) uint32 { return tskTime(field[event.FileTime](t, e, k)) }
		if ee.si != nil {
			if in := field[string](t, e, "inode"); in != "" {
				out[bodyKey(name+del, in, ft("si_a"), ft("si_m"), ft("si_c"), ft("si_b"))] = true
			}
			for _, a := range adsOf(e) {
				out[bodyKey(name+":"+a.Name+del, a.Inode, ft("si_a"), ft("si_m"), ft("si_c"), ft("si_b"))] = true
				if field[bool](t, e, "dir") {
					// fls prints a directory's stream twice: from the
					// parent's listing and from the directory's own "."
					out[bodyKey(name+"/.:"+a.Name+del, a.Inode, ft("si_a"), ft("si_m"), ft("si_c"), ft("si_b"))] = true
				}
			}
		}
		if ee.fn != nil {
			out[bodyKey(name+" ($FILE_NAME)"+del, field[string](t, ee.fn, "inode")+"", ft("fn_a"), ft("fn_m"), ft("fn_c"), ft("fn_b"))] = true
		}
	}
	return out
}

// flsKeys runs `fls -r -m C: [-o sector] image` and returns its lines as
// bodyKeys, minus the lines we do not emit by design:
//   - `C:/$OrphanFiles` itself: a virtual directory TSK invents (inode 256
//     on these volumes, no MFT entry behind it);
func flsKeys(t testing.TB, image string, sector int64) map[string]bool {
	t.Helper()
	needTool(t, "fls")
	args := []string{"-r", "-m", "C:"}
	if sector > 0 {
		args = append(args, "-o", strconv.FormatInt(sector, 10))
	}
	out, err := exec.Command("fls", append(args, image)...).Output()
	if err != nil {
		t.Fatalf("fls %v: %v", args, err)
	}
	keys := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 11 {
			t.Fatalf("fls line %q: %d fields", line, len(f))
		}
		name, inode := f[1], f[2]
		if name == "C:/$OrphanFiles" {
			continue
		}
		n := func(s string) uint32 {
			v, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				t.Fatalf("fls line %q: %v", line, err)
			}
			return uint32(v)
		}
		keys[bodyKey(name, inode, n(f[7]), n(f[8]), n(f[9]), n(f[10]))] = true
	}
	return keys
}

func diffKeys(t testing.TB, ours, theirs map[string]bool) (onlyOurs, onlyTheirs []string) {
	for k := range ours {
		if !theirs[k] {
			onlyOurs = append(onlyOurs, k)
		}
	}
	for k := range theirs {
		if !ours[k] {
			onlyTheirs = append(onlyTheirs, k)
		}
	}
	sort.Strings(onlyOurs)
	sort.Strings(onlyTheirs)
	return
}

type tskImage struct {
	name   string
	path   func(t testing.TB) string
	sector int64
}

func tskImages() []tskImage {
	return []tskImage{
		{"charlie", func(t testing.TB) string {
			return decompress(t, "bzip2", corpusFile(t, "ntfs/images/charlie.dd.bz2"), "charlie.dd")
		}, 0},
		{"test.ntfs", func(t testing.TB) string { return ewfRaw(t, corpusFile(t, "images/ewf/test.ntfs.dd.E01")) }, 0},
		{"partition_image", func(t testing.TB) string { return ewfRaw(t, corpusFile(t, "images/ewf/partition_image.E01")) }, 0},
		{"host1", func(t testing.TB) string { return testimg.Path(t, "host1.raw") }, 2048},
		{"bare4", func(t testing.TB) string { return testimg.Path(t, "bare4.raw") }, 0},
		{"gpt2", func(t testing.TB) string { return testimg.Path(t, "gpt2.raw") }, 2048},
		{"ewfseg", func(t testing.TB) string { return testimg.Path(t, "ewfseg.raw") }, 2048},
	}
}

func TestVolumeMatchesFls(t *testing.T) {
	for _, img := range tskImages() {
		t.Run(img.name, func(t *testing.T) {
			needTool(t, "fls")
			path := img.path(t)
			f, size := openFile(t, path)
			off := img.sector * 512
			v, err := Open(sectionAt(f, off, size-off), size-off)
			if err != nil {
				t.Fatal(err)
			}
			var c collector
			st, err := v.ParseMFT(context.Background(), &c)
			if err != nil {
				t.Errorf("ParseMFT: %v", err)
			}
			t.Logf("%s: %+v", img.name, st)
			ours := bodyKeys(t, c.events)
			theirs := flsKeys(t, path, img.sector)
			onlyOurs, onlyTheirs := diffKeys(t, ours, theirs)
			for _, k := range onlyOurs {
				t.Errorf("only ours: %s", k)
			}
			for _, k := range onlyTheirs {
				t.Errorf("only fls:  %s", k)
			}
			t.Logf("%d bodyfile lines equal", len(theirs)-len(onlyTheirs))
		})
	}
}

// tskFileTime parses the 100 ns times istat and usnjls -l print,
// "2023-09-28 16:45:30.246802400 (UTC)".
func tskFileTime(t testing.TB, s string) event.FileTime {
	t.Helper()
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "(UTC)"))
	tm, err := time.Parse("2006-01-02 15:04:05.000000000", s)
	if err != nil {
		t.Fatalf("TSK time %q: %v", s, err)
	}
	return event.FileTime(uint64(tm.Unix()+11644473600)*10_000_000 + uint64(tm.Nanosecond()/100))
}

type istatTimes struct {
	si    [4]event.FileTime // created, modified, MFT modified, accessed
	hasSI bool
	fn    map[string][4]event.FileTime
}

func istat(t testing.TB, image string, sector int64, entry int64) istatTimes {
	t.Helper()
	out, err := exec.Command("istat", "-o", strconv.FormatInt(sector, 10), image, strconv.FormatInt(entry, 10)).Output()
	if err != nil {
		t.Fatalf("istat %d: %v", entry, err)
	}
	res := istatTimes{fn: map[string][4]event.FileTime{}}
	section, name := "", ""
	var cur [4]event.FileTime
	flush := func() {
		switch section {
		case "si":
			res.si, res.hasSI = cur, true
		case "fn":
			res.fn[name] = cur
		}
		cur = [4]event.FileTime{}
	}
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "$STANDARD_INFORMATION Attribute Values"):
			flush()
			section = "si"
		case strings.HasPrefix(line, "$FILE_NAME Attribute Values"):
			flush()
			section = "fn"
		case strings.HasSuffix(line, "Attribute Values:") || strings.HasPrefix(line, "Attributes:"):
			flush()
			section = ""
		case strings.HasPrefix(line, "Name: ") && section == "fn":
			name = strings.TrimPrefix(line, "Name: ")
		default:
			k, v, ok := strings.Cut(line, ":\t")
			if !ok || section == "" {
				continue
			}
			i := map[string]int{"Created": 0, "File Modified": 1, "MFT Modified": 2, "Accessed": 3}
			if n, ok := i[k]; ok {
				cur[n] = tskFileTime(t, v)
			}
		}
	}
	flush()
	return res
}

// TestVolumeTimesMatchIstat compares all eight times of every entry we
// report, to 100 ns, with istat (bodyfiles only carry whole seconds). The
// host1 image has the timestomped DLL ($SI 2019, $FN 2023), settimes'
// hosts file and sub-second values of every kind.
func TestVolumeTimesMatchIstat(t *testing.T) {
	for _, img := range tskImages() {
		t.Run(img.name, func(t *testing.T) {
			needTool(t, "istat")
			path := img.path(t)
			f, size := openFile(t, path)
			off := img.sector * 512
			v, err := Open(sectionAt(f, off, size-off), size-off)
			if err != nil {
				t.Fatal(err)
			}
			var c collector
			if _, err := v.ParseMFT(context.Background(), &c); err != nil {
				t.Errorf("ParseMFT: %v", err)
			}
			seen := map[int64]bool{}
			compared := 0
			for i := range c.events {
				e := &c.events[i]
				if seen[e.Record] || (e.Type != "si" && e.Type != "fn") {
					continue
				}
				seen[e.Record] = true
				want := istat(t, path, img.sector, e.Record)
				get := func(k string) event.FileTime { return field[event.FileTime](t, e, k) }
				si := [4]event.FileTime{get("si_b"), get("si_m"), get("si_c"), get("si_a")}
				if want.hasSI && si != want.si {
					t.Errorf("entry %d %s: $SI %v, istat %v", e.Record, e.Path, si, want.si)
				}
				if name := field[string](t, e, "name"); name != "" {
					fn := [4]event.FileTime{get("fn_b"), get("fn_m"), get("fn_c"), get("fn_a")}
					if w, ok := want.fn[name]; !ok {
						t.Errorf("entry %d: istat shows no $FILE_NAME %q", e.Record, name)
					} else if fn != w {
						t.Errorf("entry %d %s: $FN %v, istat %v", e.Record, e.Path, fn, w)
					}
				}
				compared++
			}
			if compared == 0 {
				t.Fatal("no entries compared")
			}
			t.Logf("%d entries: all 8 times equal to istat", compared)
		})
	}
}
