package task

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// parseBytes runs a parser over b and returns its events.
func parseBytes(t testing.TB, name string, b []byte, bias *time.Location, xmlOnly bool) ([]event.Event, Stats, error) {
	t.Helper()
	var evs []event.Event
	sink := event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		evs = append(evs, c)
		return nil
	})
	var st Stats
	var err error
	if xmlOnly {
		st, err = ParseXML(context.Background(), name, bytes.NewReader(b), int64(len(b)), bias, sink)
	} else {
		st, err = Parse(context.Background(), name, bytes.NewReader(b), int64(len(b)), sink)
	}
	return evs, st, err
}

func field(t testing.TB, e *event.Event, key string) any {
	t.Helper()
	v, ok := e.Get(key)
	if !ok {
		t.Fatalf("event has no field %q: %+v", key, e.Fields)
	}
	return v
}

func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = []byte{0xFF, 0xFE}
	}
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// jobSpec is a .job file to build from [MS-TSCH] 2.4, independently of
// the reader: strings are counted UTF-16 with their NUL, then user data,
// reserved data and triggers.
type jobSpec struct {
	product                               uint16
	status, flags, exitCode               uint32
	lastRun                               SystemTime
	app, params, workDir, author, comment string
	userData                              []byte
	triggers                              []JobTrigger
}

func (s jobSpec) bytes() []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint16(b, s.product)
	b = le.AppendUint16(b, 1)
	b = append(b, bytes.Repeat([]byte{0xAB}, 16)...)
	b = le.AppendUint16(b, 0x46)
	b = le.AppendUint16(b, 0) // trigger offset, patched below
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 10)
	b = le.AppendUint16(b, 60)
	b = le.AppendUint32(b, 0x20)      // NORMAL_PRIORITY_CLASS
	b = le.AppendUint32(b, 259200000) // 72 h
	b = le.AppendUint32(b, s.exitCode)
	b = le.AppendUint32(b, s.status)
	b = le.AppendUint32(b, s.flags)
	for _, v := range []uint16{s.lastRun.Year, s.lastRun.Month, s.lastRun.Weekday, s.lastRun.Day, s.lastRun.Hour, s.lastRun.Minute, s.lastRun.Second, s.lastRun.Millisecond} {
		b = le.AppendUint16(b, v)
	}
	b = le.AppendUint16(b, 0) // running instance count
	for _, str := range []string{s.app, s.params, s.workDir, s.author, s.comment} {
		if str == "" {
			b = le.AppendUint16(b, 0)
			continue
		}
		u := utf16.Encode([]rune(str))
		b = le.AppendUint16(b, uint16(len(u)+1))
		for _, c := range u {
			b = le.AppendUint16(b, c)
		}
		b = le.AppendUint16(b, 0)
	}
	b = le.AppendUint16(b, uint16(len(s.userData)))
	b = append(b, s.userData...)
	b = le.AppendUint16(b, 8) // reserved data: TASKRESERVED1
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	le.PutUint16(b[22:], uint16(len(b)))
	b = le.AppendUint16(b, uint16(len(s.triggers)))
	for _, tr := range s.triggers {
		b = le.AppendUint16(b, 48)
		b = le.AppendUint16(b, 0)
		for _, v := range []uint16{tr.BeginYear, tr.BeginMonth, tr.BeginDay, tr.EndYear, tr.EndMonth, tr.EndDay, tr.StartHour, tr.StartMinute} {
			b = le.AppendUint16(b, v)
		}
		for _, v := range []uint32{tr.MinutesDuration, tr.MinutesInterval, tr.Flags, tr.Type} {
			b = le.AppendUint32(b, v)
		}
		b = append(b, make([]byte, 12)...) // type-specific, padding, reserved
	}
	return b
}
