package evtx

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/foothold/foothold/parsers/event"
	pevtx "github.com/foothold/foothold/parsers/evtx"
)

// parseOurs reads a file with our own EVTX parser.
func parseOurs(t testing.TB, path string) ([]event.Event, pevtx.Stats) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	stats, err := pevtx.ParseFile(context.Background(), path, fh, st.Size(), event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		evs = append(evs, c)
		return nil
	}))
	if err != nil {
		t.Errorf("%s: our parser: %v", path, err)
	}
	return evs, stats
}

// checkOurs compares our parser's events with the records written: every
// System value, the time to the 100 ns tick, and every EventData/UserData
// value in order, rendered from its type as Windows renders it.
func checkOurs(t testing.TB, fx fixture, evs []event.Event, stats pevtx.Stats) {
	t.Helper()
	if len(evs) != len(fx.recs) || stats.Errors != 0 {
		t.Errorf("%s: our parser read %d records (%d errors), wrote %d", fx.name, len(evs), stats.Errors, len(fx.recs))
		return
	}
	for i := range evs {
		ev, r := &evs[i], &fx.recs[i]
		where := fmt.Sprintf("%s record %d (event %d)", fx.name, fx.ids[i], r.EventID)
		if ev.Record != int64(fx.ids[i]) || ev.Time != r.Time || ev.Type != fmt.Sprint(r.EventID) {
			t.Errorf("%s: record %d time %d type %s, want %d %d %d", where, ev.Record, ev.Time, ev.Type, fx.ids[i], r.Time, r.EventID)
		}
		got := map[string]any{}
		var data []wantField
		for _, f := range ev.Fields {
			if k, ok := strings.CutPrefix(f.Key, "data."); ok {
				data = append(data, wantField{k, f.Value})
				continue
			}
			got[f.Key] = f.Value
		}
		sys := map[string]any{
			"event_id": int(r.EventID), "provider": r.Provider, "channel": r.Channel, "computer": r.Computer,
			"record_id": int64(fx.ids[i]), "level": int(r.Level), "task": int(r.Task), "opcode": int(r.Opcode),
			"keywords": windows(HexInt64(r.Keywords)), "user_sid": r.UserSID,
			"exec_process_id": int64(r.ProcessID), "thread_id": int64(r.ThreadID),
		}
		for k, want := range sys {
			if got[k] != want {
				t.Errorf("%s: %s = %#v, want %#v", where, k, got[k], want)
			}
		}
		for _, k := range []string{"written_time", "header_record_id", "recovered"} {
			if v, ok := got[k]; ok {
				t.Errorf("%s: unexpected %s = %v", where, k, v)
			}
		}
		want := expectedFields(r)
		if len(data) != len(want) {
			t.Errorf("%s: %d values %v, want %d", where, len(data), data, len(want))
			continue
		}
		for j, w := range want {
			if data[j].key != w.key || data[j].v != windows(w.v) {
				t.Errorf("%s: value %d = %s=%q, want %s=%q (%T)", where, j, data[j].key, data[j].v, w.key, windows(w.v), w.v)
			}
		}
	}
}

func TestOurParser(t *testing.T) {
	for _, fx := range writeFixtures(t, 2000) {
		evs, stats := parseOurs(t, fx.path)
		checkOurs(t, fx, evs, stats)
	}
}
