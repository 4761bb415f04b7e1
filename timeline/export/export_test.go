package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// mftEntry describes one MFT entry the way the NTFS parser reports it.
// The values are taken from The Sleuth Kit's output for the committed
// fixture image host1 (testdata/images/host1.istat.txt and
// host1.fls.body: istat for the 100 ns times and attribute sizes, fls for
// paths and inodes), so the bodyfile test can compare against fls.
type mftEntry struct {
	entry, seq       int64
	path, name       string
	dir, deleted     bool
	flags            string
	size             int64
	inodeSI, inodeFN string
	si, fn           [4]string // B, M, C, A as istat prints them (UTC)
	ads              []adsInfo
	extra            []event.Field // zone_*, timestomp
	extraEvents      []event.Event
}

func ft(t *testing.T, s string) event.FileTime {
	t.Helper()
	v, err := event.Parse(strings.Replace(s, " ", "T", 1) + "Z")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// host1Entries are entries 76 82 83 84 85 86 88 89 91 92 of host1.raw.
func host1Entries() []mftEntry {
	same := func(s string) [4]string { return [4]string{s, s, s, s} }
	return []mftEntry{
		{entry: 76, seq: 1, path: `\Windows\System32\drivers\etc\hosts`, name: "hosts", flags: "archive", size: 30,
			inodeSI: "76-128-1", inodeFN: "76-48-2",
			si: [4]string{"2019-12-07 09:08:55.1234567", "2021-05-05 05:05:05.5", "2023-10-05 09:16:00.9000009", "2023-10-05 09:16:00.9000009"},
			fn: [4]string{"2019-12-07 09:08:55.1234567", "2021-05-05 05:05:05.5", "2023-10-05 09:16:00.9000009", "2023-10-05 09:16:00.9000009"}},
		{entry: 82, seq: 1, path: `\Users\jdoe\Documents\Отчёты\résumé 日本.txt`, name: "résumé 日本.txt", flags: "archive", size: 39,
			inodeSI: "82-128-1", inodeFN: "82-48-2", si: same("2023-09-12 14:01:02.030405"), fn: same("2023-09-12 14:01:02.030405")},
		{entry: 83, seq: 1, path: `\Users\jdoe\Documents\Quarterly Report Q3.docx`, name: "Quarterly Report Q3.docx", flags: "archive", size: 13,
			inodeSI: "83-128-1", inodeFN: "83-48-4", si: same("2023-09-28 16:45:30.2468024"), fn: same("2023-09-28 16:45:30.2468024")},
		{entry: 84, seq: 1, path: `\Users\jdoe\Documents\notes.txt`, name: "notes.txt", flags: "archive", size: 17,
			inodeSI: "84-128-1", inodeFN: "84-48-2",
			si:  [4]string{"2023-10-01 10:00:00.000001", "2023-10-01 10:00:03.000004", "2023-10-01 10:00:03.000004", "2023-10-01 10:00:00.000001"},
			fn:  same("2023-10-01 10:00:00.000001"),
			ads: []adsInfo{{"author", "84-128-3", 4}, {"hidden", "84-128-4", 15}, {"SummaryInformation", "84-128-5", 48}}},
		{entry: 85, seq: 1, path: `\Users\jdoe\Downloads\Setup_Viewer_4.2.exe`, name: "Setup_Viewer_4.2.exe", flags: "archive", size: 27,
			inodeSI: "85-128-1", inodeFN: "85-48-2",
			si:  [4]string{"2023-10-05 09:12:41.8765432", "2023-10-05 09:12:42.0000001", "2023-10-05 09:12:42.0000001", "2023-10-05 09:12:41.8765432"},
			fn:  same("2023-10-05 09:12:41.8765432"),
			ads: []adsInfo{{"Zone.Identifier", "85-128-3", 141}},
			extra: []event.Field{{Key: "zone_id", Value: 3}, {Key: "host_url", Value: "https://cdn.example.invalid/dl/Setup_Viewer_4.2.exe"},
				{Key: "referrer_url", Value: "https://viewer-download.example.invalid/"}},
			extraEvents: []event.Event{{Type: "zone", TimeDesc: "Zone.Identifier (file created)",
				Message: `Downloaded from https://cdn.example.invalid/dl/Setup_Viewer_4.2.exe (ZoneId=3 Internet, referrer https://viewer-download.example.invalid/) \Users\jdoe\Downloads\Setup_Viewer_4.2.exe`}}},
		// A directory: fls prints the $I30 index root size (160) on its line.
		{entry: 86, seq: 1, path: `\ProgramData\SyncHelper`, name: "SyncHelper", dir: true, flags: "archive|directory", size: 160,
			inodeSI: "86-144-1", inodeFN: "86-48-2",
			si:  [4]string{"2023-10-05 09:14:03.1111111", "2023-10-05 09:14:04.3333333", "2023-10-05 09:14:04.3333333", "2023-10-05 09:14:03.1111111"},
			fn:  same("2023-10-05 09:14:03.1111111"),
			ads: []adsInfo{{"cfg", "86-128-3", 14}}},
		{entry: 88, seq: 1, path: `\Windows\Temp\svcupd.exe`, name: "svcupd.exe", flags: "archive", size: 3007,
			inodeSI: "88-128-1", inodeFN: "88-48-3",
			si: [4]string{"2023-10-05 09:14:10.0000005", "2023-10-05 09:14:11.5", "2023-10-05 09:14:20.7654321", "2023-10-05 09:14:10.0000005"},
			fn: [4]string{"2023-10-05 09:14:10.0000005", "2023-10-05 09:14:11.5", "2023-10-05 09:14:11.5", "2023-10-05 09:14:10.0000005"}},
		{entry: 89, seq: 1, path: `\Windows\System32\wbemsvc2.dll`, name: "wbemsvc2.dll", flags: "archive", size: 19,
			inodeSI: "89-128-1", inodeFN: "89-48-2", si: same("2019-03-19 04:12:33"), fn: same("2023-10-05 09:15:30.456789"),
			extra: []event.Field{{Key: "timestomp", Value: []string{"si_b_before_fn_b", "si_zero_fraction"}}},
			extraEvents: []event.Event{{Type: "timestomp", TimeDesc: "$SI [...B] timestomp",
				Message: `Timestomp indicators si_b_before_fn_b, si_zero_fraction: \Windows\System32\wbemsvc2.dll`}}},
		{entry: 91, seq: 2, path: `\Windows\Temp\x\procdump64.exe`, name: "procdump64.exe", deleted: true, flags: "archive", size: 19,
			inodeSI: "91-128-1", inodeFN: "91-48-2", si: same("2023-10-05 09:17:01.1"), fn: same("2023-10-05 09:17:01.1")},
		{entry: 92, seq: 2, path: `\Windows\Temp\stage1.ps1`, name: "stage1.ps1", deleted: true, flags: "archive", size: 72,
			inodeSI: "92-128-1", inodeFN: "92-48-2",
			si:  [4]string{"2023-10-05 09:17:05.5", "2023-10-05 09:17:05.6", "2023-10-05 09:17:05.6", "2023-10-05 09:17:05.5"},
			fn:  same("2023-10-05 09:17:05.5"),
			ads: []adsInfo{{"Zone.Identifier", "92-128-3", 26}}},
	}
}

// emitMFT emits an entry as the NTFS parser does: per attribute, one event
// per distinct time, MACB grouping equal times; every event carries all
// fields (parsers/ntfs/mft.go fields()).
func emitMFT(t *testing.T, s event.Sink, e mftEntry) {
	t.Helper()
	var si, fn [4]event.FileTime
	for i := range 4 {
		si[i], fn[i] = ft(t, e.si[i]), ft(t, e.fn[i])
	}
	ads := e.ads
	if ads == nil {
		ads = []adsInfo{}
	}
	fields := func(inode, attr string) []event.Field {
		fs := []event.Field{
			{Key: "entry", Value: e.entry}, {Key: "seq", Value: e.seq}, {Key: "inode", Value: inode}, {Key: "attr", Value: attr},
			{Key: "name", Value: e.name}, {Key: "parent_entry", Value: int64(70)}, {Key: "parent_seq", Value: int64(1)},
			{Key: "size", Value: e.size}, {Key: "alloc_size", Value: e.size}, {Key: "flags", Value: e.flags},
			{Key: "in_use", Value: !e.deleted}, {Key: "deleted", Value: e.deleted}, {Key: "dir", Value: e.dir},
			{Key: "si_b", Value: si[0]}, {Key: "si_m", Value: si[1]}, {Key: "si_c", Value: si[2]}, {Key: "si_a", Value: si[3]},
			{Key: "fn_b", Value: fn[0]}, {Key: "fn_m", Value: fn[1]}, {Key: "fn_c", Value: fn[2]}, {Key: "fn_a", Value: fn[3]},
			{Key: "ads", Value: ads},
		}
		return append(fs, e.extra...)
	}
	suffix := ""
	if e.deleted {
		suffix = " (deleted)"
	}
	off := e.entry * 1024
	for _, a := range []struct {
		attr, typ, inode string
		bmca             [4]event.FileTime
	}{{"$SI", "si", e.inodeSI, si}, {"$FN", "fn", e.inodeFN, fn}} {
		b, m, c, acc := a.bmca[0], a.bmca[1], a.bmca[2], a.bmca[3]
		var done []event.FileTime
		for _, v := range []event.FileTime{m, acc, c, b} {
			dup := false
			for _, d := range done {
				dup = dup || d == v
			}
			if dup {
				continue
			}
			done = append(done, v)
			macb := []byte("....")
			for i, x := range []event.FileTime{m, acc, c, b} {
				if x == v {
					macb[i] = "MACB"[i]
				}
			}
			ev := &event.Event{Time: v, TimeDesc: a.attr + " [" + string(macb) + "]", MACB: string(macb), Artifact: event.MFT,
				Type: a.typ, Path: e.path, Message: a.attr + " " + string(macb) + " " + e.path + suffix,
				Fields: fields(a.inode, a.attr), Record: e.entry, Offset: off}
			if err := s.Emit(ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, x := range e.extraEvents {
		ev := x
		ev.Time, ev.Artifact, ev.Path, ev.Record, ev.Offset = si[0], event.MFT, e.path, e.entry, off
		ev.Fields = fields(e.inodeSI, "$SI")
		if err := s.Emit(&ev); err != nil {
			t.Fatal(err)
		}
	}
}

// Hostile strings for the formula-injection and quoting tests.
var hostile = []string{
	`=cmd|' /C calc'!A0`,
	`+1+1`,
	`@SUM(1)`,
	`-2+3`,
	"\tstarts with a tab",
	"\rstarts with CR",
	`commas, "quotes", and` + "\nnew\r\nlines",
	"non-ASCII: Отчёты 日本 é",
	"invalid UTF-8: \xff\xfe end",
	"-1",
	"-3.5",
}

func buildCase(t *testing.T) *timeline.Case {
	t.Helper()
	c, err := timeline.Open(filepath.Join(t.TempDir(), "case.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	in, err := c.BeginIngest(context.Background(), &timeline.Evidence{Path: "/evidence/host1.raw", Format: "raw",
		Size: 23068672, SHA256: "host1", Host: "HOST1"})
	if err != nil {
		t.Fatal(err)
	}
	vol := in.AddVolume(timeline.Volume{Index: 1, Scheme: "mbr", Offset: 1048576, Size: 20 << 20, FS: "ntfs"})
	mft := in.BeginSource(vol, `\$MFT`, "ntfs", event.MFT)
	for _, e := range host1Entries() {
		emitMFT(t, mft, e)
	}
	mft.Done(100, 0, nil)

	// USN record of stage1.ps1's deletion (host1.usnjls.txt).
	usn := in.BeginSource(vol, `\$Extend\$UsnJrnl:$J`, "ntfs", event.USN)
	u := &event.Event{Time: ft(t, "2023-10-05 09:20:00.25"), TimeDesc: "USN: FILE_DELETE|CLOSE", Artifact: event.USN,
		Type: "usn", Path: `\Windows\Temp\stage1.ps1`, Message: `USN FILE_DELETE|CLOSE \Windows\Temp\stage1.ps1`,
		Record: 1200, Offset: 1200}
	u.Add("usn", int64(1200)).Add("entry", int64(92)).Add("seq", int64(1)).Add("parent_entry", int64(70)).
		Add("parent_seq", int64(1)).Add("reason", "0x80000200").Add("reasons", []string{"FILE_DELETE", "CLOSE"}).
		Add("source_info", int64(0)).Add("attributes", "archive").Add("name", "stage1.ps1").Add("version", 2)
	if err := usn.Emit(u); err != nil {
		t.Fatal(err)
	}
	usn.Done(1, 0, nil)

	// A standalone event log (no volume) with hostile text everywhere,
	// field names that collide with export columns, and a forwarded event
	// from another host.
	logs := in.BeginSource(0, `\Windows\System32\winevt\Logs\Security.evtx`, "evtx", event.EVTX)
	base := ft(t, "2023-10-05 09:30:00.0000001")
	for i, h := range hostile {
		e := &event.Event{Time: base + event.FileTime(i)*10_000_000, TimeDesc: "Event logged", Artifact: event.EVTX,
			Type: "4688", User: h, Path: `C:\Windows\System32\cmd.exe`, Message: h, Record: int64(5000 + i), Offset: -1}
		e.Add("cmdline", h).Add("n", -1).Add("ratio", -3.5).Add("host", "collides with host").
			Add("datetime", "collides with datetime").Add("tag", "collides with tag").Add("field_host", "already named field_host").
			Add(h, "hostile key").
			// EventData as the evtx parser names it: one "data" field
			// for Timesketch.
			Add("data.NewProcessName", h).Add("data.TokenElevationType", "%%1936")
		if err := logs.Emit(e); err != nil {
			t.Fatal(err)
		}
	}
	fwd := &event.Event{Time: base + 600*10_000_000, TimeDesc: "Event logged", Artifact: event.EVTX, Type: "4624",
		Host: "DC01", User: `CORP\admin`, Message: "An account was successfully logged on (forwarded)", Record: 7000, Offset: -1}
	fwd.Add("logon_type", 3).Add("ip", "10.0.0.5")
	if err := logs.Emit(fwd); err != nil {
		t.Fatal(err)
	}
	logs.Done(int64(len(hostile)+1), 0, nil)
	if err := in.Finish(nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func export(t *testing.T, c *timeline.Case, f timeline.Filter, format string) ([]byte, int64) {
	t.Helper()
	var buf bytes.Buffer
	n, err := Write(context.Background(), c, f, format, &buf)
	if err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return buf.Bytes(), n
}

func TestGolden(t *testing.T) {
	c := buildCase(t)
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			got, _ := export(t, c, timeline.Filter{}, format)
			path := filepath.Join("testdata", format+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run with -update after checking the diff)", format, path)
			}
		})
	}
	if _, err := Write(context.Background(), c, timeline.Filter{}, "xlsx", &bytes.Buffer{}); err == nil {
		t.Error("unknown format accepted")
	}
}

// eventTimes maps event id to time, read through the store's own API.
func eventTimes(t *testing.T, c *timeline.Case, f timeline.Filter) map[int64]event.FileTime {
	m := map[int64]event.FileTime{}
	if err := c.Events(context.Background(), f, func(r *timeline.Row) error { m[r.ID] = r.Time; return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

func readCSV(t *testing.T, b []byte, fields int) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = fields
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return recs
}

func TestNativeCSV(t *testing.T) {
	c := buildCase(t)
	out, n := export(t, c, timeline.Filter{}, CSV)
	recs := readCSV(t, out, len(csvHeader))
	times := eventTimes(t, c, timeline.Filter{})
	if int(n) != len(times) || len(recs) != len(times)+1 {
		t.Fatalf("rows %d, records %d, events %d", n, len(recs), len(times))
	}
	if strings.Join(recs[0], ",") != "datetime,timestamp_desc,macb,host,artifact,type,user,path,message,fields,evidence,volume_offset,artifact_path,record,offset,event_id" {
		t.Errorf("header %q", recs[0])
	}
	for _, rec := range recs[1:] {
		id, _ := strconv.ParseInt(rec[15], 10, 64)
		if rec[0] != times[id].String() {
			t.Errorf("event %d datetime %q, want %q", id, rec[0], times[id])
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(rec[9]), &obj); err != nil {
			t.Errorf("event %d fields not JSON: %v", id, err)
		}
	}
}

func TestL2TCSV(t *testing.T) {
	c := buildCase(t)
	out, n := export(t, c, timeline.Filter{}, L2TCSV)
	recs := readCSV(t, out, 17) // fails on any row without exactly 17 columns
	if got := strings.Join(recs[0], ","); got != "date,time,timezone,MACB,source,sourcetype,type,user,host,short,desc,version,filename,inode,notes,format,extra" {
		t.Fatalf("header %q", got)
	}
	if int(n) != len(recs)-1 {
		t.Errorf("rows %d, records %d", n, len(recs)-1)
	}
	// Plaso's rule: no record spans lines, so a line splitter sees one
	// record per line.
	if lines := bytes.Count(out, []byte("\n")); lines != len(recs) {
		t.Errorf("%d lines for %d records", lines, len(recs))
	}
	times := map[string]bool{}
	for _, v := range eventTimes(t, c, timeline.Filter{}) {
		times[v.String()] = true
	}
	for _, rec := range recs[1:] {
		var full string
		for _, kv := range strings.Split(rec[16], "; ") {
			if v, ok := strings.CutPrefix(kv, "datetime: "); ok {
				full = v
			}
		}
		if !times[full] {
			t.Fatalf("extra lacks the full event time: %q", rec[16])
		}
		tm, err := time.Parse(time.RFC3339Nano, full)
		if err != nil {
			t.Fatal(err)
		}
		if rec[0] != tm.Format("01/02/2006") || rec[1] != tm.Format("15:04:05") || rec[2] != "UTC" {
			t.Errorf("date/time %s %s %s for %s", rec[0], rec[1], rec[2], full)
		}
		if rec[11] != "2" || len(rec[3]) != 4 || strings.Contains(strings.Join(rec, ""), ",") {
			t.Errorf("bad row %q", rec)
		}
	}
	// Spot-check one MFT row: Plaso's FILE source, entry number as inode.
	if !bytes.Contains(out, []byte("10/05/2023,09:17:05,UTC,M.C.,FILE,NTFS file stat,$SI [M.C.],-,HOST1,$SI M.C. \\Windows\\Temp\\stage1.ps1 (deleted),$SI M.C. \\Windows\\Temp\\stage1.ps1 (deleted),2,/evidence/host1.raw:\\$MFT,92,-,ntfs,")) {
		t.Error("stage1.ps1 $SI row not as expected")
	}
}

func TestTimesketchAndJSONL(t *testing.T) {
	c := buildCase(t)
	times := eventTimes(t, c, timeline.Filter{})
	check := func(format string, row map[string]string) {
		t.Helper()
		for _, k := range []string{"message", "datetime", "timestamp_desc"} {
			if row[k] == "" {
				t.Errorf("%s: event %s has no %s", format, row["event_id"], k)
			}
		}
		id, _ := strconv.ParseInt(row["event_id"], 10, 64)
		tm, err := time.Parse(time.RFC3339Nano, row["datetime"])
		if err != nil {
			t.Fatalf("%s: datetime %q: %v", format, row["datetime"], err)
		}
		if event.FromTime(tm) != times[id] {
			t.Errorf("%s: event %d datetime %s != %s", format, id, row["datetime"], times[id])
		}
		us, _ := strconv.ParseInt(row["timestamp"], 10, 64)
		if want := tm.UnixMicro(); us != want {
			t.Errorf("%s: event %d timestamp %d, want %d", format, id, us, want)
		}
	}

	out, n := export(t, c, timeline.Filter{}, TimesketchCSV)
	r := csv.NewReader(bytes.NewReader(out))
	recs, err := r.ReadAll() // also checks every row has the header's width
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	if int(n) != len(times) || len(recs)-1 != len(times) {
		t.Fatalf("timesketch-csv: %d rows for %d events", len(recs)-1, len(times))
	}
	seen := map[string]bool{}
	for _, h := range header {
		if seen[h] {
			t.Errorf("duplicate column %q", h)
		}
		seen[h] = true
	}
	for _, want := range []string{"field_host", "field_field_host", "field_datetime", "field_tag", "cmdline", "si_b", "zone_id", "data"} {
		if !seen[want] {
			t.Errorf("timesketch-csv: no column %q in %q", want, header)
		}
	}
	for _, h := range header {
		if strings.HasPrefix(h, "data.") {
			t.Errorf("timesketch-csv: EventData column %q", h)
		}
	}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range header {
			row[h] = rec[i]
		}
		check(TimesketchCSV, row)
		if row["artifact"] == "evtx" && row["type"] == "4688" {
			var data map[string]string
			if err := json.Unmarshal([]byte(row["data"]), &data); err != nil || data["TokenElevationType"] != "%%1936" || data["NewProcessName"] == "" {
				t.Errorf("timesketch-csv: data %q (%v), want the EventData object", row["data"], err)
			}
		}
		if row["artifact"] == "evtx" && row["type"] == "4688" && (row["field_field_host"] != "collides with host" ||
			row["field_host"] != "already named field_host" || row["n"] != "-1" || row["ratio"] != "-3.5") {
			t.Errorf("timesketch-csv: renamed fields wrong: %v", row)
		}
	}

	out, n = export(t, c, timeline.Filter{}, JSONL)
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if int(n) != len(times) || len(lines) != len(times) {
		t.Fatalf("jsonl: %d lines for %d events", len(lines), len(times))
	}
	for _, l := range lines {
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("jsonl: %v: %s", err, l)
		}
		row := map[string]string{}
		for k, v := range obj {
			row[k] = fmt.Sprint(v)
		}
		check(JSONL, row)
		if obj["artifact"] == "evtx" && obj["type"] == "4688" {
			var data map[string]string
			s, _ := obj["data"].(string)
			if err := json.Unmarshal([]byte(s), &data); err != nil || data["TokenElevationType"] != "%%1936" || data["NewProcessName"] != obj["cmdline"] {
				t.Errorf("jsonl: data %v (%v), want the EventData object as text", obj["data"], err)
			}
		}
		if obj["artifact"] == "evtx" && obj["type"] == "4688" && (obj["host"] != "HOST1" || obj["field_field_host"] != "collides with host" || obj["field_host"] != "already named field_host" ||
			obj["field_datetime"] != "collides with datetime" || obj["field_tag"] != "collides with tag") {
			t.Errorf("jsonl: collision handling wrong: %s", l)
		}
	}
}

func TestFormulaInjection(t *testing.T) {
	c := buildCase(t)
	dangerous := func(s string) bool { return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) }
	for _, format := range []string{CSV, L2TCSV, TimesketchCSV} {
		out, _ := export(t, c, timeline.Filter{}, format)
		r := csv.NewReader(bytes.NewReader(out))
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		cells := map[string]bool{}
		for _, rec := range recs {
			for _, cell := range rec {
				cells[cell] = true
				if dangerous(cell) && !isNumber(cell) && cell != "-" {
					t.Errorf("%s: cell %q would be evaluated by a spreadsheet", format, cell)
				}
			}
		}
		// Each dangerous prefix shows up neutralised; numbers stay numbers.
		// (l2tcsv also turns commas and line breaks into spaces.)
		for _, want := range []string{`'=cmd|' /C calc'!A0`, `'+1+1`, `'@SUM(1)`, `'-2+3`, "'\tstarts with a tab", "-1", "-3.5"} {
			if !cells[want] {
				t.Errorf("%s: no cell %q", format, want)
			}
		}
		if format != L2TCSV && !cells["'\rstarts with CR"] {
			t.Errorf("%s: CR-led cell not neutralised", format)
		}
		if !utf8Valid(out) {
			t.Errorf("%s: output is not valid UTF-8", format)
		}
	}
	for in, want := range map[string]string{"=1": "'=1", "-1": "-1", "+2.5": "+2.5", "-3e4": "-3e4", "-": "-",
		"-e5": "'-e5", "-1-1": "'-1-1", "@x": "'@x", "\t1": "'\t1", "x=1": "x=1", "": "", "1": "1", "-.5": "-.5", "-.": "'-."} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

// host1.fls.body is `fls -o 2048 -r -m C: host1.raw` committed with the
// fixture image (TSK 4.11.1).
func flsBody(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "images", "host1.fls.body"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestBodyfileMatchesFls(t *testing.T) {
	c := buildCase(t)
	out, n := export(t, c, timeline.Filter{Artifacts: []string{event.MFT}}, Bodyfile)
	var ours []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) != 11 {
			t.Fatalf("%d columns: %q", len(cols), sc.Text())
		}
		// fls prints whole seconds; ours keep 100 ns. Compare seconds
		// and check that the fraction is the event's.
		for i := 7; i < 11; i++ {
			sec, frac, ok := strings.Cut(cols[i], ".")
			if cols[i] != "0" && (!ok || len(frac) != 7) {
				t.Errorf("time %q not seconds.7digits", cols[i])
			}
			cols[i] = sec
		}
		ours = append(ours, strings.Join(cols, "|"))
	}
	if int(n) != len(ours) {
		t.Errorf("rows %d, lines %d", n, len(ours))
	}
	entries := map[string]bool{}
	for _, e := range host1Entries() {
		entries[strconv.FormatInt(e.entry, 10)] = true
	}
	fls := map[string]bool{}
	for _, l := range flsBody(t) {
		cols := strings.Split(l, "|")
		entry, _, _ := strings.Cut(cols[2], "-")
		if !entries[entry] {
			continue
		}
		// fls lists a directory's stream twice, once as "dir/.:stream".
		if strings.Contains(cols[1], "/.:") {
			continue
		}
		fls[l] = true
	}
	got := map[string]bool{}
	for _, l := range ours {
		got[l] = true
		if !fls[l] {
			t.Errorf("ours, not in fls:\n  %s", l)
		}
	}
	for l := range fls {
		if !got[l] {
			t.Errorf("fls, not in ours:\n  %s", l)
		}
	}
	if len(fls) != 26 || len(ours) != 26 {
		t.Errorf("%d fls lines, %d ours; want 26 each", len(fls), len(ours))
	}
	// Full precision: stage1.ps1 $SI modified is 09:17:05.6 (istat).
	if !bytes.Contains(out, []byte("0|C:/Windows/Temp/stage1.ps1 (deleted)|92-128-1|-/rrwxrwxrwx|0|0|72|1696497425.5000000|1696497425.6000000|1696497425.6000000|1696497425.5000000\n")) {
		t.Errorf("stage1.ps1 line not at 100 ns:\n%s", out)
	}
}

func TestBodyfileMactime(t *testing.T) {
	mactime, err := exec.LookPath("mactime")
	if err != nil {
		t.Skip("mactime not installed")
	}
	c := buildCase(t)
	out, n := export(t, c, timeline.Filter{}, Bodyfile)
	body := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(body, out, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mactime, "-b", body, "-d", "-y")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("mactime: %v: %s", err, stderr.Bytes())
	}
	// mactime truncates our fractions to seconds and groups equal times.
	for _, want := range []string{
		`2023-10-05T09:17:05Z,72,macb,-/rrwxrwxrwx,0,0,92-128-1,"C:/Windows/Temp/stage1.ps1 (deleted)"`,
		`2023-10-05T09:17:05Z,86,macb,-/rrwxrwxrwx,0,0,92-48-2,"C:/Windows/Temp/stage1.ps1 ($FILE_NAME) (deleted)"`,
		`2019-03-19T04:12:33Z,19,macb,r/rrwxrwxrwx,0,0,89-128-1,"C:/Windows/System32/wbemsvc2.dll"`,
		`2023-10-05T09:20:00Z,0,macb,0,0,0,1200,"HOST1 usn: USN FILE_DELETE^CLOSE \Windows\Temp\stage1.ps1"`,
	} {
		if !bytes.Contains(res, []byte(want)) {
			t.Errorf("mactime output lacks %s\n%s", want, res)
		}
	}
	if lines := bytes.Count(out, []byte("\n")); int64(lines) != n || n < 30 {
		t.Errorf("bodyfile: %d lines, %d rows", lines, n)
	}
}

func TestFiltersPassThrough(t *testing.T) {
	c := buildCase(t)
	ctx := context.Background()
	after := ft(t, "2023-10-05 09:17:00")
	for name, f := range map[string]timeline.Filter{
		"host":     {Hosts: []string{"dc01"}},
		"artifact": {Artifacts: []string{event.USN}},
		"range":    {After: after, Before: after + 60*10_000_000},
		"query":    {Query: "stage1.ps1"},
	} {
		want, err := c.Count(ctx, f)
		if err != nil || want == 0 {
			t.Fatalf("%s: count %d %v", name, want, err)
		}
		ids := eventTimes(t, c, f)
		for _, format := range []string{CSV, L2TCSV, TimesketchCSV, JSONL} {
			_, n := export(t, c, f, format)
			if n != want {
				t.Errorf("%s %s: %d rows, want %d", name, format, n, want)
			}
		}
		out, _ := export(t, c, f, JSONL)
		for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var obj struct {
				ID int64 `json:"event_id"`
			}
			if json.Unmarshal(l, &obj) != nil {
				t.Fatalf("bad line %s", l)
			}
			if _, ok := ids[obj.ID]; !ok {
				t.Errorf("%s: event %d outside the filter", name, obj.ID)
			}
		}
	}
	// Cancellation reaches the query.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Write(cctx, c, timeline.Filter{}, JSONL, &bytes.Buffer{}); err == nil {
		t.Error("cancelled export succeeded")
	}
}

func TestTimeHelpers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		secs string
		us   int64
	}{
		// Unix seconds computed independently: date -u -d '...' +%s.
		{"2023-03-01T09:10:00.1234567Z", "1677661800.1234567", 1677661800123456},
		{"1970-01-01T00:00:00Z", "0.0000000", 0},
		{"1969-12-31T23:59:58.5Z", "-1.5000000", -1500000},
		{"1969-12-31T23:59:59.9999999Z", "-0.0000001", -1},
	} {
		v, err := event.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := unixSeconds(v); got != tc.secs {
			t.Errorf("unixSeconds(%s) = %s, want %s", tc.in, got, tc.secs)
		}
		if got := unixMicros(v); got != tc.us {
			t.Errorf("unixMicros(%s) = %d, want %d", tc.in, got, tc.us)
		}
		if parseTime(v.String()) != v {
			t.Errorf("parseTime(%s) round trip", v)
		}
	}
	if unixSeconds(0) != "0" || parseTime("") != 0 || parseTime("FILETIME:42") != 42 {
		t.Error("unset / FILETIME forms")
	}
	if got := shortMessage(strings.Repeat("é", 81)); got != strings.Repeat("é", 77)+"..." {
		t.Errorf("short message %q", got)
	}
	if got := shortMessage(strings.Repeat("é", 80)); got != strings.Repeat("é", 80) {
		t.Errorf("80-char message cut: %q", got)
	}
}

// FuzzFields: whatever the fields column holds, JSONL lines stay valid
// JSON objects and CSV cells are never formulas.
func FuzzFields(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x","a":2}`, `{"host":"h","ads":[{"name":"z"}]}`, "{\"k\":\"\xff\"}",
		`{"x":` + "\n" + `[1, 2]}`, `[1]`, `nul`, `{"a":}`, `{"=x":"=y"}`} {
		f.Add(s, "-1")
	}
	f.Fuzz(func(t *testing.T, fields, cell string) {
		fs := parseFields(fields, nil)
		b := []byte{'{'}
		taken := func(k string) bool { return hasField(fs, k) }
		names := map[string]bool{}
		for i, fl := range fs {
			if i > 0 {
				b = append(b, ',')
			}
			n := rename(fl.key, tsReserved, taken)
			if names[n] || tsReserved(n) {
				t.Fatalf("name %q not unique", n)
			}
			names[n] = true
			b = timeline.AppendJSONString(b, n)
			b = append(b, ':')
			b = append(b, fl.raw...)
			_ = text(fl.raw)
		}
		b = append(b, '}')
		// Differential: the hand-cut fields equal what encoding/json reads.
		if want, ok := decodeOrdered(fields); ok {
			if len(want) != len(fs) {
				t.Fatalf("%q: %d fields, encoding/json %d", fields, len(fs), len(want))
			}
			for i := range fs {
				var got, exp any
				if fs[i].key != want[i].key || json.Unmarshal([]byte(fs[i].raw), &got) != nil ||
					json.Unmarshal([]byte(want[i].raw), &exp) != nil || !reflect.DeepEqual(got, exp) {
					t.Fatalf("%q: field %d = %q:%s, encoding/json %q:%s", fields, i, fs[i].key, fs[i].raw, want[i].key, want[i].raw)
				}
			}
		}
		if !json.Valid(b) || bytes.ContainsAny(b, "\n\r") || !utf8Valid(b) {
			t.Fatalf("invalid JSONL line from %q: %s", fields, b)
		}
		if s := Neutralize(cell); s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) && !isNumber(s) && s != "-" && s != "--:--:--" {
			t.Fatalf("Neutralize(%q) = %q", cell, s)
		}
		if s := string(timeline.AppendJSONString(nil, cell)); !json.Valid([]byte(s)) {
			t.Fatalf("timeline.AppendJSONString(%q) = %s", cell, s)
		}
	})
}

// memWriter counts bytes and samples the live heap every 4 MiB written.
type memWriter struct {
	n, next  int64
	peakHeap uint64
}

func (m *memWriter) Write(p []byte) (int, error) {
	m.n += int64(len(p))
	if m.n >= m.next {
		m.next = m.n + 4<<20
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m.peakHeap = max(m.peakHeap, ms.HeapAlloc)
	}
	return len(p), nil
}

// TestLargeExportStreams exports 100,000 events and checks that the live
// heap stays far below the size of the output: rows are streamed, not
// collected.
func TestLargeExportStreams(t *testing.T) {
	c, err := timeline.Open(filepath.Join(t.TempDir(), "big.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in, err := c.BeginIngest(context.Background(), &timeline.Evidence{Path: "/evidence/big.raw", SHA256: "big", Host: "BIG"})
	if err != nil {
		t.Fatal(err)
	}
	src := in.BeginSource(0, `\$MFT`, "ntfs", event.MFT)
	const n = 100_000
	for i := range n {
		e := &event.Event{Time: event.FileTime(133_000_000_000_000_000 + int64(i)*37), TimeDesc: "$SI [MACB]", MACB: "MACB",
			Artifact: event.MFT, Type: "si", Path: fmt.Sprintf(`\Users\alice\file%d.txt`, i),
			Message: fmt.Sprintf(`$SI MACB \Users\alice\file%d.txt`, i), Record: int64(i), Offset: int64(i) * 1024}
		e.Add("entry", i).Add("attr", "$SI").Add("inode", fmt.Sprintf("%d-128-1", i)).Add("size", i).
			Add("si_b", e.Time).Add("si_m", e.Time).Add("si_c", e.Time).Add("si_a", e.Time).Add("pad", strings.Repeat("x", 200))
		if err := src.Emit(e); err != nil {
			t.Fatal(err)
		}
	}
	src.Done(n, 0, nil)
	if err := in.Finish(nil); err != nil {
		t.Fatal(err)
	}
	for _, format := range Formats() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w := &memWriter{}
		rows, err := Write(context.Background(), c, timeline.Filter{}, format, w)
		if err != nil || rows != n {
			t.Fatalf("%s: %d rows, %v", format, rows, err)
		}
		grew := int64(w.peakHeap) - int64(ms.HeapAlloc)
		t.Logf("%s: %d bytes out, heap grew at most %d KiB", format, w.n, grew>>10)
		if w.n < 10<<20 || grew > 16<<20 {
			t.Errorf("%s: wrote %d bytes with heap growth %d bytes; want streaming (growth < 16 MiB)", format, w.n, grew)
		}
	}
}

// decodeOrdered reads a JSON object's fields in order with encoding/json
// (first occurrence of a key wins); ok is false if s is not an object.
func decodeOrdered(s string) ([]field, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		if !hasField(out, tok.(string)) {
			out = append(out, field{tok.(string), string(raw)})
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return out, true
}

// TestTSGroup: namespaced fields fold into one field per namespace, where
// the first of them was; a plain field named like a group is renamed; a
// dotted name that is not a namespace stays a field.
func TestTSGroup(t *testing.T) {
	in := []field{{"a", "1"}, {"data.X", `"x"`}, {"-3.5", "2"}, {"data", `"plain"`}, {"data.Y", "[1]"}, {"b.c", "true"}}
	got := tsGroup(in, nil, map[string][]byte{})
	want := []field{{"a", "1"}, {"data", `"{\"X\":\"x\",\"Y\":[1]}"`}, {"-3.5", "2"}, {"field_data", `"plain"`}, {"b", `"{\"c\":true}"`}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tsGroup =\n%v\nwant\n%v", got, want)
	}
	// Reused buffers start clean.
	objs := map[string][]byte{}
	tsGroup(in, nil, objs)
	if got := tsGroup([]field{{"data.Z", "0"}}, nil, objs); fmt.Sprint(got) != fmt.Sprint([]field{{"data", `"{\"Z\":0}"`}}) {
		t.Errorf("second event: %v", got)
	}
}
