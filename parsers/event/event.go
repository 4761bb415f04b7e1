// Package event is the one contract between parsers and the case store.
// A parser turns evidence into Events and hands them to a Sink; it never
// knows where they are written.
package event

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// FileTime is a Windows FILETIME: 100 ns ticks since 1601-01-01 UTC.
// Zero means "not set". We keep the raw tick count end to end so that no
// precision is lost to time.Time's int64 nanosecond range (go-ntfs D6).
type FileTime uint64

// ticksTo1970 is the number of 100 ns ticks between 1601-01-01 and 1970-01-01.
const ticksTo1970 = 116444736000000000

// FromTime converts a time.Time to a FileTime, truncating to 100 ns.
// Times before 1601 map to 0 (unset).
func FromTime(t time.Time) FileTime {
	if t.IsZero() {
		return 0
	}
	secs := t.Unix()
	// 1601-01-01 is 11644473600 s before the Unix epoch.
	if secs < -11644473600 {
		return 0
	}
	return FileTime(uint64(secs+11644473600)*10_000_000 + uint64(t.Nanosecond()/100))
}

// Time converts to time.Time in UTC. Out-of-range values saturate rather
// than wrap, so a corrupt timestamp never shows up as a plausible date.
func (f FileTime) Time() time.Time {
	if f == 0 {
		return time.Time{}
	}
	secs := int64(f / 10_000_000)
	frac := int64(f%10_000_000) * 100
	return time.Unix(secs-11644473600, frac).UTC()
}

// Ticks returns the value as int64 for storage; values beyond int64 (which
// no real clock produces) are clamped.
func (f FileTime) Ticks() int64 {
	if f > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(f)
}

// String renders ISO-8601 UTC with exactly seven fractional digits, the
// only time format Foothold writes. Dates past year 9999 are rendered as the
// raw tick count, which still sorts and loses nothing.
func (f FileTime) String() string {
	if f == 0 {
		return ""
	}
	var buf [32]byte
	return string(f.AppendISO(buf[:0]))
}

// AppendISO appends the String form to b. It is on the ingest hot path
// (every time field of every event), so it does the calendar arithmetic
// itself instead of going through time.Format.
func (f FileTime) AppendISO(b []byte) []byte {
	if f == 0 {
		return b
	}
	frac := uint64(f) % 10_000_000
	secs := uint64(f) / 10_000_000
	days := int64(secs / 86400)
	sod := secs % 86400
	// Civil date after Howard Hinnant's civil_from_days, which counts days
	// from 0000-03-01: that is 719468 days before 1970-01-01, and
	// 1601-01-01 is 134774 days before 1970-01-01.
	z := days + 719468 - 134774
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
		y++
	}
	if y > 9999 {
		return append(append(b, "FILETIME:"...), []byte(fmt.Sprint(uint64(f)))...)
	}
	b = appendInt(b, uint64(y), 4)
	b = append(b, '-')
	b = appendInt(b, uint64(m), 2)
	b = append(b, '-')
	b = appendInt(b, uint64(d), 2)
	b = append(b, 'T')
	b = appendInt(b, sod/3600, 2)
	b = append(b, ':')
	b = appendInt(b, sod/60%60, 2)
	b = append(b, ':')
	b = appendInt(b, sod%60, 2)
	b = append(b, '.')
	b = appendInt(b, frac, 7)
	return append(b, 'Z')
}

// appendInt appends v zero-padded to width digits.
func appendInt(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v > 0 || i > len(tmp)-width {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[i:]...)
}

// Parse reads the ISO-8601 forms users type on the command line:
// a date, a date and time, with or without fraction and zone (UTC assumed).
func Parse(s string) (FileTime, error) {
	layouts := []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05",
		"2006-01-02 15:04:05",
		"2006-01-02T15:04",
		"2006-01-02 15:04",
		"2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			ft := FromTime(t)
			// time.Time keeps ns; FromTime truncates to 100 ns, which is
			// what a user writing seven digits means.
			return ft, nil
		}
	}
	return 0, fmt.Errorf("time %q: want ISO-8601 such as 2023-03-01T10:00:00.1234567Z", s)
}

// Field is one structured value of an event. Fields keep their order so that
// exports and the TUI show them as the parser wrote them.
type Field struct {
	Key   string
	Value any
}

// Event is one row of the timeline.
type Event struct {
	Time     FileTime
	TimeDesc string // what the time means: "$SI Modified", "USN record", ...
	MACB     string // four characters, "MACB" or "." where absent; "" if not a file time
	Artifact string // mft, usn, evtx, registry, ... (the contract set)
	Type     string // event type within the artifact: "file", "zone", "usn", "4624"...
	Host     string // set only when the record names another host (forwarded logs)
	User     string
	Path     string
	Message  string
	Fields   []Field
	// SameFields promises that Fields are the previous event's, unchanged
	// (one MFT entry's $SI times share one field set), so a sink may reuse
	// what it made of them. Leave false when in doubt.
	SameFields bool
	Record     int64 // record number (MFT entry, USN, EVTX record id); -1 if none
	Offset     int64 // byte offset of the record in the artifact; -1 if none
}

// Add appends a field and returns the event, so parsers can chain.
func (e *Event) Add(key string, value any) *Event {
	e.Fields = append(e.Fields, Field{key, value})
	return e
}

// Get returns the first field with the given key.
func (e *Event) Get(key string) (any, bool) {
	for _, f := range e.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Sink receives events. Emit may keep the pointer only for the duration of
// the call; parsers may reuse the Event afterwards.
type Sink interface {
	Emit(*Event) error
}

// SinkFunc adapts a function to Sink, which keeps tests short.
type SinkFunc func(*Event) error

func (f SinkFunc) Emit(e *Event) error { return f(e) }

// Artifact names: the contract set shared by parsers, exports and the TUI.
const (
	MFT        = "mft"
	USN        = "usn"
	EVTX       = "evtx"
	Registry   = "registry"
	Shimcache  = "shimcache"
	Amcache    = "amcache"
	BAM        = "bam"
	UserAssist = "userassist"
	Prefetch   = "prefetch"
	LNK        = "lnk"
	JumpList   = "jumplist"
	Task       = "task"
	PE         = "pe"
	Browser    = "browser"
	SRUM       = "srum"
)

// Volume is a partition or bare volume found in evidence, parsed or skipped.
type Volume struct {
	Index          int
	Scheme         string // mbr, gpt, none
	Offset, Size   int64
	Type, Name, FS string
	Serial, Label  string
	Skipped        string // why the volume was not parsed; "" if it was
}

// Source is the sink of one artifact being parsed. Done closes it with the
// number of records read, the number of damaged ones, and the parser's
// result.
type Source interface {
	Sink
	Done(records, errors int64, err error)
}

// Host is what the evidence says about the machine it came from.
type Host struct {
	Name, Domain, OS, TZ string
	Origin               string // registry, evtx
	Details              map[string]any
}

// Recorder is what the walk writes evidence structure to: volumes, the
// artifacts found on them, and the host's identity. The case store
// implements it.
type Recorder interface {
	AddVolume(Volume) int64
	SetVolumeIdentity(volumeID int64, serial, label string)
	BeginSource(volumeID int64, path, parser, artifact string) Source
	SetHost(Host)
}

// Times says how often something happened, for messages ("1 time",
// "3 times"): exported timelines are read by people.
func Times(n int64) string { return Count(n, "time") }

// Count is n and a noun that takes a plain -s plural ("1 logon",
// "2 logons").
func Count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}
