package evtx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/foothold/foothold/parsers/event"
	vevtx "www.velocidex.com/golang/evtx"
)

// velocidex is the value Velocidex evtx returns for a value of each type
// (it keeps Go types). Its defects, from /work/shared/docs/dependencies.md,
// are reproduced exactly: FILETIME becomes float64 seconds since 1970
// (D11), size_t falls through to the raw bytes as a string with trailing
// NULs trimmed and SYSTEMTIME is time.Time.String() with the milliseconds
// as nanoseconds (D12). GUIDs come without braces.
func velocidex(v any) any {
	switch x := v.(type) {
	case nil:
		return ""
	case event.FileTime:
		return (float64(x) - 11644473600000*10000) / 10000000
	case SizeT:
		return strings.TrimRight(string(binary.LittleEndian.AppendUint64(nil, uint64(x))), "\x00")
	case SysTime:
		t := event.FileTime(x).Time()
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e6, time.UTC).String()
	case HexInt32:
		return uint32(x)
	case HexInt64:
		return uint64(x)
	case SID:
		return string(x)
	case GUID:
		return strings.Trim(windows(x), "{}")
	case Binary:
		return []byte(x)
	}
	return v
}

func dict(v any, path ...string) (*ordereddict.Dict, bool) {
	d, ok := v.(*ordereddict.Dict)
	for _, p := range path {
		if !ok {
			return nil, false
		}
		var x any
		if x, ok = d.Get(p); !ok {
			return nil, false
		}
		d, ok = x.(*ordereddict.Dict)
	}
	return d, ok
}

func get(d *ordereddict.Dict, path ...string) any {
	for i, p := range path {
		if d == nil {
			return nil
		}
		v, ok := d.Get(p)
		if !ok {
			return nil
		}
		if i == len(path)-1 {
			return v
		}
		d, _ = v.(*ordereddict.Dict)
	}
	return nil
}

// velocidexData flattens the three shapes in which Velocidex returns
// EventData (see dependencies.md) and its UserData into key/value pairs.
func velocidexData(ev *ordereddict.Dict) []wantField {
	var out []wantField
	if ud, ok := dict(ev, "UserData"); ok {
		for _, k := range ud.Keys() {
			el, _ := ud.Get(k)
			if d, ok := el.(*ordereddict.Dict); ok {
				for _, item := range d.Items() {
					out = append(out, wantField{item.Key, item.Value})
				}
			}
		}
		return out
	}
	ed, ok := dict(ev, "EventData")
	if !ok {
		return nil
	}
	unnamed := 0
	add := func(x any) {
		if d, ok := x.(*ordereddict.Dict); ok {
			n, _ := d.Get("Name")
			v, _ := d.Get("Value")
			out = append(out, wantField{fmt.Sprint(n), v})
			return
		}
		out = append(out, wantField{strconv.Itoa(unnamed), x})
		unnamed++
	}
	for _, item := range ed.Items() {
		if item.Key != "Data" {
			out = append(out, wantField{item.Key, item.Value})
			continue
		}
		if list, ok := item.Value.([]any); ok {
			for _, x := range list {
				add(x)
			}
			continue
		}
		add(item.Value)
	}
	return out
}

func TestVelocidex(t *testing.T) {
	for _, fx := range writeFixtures(t, 2000) {
		fh, err := os.Open(fx.path)
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := vevtx.GetChunks(fh)
		if err != nil {
			t.Fatalf("%s: Velocidex GetChunks: %v", fx.name, err)
		}
		var recs []*vevtx.EventRecord
		for _, c := range chunks {
			rs, err := c.Parse(0)
			if err != nil {
				t.Errorf("%s: Velocidex chunk at %d: %v", fx.name, c.Offset, err)
			}
			recs = append(recs, rs...)
		}
		fh.Close()
		if len(recs) != len(fx.recs) {
			t.Errorf("%s: Velocidex read %d records, wrote %d", fx.name, len(recs), len(fx.recs))
			continue
		}
		for i, vr := range recs {
			r := &fx.recs[i]
			where := fmt.Sprintf("%s: Velocidex record %d (event %d)", fx.name, fx.ids[i], r.EventID)
			ev, ok := dict(vr.Event, "Event")
			if !ok {
				t.Errorf("%s: no Event", where)
				continue
			}
			sys, _ := dict(ev, "System")
			want := map[string]any{
				"Provider.Name": r.Provider, "EventID.Value": r.EventID, "Version": r.Version, "Level": r.Level,
				"Task": r.Task, "Opcode": r.Opcode, "Keywords": r.Keywords, "TimeCreated.SystemTime": velocidex(r.Time),
				"EventRecordID": fx.ids[i], "Execution.ProcessID": r.ProcessID, "Execution.ThreadID": r.ThreadID,
				"Channel": r.Channel, "Computer": r.Computer,
			}
			opt := map[string]any{"Provider.Guid": r.ProviderGUID, "Provider.EventSourceName": r.EventSourceName, "Security.UserID": r.UserSID}
			if r.Qualifiers != 0 {
				opt["EventID.Qualifiers"] = r.Qualifiers
			} else {
				opt["EventID.Qualifiers"] = ""
			}
			if r.ActivityID != "" {
				opt["Correlation.ActivityID"] = velocidex(GUID(r.ActivityID))
			} else {
				opt["Correlation.ActivityID"] = ""
			}
			for k, v := range opt {
				if v != "" {
					want[k] = v
				} else if got := get(sys, strings.Split(k, ".")...); got != nil {
					t.Errorf("%s: %s = %#v, want absent", where, k, got)
				}
			}
			for k, w := range want {
				if got := get(sys, strings.Split(k, ".")...); got != w {
					t.Errorf("%s: %s = %#v (%T), want %#v (%T)", where, k, got, got, w, w)
				}
			}
			if vr.Header.RecordID != fx.ids[i] || vr.Header.FileTime != uint64(r.Time) {
				t.Errorf("%s: header id %d time %d, want %d %d", where, vr.Header.RecordID, vr.Header.FileTime, fx.ids[i], r.Time)
			}

			exp := expectedFields(r)
			if r.Binary != nil {
				// Velocidex's EventData normaliser keeps only the Data
				// elements when it flattens named Data: <Binary> is lost.
				exp = exp[:len(exp)-1]
			}
			got := velocidexData(ev)
			if len(got) != len(exp) {
				t.Errorf("%s: %d values %v, want %d", where, len(got), got, len(exp))
				continue
			}
			for j, w := range exp {
				wv := velocidex(w.v)
				same := reflect.DeepEqual(got[j].v, wv)
				if b, ok := wv.([]byte); ok {
					gb, _ := got[j].v.([]byte)
					same = bytes.Equal(gb, b)
				}
				if got[j].key != w.key || !same {
					t.Errorf("%s: value %d = %s=%#v (%T), want %s=%#v (%T)", where, j, got[j].key, got[j].v, got[j].v, w.key, wv, wv)
				}
			}
		}
		t.Logf("%s: Velocidex %d records in %d chunks", fx.name, len(recs), len(chunks))
	}
}
