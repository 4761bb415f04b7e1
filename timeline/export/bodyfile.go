package export

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// writeBodyfile writes The Sleuth Kit's bodyfile
// (MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime),
// the input of mactime.
//
// MFT events become the lines `fls -r -m C:` prints for the same volume:
// one line per entry and attribute ($SI, $FN) and one per named data
// stream, rebuilt from the fields every MFT event carries (all eight times,
// inode, size, flags, ads), so whichever events of an entry the filter
// keeps, the entry's line is complete. Differences from fls, by design:
//   - times keep their 100 ns fraction ("1677661800.1234567"; unset is 0).
//     mactime 4.11 accepts this and truncates to whole seconds.
//   - UID is 0 (fls prints $SI's owner id, which the events do not carry).
//   - a directory's stream is printed once ("C:/dir:s"); fls prints it
//     again as "C:/dir/.:s".
//   - '|' in a name becomes '^' like control characters do in fls, as the
//     format has no escaping and one '|' would shift every later column.
//
// Every other event is one line named "<host> <artifact>: <message>" with
// inode = record number (0 if none), mode "0", size 0, and its time in the
// columns its MACB names (M=mtime, A=atime, C=ctime, B=crtime), or in all
// four when it has no MACB (registry, event log, ... times).
func writeBodyfile(ctx context.Context, c *timeline.Case, f timeline.Filter, w io.Writer) (int64, error) {
	f.ByRecord = true
	var (
		rows     int64
		b        []byte
		fs       []field
		src, rec int64 = -1, -1
		seen           = map[string]bool{}
	)
	err := each(ctx, c, f, Bodyfile, func(r *timeline.Row) error {
		b = b[:0]
		attr := ""
		if r.Artifact == event.MFT {
			fs = parseFields(r.Fields, fs)
			attr, _ = fieldValue(fs, "attr")
		}
		switch attr {
		case "$SI", "$FN":
			// Rows arrive grouped by (source, record); one line per
			// attribute however many events (one per distinct time) the
			// entry has.
			if r.SourceID != src || r.Record != rec {
				src, rec = r.SourceID, r.Record
				clear(seen)
			}
			if seen[attr] {
				return nil
			}
			seen[attr] = true
			if r.Path == `\` {
				return nil // fls -r lists the root's children, not the root
			}
			b = appendMFTLines(b, r, fs, attr)
		default:
			b = appendEventLine(b, r)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		rows += int64(strings.Count(string(b), "\n"))
		return nil
	})
	return rows, err
}

func appendMFTLines(b []byte, r *timeline.Row, fs []field, attr string) []byte {
	val := func(k string) string { v, _ := fieldValue(fs, k); return v }
	deleted := val("deleted") == "true"
	dir := val("dir") == "true"
	mode := tskMode(dir, deleted, val("flags"))
	name := "C:" + strings.ReplaceAll(r.Path, `\`, "/")
	if !strings.HasPrefix(r.Path, `\`) {
		name = "C:/" + r.Path
	}
	del := ""
	if deleted {
		del = " (deleted)"
	}
	inode := val("inode")
	times := func(prefix string) [4]event.FileTime {
		return [4]event.FileTime{
			parseTime(val(prefix + "a")), parseTime(val(prefix + "m")),
			parseTime(val(prefix + "c")), parseTime(val(prefix + "b")),
		}
	}
	if attr == "$FN" {
		// fls prints the $FILE_NAME attribute's own size: 66 bytes of
		// fixed fields plus the UTF-16 name.
		size := 66 + 2*int64(len(utf16.Encode([]rune(val("name")))))
		return appendBodyLine(b, name+" ($FILE_NAME)"+del, inode, mode, size, times("fn_"))
	}
	size, _ := strconv.ParseInt(val("size"), 10, 64)
	si := times("si_")
	// An entry with only named streams ($Secure) has no line of its own
	// in fls; the parser marks it with an empty inode.
	if inode != "" {
		b = appendBodyLine(b, name+del, inode, mode, size, si)
	}
	for _, ads := range fieldADS(fs) {
		b = appendBodyLine(b, name+":"+ads.Name+del, ads.Inode, mode, ads.Size, si)
	}
	return b
}

type adsInfo struct {
	Name  string `json:"name"`
	Inode string `json:"inode"`
	Size  int64  `json:"size"`
}

func fieldADS(fs []field) []adsInfo {
	for _, f := range fs {
		if f.key == "ads" {
			var list []adsInfo
			if json.Unmarshal([]byte(f.raw), &list) != nil {
				return nil
			}
			return list
		}
	}
	return nil
}

// tskMode is the mode string fls prints for NTFS: the type from the entry
// ("-" first when it is unallocated), x always, r unless read-only, w
// unless hidden (TSK's ntfs.c maps the DOS flags that way).
func tskMode(dir, deleted bool, flags string) string {
	typ := byte('r')
	if dir {
		typ = 'd'
	}
	first := typ
	if deleted {
		first = '-'
	}
	perm := []byte("rwx")
	for _, fl := range strings.Split(flags, "|") {
		switch fl {
		case "readonly":
			perm[0] = '-'
		case "hidden":
			perm[1] = '-'
		}
	}
	p := string(perm)
	return string([]byte{first, '/', typ}) + p + p + p
}

func appendEventLine(b []byte, r *timeline.Row) []byte {
	name := r.Artifact + ": " + r.Message
	if r.Host != "" {
		name = r.Host + " " + name
	}
	var t [4]event.FileTime // atime, mtime, ctime, crtime
	macb := strings.Trim(r.MACB, ".")
	if macb == "" {
		t = [4]event.FileTime{r.Time, r.Time, r.Time, r.Time}
	} else {
		if strings.ContainsRune(r.MACB, 'A') {
			t[0] = r.Time
		}
		if strings.ContainsRune(r.MACB, 'M') {
			t[1] = r.Time
		}
		if strings.ContainsRune(r.MACB, 'C') {
			t[2] = r.Time
		}
		if strings.ContainsRune(r.MACB, 'B') {
			t[3] = r.Time
		}
	}
	inode := "0"
	if r.Record >= 0 {
		inode = strconv.FormatInt(r.Record, 10)
	}
	return appendBodyLine(b, name, inode, "0", 0, t)
}

// appendBodyLine writes one line; t is atime, mtime, ctime, crtime.
func appendBodyLine(b []byte, name, inode, mode string, size int64, t [4]event.FileTime) []byte {
	b = append(b, "0|"...)
	b = appendSanitized(b, name)
	b = append(b, '|')
	b = appendSanitized(b, inode)
	b = append(b, '|')
	b = append(b, mode...)
	b = append(b, "|0|0|"...)
	b = strconv.AppendInt(b, size, 10)
	for _, v := range t {
		b = append(b, '|')
		b = append(b, unixSeconds(v)...)
	}
	return append(b, '\n')
}

// appendSanitized writes s as fls does (control characters become '^'),
// also replacing '|', and with invalid UTF-8 as U+FFFD.
func appendSanitized(b []byte, s string) []byte {
	s = clean(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '|' {
			c = '^'
		}
		b = append(b, c)
	}
	return b
}
