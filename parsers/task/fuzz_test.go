package task

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/foothold/foothold/forge/artifacts"
	"github.com/foothold/foothold/parsers/event"
)

// FuzzParse feeds mutated task XML (UTF-16 and UTF-8) and .job files to
// Parse: it must not panic, and what it emits must be well formed.
func FuzzParse(f *testing.F) {
	x := artifacts.TaskXML(artifacts.Task{URI: `\T`, Author: `A\b`, Date: event.FromTime(time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)),
		Triggers: []artifacts.Trigger{{Kind: artifacts.CalendarTrigger, Start: 1 << 57}}, UserID: "S-1-5-18", Command: "c.exe", Arguments: "a"})
	f.Add(x)
	f.Add([]byte(decodeText(x)))
	f.Add(jobSpec{product: 0x601, app: "a.exe", params: "p", author: "me", lastRun: SystemTime{2020, 1, 1, 1, 1, 1, 1, 1},
		triggers: []JobTrigger{{Type: 1, BeginYear: 2020, BeginMonth: 1, BeginDay: 1}}}.bytes())
	sink := event.SinkFunc(func(e *event.Event) error {
		if e.Artifact != event.Task || e.Type == "" || len(e.Fields) < 5 {
			panic("malformed event")
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := Parse(context.Background(), "fuzz", bytes.NewReader(b), int64(len(b)), sink)
		if st.Records < 0 || st.Records > 1 || st.Errors < 0 {
			t.Fatalf("stats %+v", st)
		}
		_, _ = ParseXML(context.Background(), "fuzz", bytes.NewReader(b), int64(len(b)), time.UTC, sink)
		_, _ = ParseJob(context.Background(), "fuzz", bytes.NewReader(b), int64(len(b)), time.UTC, sink)
	})
}
