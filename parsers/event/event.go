// Package event is the one contract between parsers and the case store.
// A parser turns evidence into Events and hands them to a Sink; it never
// knows where they are written.
package event

import (
	"fmt"
	"math"
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
// only time format Foothold writes. Dates outside years 0000-9999 are
// rendered from the raw tick count so that they still sort.
func (f FileTime) String() string {
	if f == 0 {
		return ""
	}
	t := f.Time()
	if t.Year() > 9999 {
		return fmt.Sprintf("FILETIME:%d", uint64(f))
	}
	return t.Format("2006-01-02T15:04:05") + fmt.Sprintf(".%07dZ", uint64(f)%10_000_000)
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
	Record   int64 // record number (MFT entry, USN, EVTX record id); -1 if none
	Offset   int64 // byte offset of the record in the artifact; -1 if none
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

// Recorder is what the walk writes evidence structure to: volumes and the
// artifacts found on them. The case store implements it.
type Recorder interface {
	AddVolume(Volume) int64
	SetVolumeIdentity(volumeID int64, serial, label string)
	BeginSource(volumeID int64, path, parser, artifact string) Source
}
