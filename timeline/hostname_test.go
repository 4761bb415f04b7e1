package timeline

import (
	"context"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

// Event logs name a machine by FQDN, the registry by its short name: one
// host, even when the records came before the hive named the evidence
// (and some of them were still on their way to the writer). A host of the
// same short name in another domain stays apart; filters find a host by
// either spelling.
func TestHostSpellingsMerge(t *testing.T) {
	c := newCase(t)
	ctx := context.Background()
	in, err := c.BeginIngest(ctx, &Evidence{Path: "/ev/collection", Format: "folder", Size: 1, SHA256: "h", Host: "collection"})
	if err != nil {
		t.Fatal(err)
	}
	emit := func(src event.Source, host string, n int) {
		for i := 0; i < n; i++ {
			if err := src.Emit(&event.Event{Time: 133_000_000_000_000_000, TimeDesc: "d", Artifact: event.EVTX, Type: "4624",
				Message: "logon", Host: host, Record: int64(i), Offset: -1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	early := in.BeginSource(0, "Security.evtx", "evtx", event.EVTX)
	emit(early, "WS01.corp.example", 3)
	emit(early, "WS01.other.example", 2)
	early.Done(5, 0, nil)
	pending := in.BeginSource(0, "System.evtx", "evtx", event.EVTX)
	emit(pending, "ws01.CORP.example", 4) // buffered: not flushed before SetHost
	in.SetHost(event.Host{Name: "WS01", Domain: "corp.example", Origin: "registry"})
	emit(pending, "WS01", 1)
	emit(pending, "DC01.corp.example", 1)
	emit(pending, "DC01", 1)
	pending.Done(7, 0, nil)
	if err := in.Finish(nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	rows, err := c.DB.Query(`SELECT h.name, count(e.id) FROM hosts h LEFT JOIN events e ON e.host_id = h.id GROUP BY h.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var n int64
		rows.Scan(&name, &n)
		got[name] = n
	}
	rows.Close()
	want := map[string]int64{"WS01": 8, "WS01.other.example": 2, "DC01.corp.example": 2}
	if len(got) != len(want) {
		t.Errorf("hosts %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("hosts %v, want %v", got, want)
			break
		}
	}
	var orphans int64
	c.DB.QueryRow(`SELECT count(*) FROM events WHERE host_id NOT IN (SELECT id FROM hosts)`).Scan(&orphans)
	if orphans != 0 {
		t.Errorf("%d events of a deleted host", orphans)
	}
	for _, tc := range []struct {
		host string
		want int64
	}{{"WS01", 10}, {"ws01.corp.example", 8}, {"DC01", 2}, {"dc01.corp.example", 2}, {"WS01.other.example", 2}, {"WS0", 0}} {
		if n, err := c.Count(ctx, Filter{Hosts: []string{tc.host}}); err != nil || n != tc.want {
			t.Errorf("--host %s: %d events (%v), want %d", tc.host, n, err, tc.want)
		}
	}
}
