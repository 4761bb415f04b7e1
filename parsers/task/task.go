// Package task reads scheduled tasks: the Task Scheduler 2.0 XML files
// under Windows\System32\Tasks (UTF-16 with a byte-order mark as Windows
// writes them, or UTF-8) and the legacy Task Scheduler 1.0 .job files
// under Windows\Tasks.
//
// Times in both formats are local wall-clock time without a zone: the XML
// RegistrationInfo/Date and StartBoundary are written as
// 2021-01-27T22:40:14, the .job last-run time is a local SYSTEMTIME. The
// text is always kept in a field; the event Time is set only when the time
// carries its own zone (some tools write "-07:00" or "Z") or when the
// caller passes the host's zone as bias. A guessed zone would put the
// event hours away from the truth with nothing to show it was guessed.
package task

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// Stats is what one file gave.
type Stats struct{ Records, Errors int64 }

// MaxFileSize caps what is read of one task file. Real task XML is a few
// KiB and .job files are under 64 KiB; anything bigger is not a task.
const MaxFileSize = 4 << 20

// Parse reads a task XML or .job file, telling them apart by content, with
// no zone for local times (see ParseXML).
func Parse(ctx context.Context, name string, r io.ReaderAt, size int64, sink event.Sink) (Stats, error) {
	data, err := readAll(name, r, size)
	if err != nil {
		return Stats{}, err
	}
	if IsJob(data) && !IsTaskXML(data) {
		return parseJob(ctx, name, data, nil, sink)
	}
	return parseXML(ctx, name, data, nil, sink)
}

// ParseXML reads a Task Scheduler XML file. bias is the zone of the host
// the task was registered on (from the SYSTEM hive's TimeZoneInformation);
// nil means unknown, and then local times without their own zone are kept
// as text only and the event Time is left unset.
func ParseXML(ctx context.Context, name string, r io.ReaderAt, size int64, bias *time.Location, sink event.Sink) (Stats, error) {
	data, err := readAll(name, r, size)
	if err != nil {
		return Stats{}, err
	}
	return parseXML(ctx, name, data, bias, sink)
}

// ParseJob reads a legacy .job file; bias is as for ParseXML and applies
// to the last-run SYSTEMTIME.
func ParseJob(ctx context.Context, name string, r io.ReaderAt, size int64, bias *time.Location, sink event.Sink) (Stats, error) {
	data, err := readAll(name, r, size)
	if err != nil {
		return Stats{}, err
	}
	return parseJob(ctx, name, data, bias, sink)
}

func where(name string) string {
	if name == "" {
		return "task"
	}
	return "task " + name
}

func readAll(name string, r io.ReaderAt, size int64) ([]byte, error) {
	if size < 0 {
		return nil, fmt.Errorf("%s: negative size %d", where(name), size)
	}
	if size > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is over the %d byte cap for a task file", where(name), size, MaxFileSize)
	}
	data := make([]byte, size)
	n, err := r.ReadAt(data, 0)
	if n < len(data) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%s: read %d of %d bytes: %w", where(name), n, size, err)
	}
	return data, nil
}

func parseXML(ctx context.Context, name string, data []byte, bias *time.Location, sink event.Sink) (Stats, error) {
	return parseOne(ctx, name, sink, func() (*event.Event, error) {
		t, err := ReadXML(data)
		if err != nil {
			return nil, err
		}
		return t.Event(name, bias), nil
	})
}

func parseJob(ctx context.Context, name string, data []byte, bias *time.Location, sink event.Sink) (Stats, error) {
	return parseOne(ctx, name, sink, func() (*event.Event, error) {
		j, err := ReadJob(data)
		if err != nil {
			return nil, err
		}
		return j.Event(name, bias), j.Err // a .job read in part still gives its event
	})
}

// parseOne reads one task file under recover and emits its event. read
// may return an event together with an error: what was readable is kept
// and the error is still reported.
func parseOne(ctx context.Context, name string, sink event.Sink, read func() (*event.Event, error)) (st Stats, err error) {
	if err := ctx.Err(); err != nil {
		return st, err
	}
	defer func() {
		if r := recover(); r != nil {
			st.Errors++
			err = fmt.Errorf("%s: parser panic: %v", where(name), r)
		}
	}()
	ev, rerr := read()
	if ev != nil {
		if err := sink.Emit(ev); err != nil {
			return st, err
		}
		st.Records++
	}
	if rerr != nil {
		st.Errors++
		return st, fmt.Errorf("%s: %w", where(name), rerr)
	}
	return st, nil
}

// IsTaskXML reports whether head looks like the start of a task XML file:
// an XML declaration or a <Task element, in UTF-16 or UTF-8.
func IsTaskXML(head []byte) bool {
	s := decodeText(head)
	s = strings.TrimLeft(s, " \t\r\n")
	if strings.HasPrefix(s, "<?xml") {
		// The declaration alone says nothing; want the Task element or
		// the task namespace when head is long enough to hold them.
		if i := strings.Index(s, "?>"); i >= 0 && len(s) > i+8 {
			rest := strings.TrimLeft(s[i+2:], " \t\r\n")
			return strings.HasPrefix(rest, "<Task") || strings.HasPrefix(rest, "<!--")
		}
		return true
	}
	return strings.HasPrefix(s, "<Task")
}

// taskFilesRoot is where Windows keeps task XML; the part of a name after
// it is the task's path when the XML has no URI.
const taskFilesRoot = `\windows\system32\tasks\`

// nameToURI derives the task path from the file name: the task
// \Microsoft\Windows\Defrag\ScheduledDefrag lives in
// Windows\System32\Tasks\Microsoft\Windows\Defrag\ScheduledDefrag.
func nameToURI(name string) string {
	n := strings.ReplaceAll(name, "/", `\`)
	if i := strings.Index(strings.ToLower(n), taskFilesRoot); i >= 0 {
		return `\` + n[i+len(taskFilesRoot):]
	}
	if i := strings.LastIndex(n, `\`); i >= 0 {
		return n[i:]
	}
	if n == "" {
		return ""
	}
	return `\` + n
}

// decodeText turns task file bytes into a Go string: UTF-16LE/BE by
// byte-order mark (or by the zero byte of "<" without one), UTF-8
// otherwise. Odd trailing bytes of UTF-16 are dropped.
func decodeText(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		return utf16String(b[2:], binary.LittleEndian)
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		return utf16String(b[2:], binary.BigEndian)
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		return string(b[3:])
	case len(b) >= 2 && b[0] != 0 && b[1] == 0:
		return utf16String(b, binary.LittleEndian)
	case len(b) >= 2 && b[0] == 0 && b[1] != 0:
		return utf16String(b, binary.BigEndian)
	}
	return string(b)
}

func utf16String(b []byte, order binary.ByteOrder) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = order.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// trimNUL cuts a string at its first NUL, as Windows readers do.
func trimNUL(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}
