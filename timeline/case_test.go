package timeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

func newCase(t testing.TB) *Case {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "case.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ingestN writes n synthetic events for one evidence and returns the ingest.
func ingestN(t *testing.T, c *Case, sha string, n int, finish error) *Ingest {
	t.Helper()
	in, err := c.BeginIngest(context.Background(), &Evidence{Path: "/ev/" + sha, Format: "raw", Size: 1, SHA256: sha, Host: "WS-" + sha})
	if err != nil {
		t.Fatal(err)
	}
	vol := in.AddVolume(Volume{Index: 1, Scheme: "mbr", Offset: 1048576, Size: 1 << 20, FS: "ntfs"})
	src := in.BeginSource(vol, `\$MFT`, "ntfs", event.MFT)
	for i := 0; i < n; i++ {
		e := &event.Event{Time: event.FileTime(133_000_000_000_000_000 + int64(i)*7), TimeDesc: "$SI [MACB]", MACB: "MACB",
			Artifact: event.MFT, Type: "si", Path: fmt.Sprintf(`\Users\alice\file%d.txt`, i),
			Message: fmt.Sprintf("created file%d.txt", i), Record: int64(i), Offset: int64(i) * 1024}
		e.Add("entry", i).Add("quote", `a"b\c`+"\x01").Add("t", event.FileTime(133_000_000_000_000_001))
		if err := src.Emit(e); err != nil {
			t.Fatal(err)
		}
	}
	src.Done(int64(n), 0, nil)
	if err := in.Finish(finish); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestIngestQueryAndDuplicates(t *testing.T) {
	c := newCase(t)
	ctx := context.Background()
	ingestN(t, c, "aa", 5000, nil)
	ingestN(t, c, "bb", 10, nil)

	n, err := c.Count(ctx, Filter{})
	if err != nil || n != 5010 {
		t.Fatalf("count = %d, %v; want 5010", n, err)
	}
	// Evidence with the same sha256 is recognised, not duplicated.
	_, err = c.BeginIngest(ctx, &Evidence{Path: "/other/name", SHA256: "aa"})
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second ingest of same sha256: %v, want ErrDuplicate", err)
	}
	// Filters: host, time range (100 ns exact), full text.
	if n, _ := c.Count(ctx, Filter{Hosts: []string{"ws-bb"}}); n != 10 {
		t.Errorf("host filter: %d, want 10", n)
	}
	after := event.FileTime(133_000_000_000_000_000 + 7*100)
	if n, _ := c.Count(ctx, Filter{Hosts: []string{"WS-aa"}, After: after, Before: after + 7*10}); n != 10 {
		t.Errorf("time filter: %d, want 10", n)
	}
	if n, _ := c.Count(ctx, Filter{Query: "file4999.txt"}); n != 1 {
		t.Errorf("fts: %d, want 1", n)
	}
	var got []Row
	err = c.Events(ctx, Filter{Query: "file4999.txt"}, func(r *Row) error { got = append(got, *r); return nil })
	if err != nil || len(got) != 1 {
		t.Fatalf("events: %v %d", err, len(got))
	}
	r := got[0]
	if r.Time != event.FileTime(133_000_000_000_000_000+4999*7) || r.VolumeOffset != 1048576 || r.ArtifactPath != `\$MFT` || r.Record != 4999 {
		t.Errorf("row provenance/time wrong: %+v", r)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(r.Fields), &fields); err != nil {
		t.Fatalf("fields not JSON: %v: %s", err, r.Fields)
	}
	if fields["quote"] != "a\"b\\c\x01" || fields["t"] != "2022-06-18T04:26:40.0000001Z" {
		t.Errorf("fields = %v", fields)
	}
	s, err := c.Summarize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Evidence) != 2 || s.Evidence[0].Status != "complete" || s.Evidence[0].Events != 5000 {
		t.Errorf("summary evidence: %+v", s.Evidence)
	}
}

func TestInterruptedIngestIsUsableAndRedone(t *testing.T) {
	c := newCase(t)
	ctx := context.Background()
	ingestN(t, c, "cc", 300, context.Canceled)
	s, _ := c.Summarize(ctx)
	if s.Evidence[0].Status != "interrupted" {
		t.Fatalf("status %q, want interrupted", s.Evidence[0].Status)
	}
	// What was written is searchable.
	if n, _ := c.Count(ctx, Filter{Query: "file299.txt"}); n != 1 {
		t.Errorf("fts after interrupt: %d", n)
	}
	// A second ingest replaces the partial one instead of duplicating it.
	ingestN(t, c, "cc", 400, nil)
	if n, _ := c.Count(ctx, Filter{}); n != 400 {
		t.Errorf("after re-ingest: %d events, want 400", n)
	}
	if n, _ := c.Count(ctx, Filter{Query: "file299.txt"}); n != 1 {
		t.Errorf("fts after re-ingest: %d, want 1 (old rows removed from the index)", n)
	}
	if got := ftsDocs(t, c); got != 400 {
		t.Errorf("full-text rows after re-ingest: %d, want 400", got)
	}
}

// Removing an unfinished ingest removes its rows from the full-text index
// itself, not only from query results: the new events reuse the old ids,
// so a stale entry would match the new event with the old text.
func TestRedoneIngestForgetsOldText(t *testing.T) {
	c := newCase(t)
	ingest := func(word string, n int, finish error) {
		in, err := c.BeginIngest(context.Background(), &Evidence{Path: "/ev/r", SHA256: "r", Host: "h"})
		if err != nil {
			t.Fatal(err)
		}
		src := in.BeginSource(0, "x", "p", event.MFT)
		for i := range n {
			src.Emit(&event.Event{Time: 1, Artifact: event.MFT, Message: fmt.Sprintf("%s %d", word, i)})
		}
		src.Done(int64(n), 0, nil)
		if err := in.Finish(finish); err != nil && finish == nil {
			t.Fatal(err)
		}
	}
	ingest("alpha", ftsRows+10, context.Canceled)
	ingest("beta", 50, nil)
	for word, want := range map[string]int64{"alpha": 0, "beta": 50} {
		var got int64
		if err := c.DB.QueryRow(`SELECT count(*) FROM events_fts WHERE events_fts MATCH ?`, word).Scan(&got); err != nil || got != want {
			t.Errorf("index rows matching %s: %d (%v), want %d", word, got, err, want)
		}
	}
	if got := ftsDocs(t, c); got != 50 {
		t.Errorf("full-text rows: %d, want 50", got)
	}
}

// ftsDocs counts the events the full-text index holds, after checking its
// integrity.
func ftsDocs(t *testing.T, c *Case) int64 {
	t.Helper()
	if _, err := c.DB.Exec(`INSERT INTO events_fts(events_fts) VALUES('integrity-check')`); err != nil {
		t.Fatalf("full-text index: %v", err)
	}
	if _, err := c.DB.Exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_words USING fts5vocab(main, events_fts, 'instance')`); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := c.DB.QueryRow(`SELECT COUNT(DISTINCT doc) FROM temp.fts_words`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCrashedIngestRecoveredOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case.db")
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.BeginIngest(context.Background(), &Evidence{Path: "/ev", SHA256: "dd", Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	// More rows than the writer full-text indexes at a time, so some were
	// indexed during the load.
	const n = 2*ftsRows + 100
	src := in.beginSource(0, "x", "p", event.MFT)
	for i := range n {
		src.Emit(&event.Event{Time: 1, Artifact: event.MFT, Message: fmt.Sprintf("one w%d", i)})
	}
	src.flush()
	close(in.ops)
	<-in.done
	// Simulate a dead process (the pid no longer exists) that committed
	// rows beyond those it had indexed.
	cut := in.firstEvent + ftsRows - 1
	for _, q := range []string{
		`UPDATE evidence SET pid = 999999999`,
		fmt.Sprintf(`UPDATE evidence SET fts_upto = %d`, cut),
		fmt.Sprintf(`INSERT INTO events_fts(events_fts, rowid, text) SELECT 'delete', id, %s FROM events WHERE id > %d`, ftsText, cut),
	} {
		if _, err := c.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	c, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := c.Summarize(context.Background())
	if s.Evidence[0].Status != "interrupted" || s.Events != n {
		t.Errorf("after crash: status %q events %d", s.Evidence[0].Status, s.Events)
	}
	// Recovery indexed the rest.
	if got := ftsDocs(t, c); got != n {
		t.Errorf("full-text rows after recovery: %d, want %d", got, n)
	}
	for _, w := range []string{"w0", fmt.Sprintf("w%d", ftsRows), fmt.Sprintf("w%d", n-1)} {
		if got, _ := c.Count(context.Background(), Filter{Query: w}); got != 1 {
			t.Errorf("search %s: %d events, want 1", w, got)
		}
	}
	if len(s.Errors) != 1 || s.Errors[0].Status != "interrupted" {
		t.Errorf("running source should be reported interrupted: %+v", s.Errors)
	}
}

func TestFileTimeString(t *testing.T) {
	// Expected strings were computed independently with Python:
	// datetime(1601,1,1) + timedelta(microseconds=ticks//10), ticks%10 appended.
	for _, tc := range []struct {
		ft   event.FileTime
		want string
	}{
		{0, ""},
		{1, "1601-01-01T00:00:00.0000001Z"},
		{133_230_096_001_234_567, "2023-03-11T12:00:00.1234567Z"},
	} {
		if got := tc.ft.String(); got != tc.want {
			t.Errorf("%d: %q want %q", tc.ft, got, tc.want)
		}
	}
	ft, err := event.Parse("2023-03-10T18:53:20.1234567Z")
	if err != nil || ft != 133_229_480_001_234_567 {
		t.Errorf("parse: %d %v", ft, err)
	}
}

// The writer executes statements through Query (see run); a failing
// statement must still fail, and a good one must still write.
func TestRunReportsErrors(t *testing.T) {
	c := newCase(t)
	st, err := c.DB.Prepare(`INSERT INTO tui_filters(name, query) VALUES (?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := run(st, []any{"f", "q"}); err != nil {
		t.Fatal(err)
	}
	if err := run(st, []any{"f", "again"}); err == nil {
		t.Fatal("duplicate primary key: no error")
	}
	var q string
	if err := c.DB.QueryRow(`SELECT query FROM tui_filters WHERE name = 'f'`).Scan(&q); err != nil || q != "q" {
		t.Fatalf("row after run: %q, %v", q, err)
	}
}

// SameFields reuses the previous event's encoding; an event without it is
// encoded afresh, even right after one that had it.
func TestSameFields(t *testing.T) {
	c := newCase(t)
	in, err := c.BeginIngest(context.Background(), &Evidence{Path: "/ev/s", Format: "raw", Size: 1, SHA256: "s", Host: "H"})
	if err != nil {
		t.Fatal(err)
	}
	src := in.BeginSource(0, `\$MFT`, "ntfs", event.MFT)
	x := []event.Field{{Key: "k", Value: "x"}}
	for i, ev := range []event.Event{
		{Fields: x, SameFields: true}, // first event of a source: nothing to reuse
		{Fields: x, SameFields: true},
		{Fields: []event.Field{{Key: "k", Value: "y"}}},
		{Fields: []event.Field{{Key: "k", Value: "y"}}, SameFields: true},
	} {
		ev.Artifact, ev.Type, ev.Record = event.MFT, "si", int64(i)
		if err := src.Emit(&ev); err != nil {
			t.Fatal(err)
		}
	}
	src.Done(4, 0, nil)
	if err := in.Finish(nil); err != nil {
		t.Fatal(err)
	}
	rows, err := c.DB.Query(`SELECT fields FROM timeline ORDER BY record`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var f string
		rows.Scan(&f)
		got = append(got, f)
	}
	want := []string{`{"k":"x"}`, `{"k":"x"}`, `{"k":"y"}`, `{"k":"y"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fields %q, want %q", got, want)
	}
}

// Events with the same fields store them once per batch (same_fields);
// every reader still sees each event's own fields, across batch
// boundaries and with two sources' batches interleaved in the writer.
func TestSharedFieldsStoredOnce(t *testing.T) {
	c := newCase(t)
	in, err := c.BeginIngest(context.Background(), &Evidence{Path: "/ev/shared", Format: "raw", Size: 1, SHA256: "shared", Host: "H"})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("p", minShared)
	// Record r's events alternate between two field sets, as an MFT
	// entry's $SI and $FN times do; every 7th record has a set too short
	// to share, and the hint is given on some repeats and not others.
	fieldsOf := func(src, r, set int) []event.Field {
		v := fmt.Sprintf("%d/%d/%d", src, r, set)
		if r%7 != 0 {
			v += long
		}
		return []event.Field{{Key: "v", Value: v}}
	}
	srcs := []event.Source{in.BeginSource(0, `\a`, "t", event.MFT), in.BeginSource(0, `\b`, "t", event.MFT)}
	const records = 3000 // several batches per source
	want := map[string]string{}
	for r := 0; r < records; r++ {
		for si, src := range srcs {
			for i, set := range []int{0, 0, 0, 1, 1, 0} {
				ev := event.Event{Artifact: event.MFT, Type: "si", Record: int64(r), Offset: int64(i),
					Path: fmt.Sprintf(`\%d`, si), Fields: fieldsOf(si, r, set), SameFields: i == 1 || i == 4}
				if err := src.Emit(&ev); err != nil {
					t.Fatal(err)
				}
				want[fmt.Sprintf(`\%d %d %d`, si, r, i)] = fmt.Sprintf(`{"v":%q}`, ev.Fields[0].Value)
			}
		}
	}
	for _, src := range srcs {
		src.Done(records, 0, nil)
	}
	if err := in.Finish(nil); err != nil {
		t.Fatal(err)
	}
	var shared, stored int
	if err := c.DB.QueryRow(`SELECT SUM(same_fields > 0), SUM(fields != '') FROM events`).Scan(&shared, &stored); err != nil {
		t.Fatal(err)
	}
	// Per record and source: 2 sets stored, 4 events sharing, except the
	// short ones (all 6 stored) and the first event of each batch.
	if shared < records*2*4*6/7*9/10 || shared+stored != records*2*6 {
		t.Errorf("%d events share, %d store their fields, of %d", shared, stored, records*2*6)
	}
	n := 0
	err = c.Events(context.Background(), Filter{}, func(r *Row) error {
		k := fmt.Sprintf(`%s %d %d`, r.Path, r.Record, r.Offset)
		if r.Fields != want[k] {
			return fmt.Errorf("event %s: fields %s, want %s", k, r.Fields, want[k])
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("%d events read, want %d", n, len(want))
	}
}

// A case made before migrations 7 and 8 opens with its events' fields
// intact and every event searchable in the rebuilt full-text index.
func TestMigrationFromVersion6(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:6] {
		if _, err := db.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	for _, q := range []string{
		`PRAGMA user_version=6`,
		`INSERT INTO evidence(id, path, format, size, sha256, status) VALUES (1, '/ev/old', 'raw', 1, 'old', 'complete')`,
		`INSERT INTO sources(id, evidence_id, path, parser, artifact, status) VALUES (1, 1, 'x', 'p', 'mft', 'ok')`,
		`INSERT INTO events(id, ts, ts_desc, macb, source_id, artifact, type, user, path, message, fields, record, offset)
			VALUES (1, 1, 'd', '', 1, 'mft', 'si', '', '\old\kept.txt', '$SI M... \old\kept.txt', '{"k":1}', 0, 0),
			       (2, 2, 'd', '', 1, 'mft', 'fn', '', '\old\also.txt', 'name only', '{"k":2}', 0, 0)`,
		`INSERT INTO events_fts(rowid, text) SELECT id, message FROM events`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, _ := c.SchemaVersion(); v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	var got []string
	c.Events(context.Background(), Filter{}, func(r *Row) error { got = append(got, r.Fields); return nil })
	if fmt.Sprint(got) != `[{"k":1} {"k":2}]` {
		t.Errorf("fields after migration: %v", got)
	}
	// also.txt is only in the path, which the old index did not hold.
	for _, q := range []string{"kept.txt", "also.txt"} {
		if n, _ := c.Count(context.Background(), Filter{Query: q}); n != 1 {
			t.Errorf("search %s: %d events, want 1", q, n)
		}
	}
	if n := ftsDocs(t, c); n != 2 {
		t.Errorf("full-text rows: %d, want 2", n)
	}
}

// Finish builds the indexes with a small page cache (sortCacheSize) and
// gives the connection its own back.
func TestFinishRestoresCacheSize(t *testing.T) {
	c := newCase(t)
	ingestN(t, c, "cache", 10, nil)
	var kib string
	if err := c.DB.QueryRow(`PRAGMA cache_size`).Scan(&kib); err != nil || kib != cacheSize {
		t.Fatalf("cache_size after Finish: %s (%v), want %s", kib, err, cacheSize)
	}
}
