package browser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/forge/artifacts"
	"github.com/foothold/foothold/parsers/event"
)

// corpusDBs lists every browser database of the corpus, relative to it.
func corpusDBs(t testing.TB) []string {
	root := testimg.Corpus(t)
	var out []string
	filepath.WalkDir(filepath.Join(root, "browser"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	if len(out) != 12 {
		t.Fatalf("%d browser databases in the corpus, want 12", len(out))
	}
	return out
}

func parseAll(t testing.TB, path string) ([]event.Event, Stats) {
	t.Helper()
	var evs []event.Event
	st, err := ParseFile(context.Background(), path, event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		evs = append(evs, c)
		return nil
	}))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return evs, st
}

func str(e *event.Event, k string) string {
	v, _ := e.Get(k)
	s, _ := v.(string)
	return s
}

// sqlite3JSON runs the sqlite3 shell on the database opened immutable.
func sqlite3JSON(t *testing.T, path, query string) []map[string]any {
	t.Helper()
	out, err := exec.Command("sqlite3", "-json", "file:"+path+"?immutable=1", query).Output()
	if err != nil {
		t.Fatalf("sqlite3 %s: %v", path, err)
	}
	var rows []map[string]any
	if len(bytes.TrimSpace(out)) == 0 {
		return nil
	}
	// UseNumber: µs since 1601 are beyond float64's 53-bit integers.
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&rows); err != nil {
		t.Fatalf("sqlite3 output: %v", err)
	}
	return rows
}

// TestCorpusAgainstSQLite3 compares every visit and download of every
// corpus database with what the sqlite3 shell reads: ids, times (µs, so
// FILETIME/10), URLs and target paths.
func TestCorpusAgainstSQLite3(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("sqlite3 not installed")
	}
	root := testimg.Corpus(t)
	for _, rel := range corpusDBs(t) {
		path := filepath.Join(root, rel)
		kind, ok := Detect(path)
		if !ok {
			t.Errorf("%s: Detect failed", rel)
			continue
		}
		evs, st := parseAll(t, path)
		var visits, downloads []*event.Event
		for i := range evs {
			switch evs[i].Type {
			case "visit":
				visits = append(visits, &evs[i])
			case "download":
				if evs[i].TimeDesc == "Download started" {
					downloads = append(downloads, &evs[i])
				}
			}
		}
		var wantV, wantD []map[string]any
		if kind == KindChrome {
			wantV = sqlite3JSON(t, path, `SELECT v.id AS id, v.visit_time AS t, u.url AS url FROM visits v LEFT JOIN urls u ON u.id=v.url ORDER BY v.id`)
			target := "target_path"
			if !strings.Contains(strings.Join(columnsCLI(t, path), ","), "target_path") {
				target = "full_path"
			}
			wantD = sqlite3JSON(t, path, `SELECT id, start_time AS t, `+target+` AS target FROM downloads ORDER BY id`)
		} else {
			wantV = sqlite3JSON(t, path, `SELECT v.id AS id, v.visit_date AS t, p.url AS url FROM moz_historyvisits v LEFT JOIN moz_places p ON p.id=v.place_id ORDER BY v.id`)
		}
		if len(visits) != len(wantV) || len(downloads) != len(wantD) || st.Errors != 0 {
			t.Errorf("%s: %d visits, %d downloads, %d errors; sqlite3: %d visits, %d downloads", rel, len(visits), len(downloads), st.Errors, len(wantV), len(wantD))
			continue
		}
		for i, w := range wantV {
			e := visits[i]
			us, _ := w["t"].(json.Number).Int64()
			id, _ := w["id"].(json.Number).Int64()
			var want event.FileTime
			if kind == KindChrome {
				want = event.FileTime(us * 10)
			} else {
				want = event.FileTime(us*10 + 116444736000000000)
			}
			if e.Record != id || e.Time != want || str(e, "url") != w["url"] {
				t.Errorf("%s visit %v: got id %d time %d url %q; sqlite3 time %d url %v", rel, w["id"], e.Record, e.Time, str(e, "url"), want, w["url"])
			}
		}
		for i, w := range wantD {
			e := downloads[i]
			id, _ := w["id"].(json.Number).Int64()
			if e.Record != id || str(e, "target_path") != w["target"] || e.Path != w["target"] || e.Time == 0 {
				t.Errorf("%s download %v: got %d %q %s; sqlite3 %v", rel, w["id"], e.Record, str(e, "target_path"), e.Time, w)
			}
			if str(e, "url") == "" {
				t.Errorf("%s download %v: no URL", rel, w["id"])
			}
		}
	}
}

func columnsCLI(t *testing.T, path string) []string {
	var out []string
	for _, r := range sqlite3JSON(t, path, `SELECT name FROM pragma_table_info('downloads')`) {
		out = append(out, r["name"].(string))
	}
	return out
}

// TestGroundTruth checks the values hindsight's and plaso's tests expect
// (GROUND_TRUTH_POINTERS.md, Browser history). Three of hindsight's visit
// times are 1 µs above the stored integer (01: .498623 for
// 13014880135498622, 20: .162176 for ...173162177, 60: .507864 for
// ...416507863, read with sqlite3): hindsight goes through floating point;
// the expectations below are the integers.
func TestGroundTruth(t *testing.T) {
	root := testimg.Corpus(t)
	for _, c := range []struct {
		file              string
		visits, downloads int
		visitTime, url    string // a visit hindsight names (empty: none)
		downloadStart     string // first download's start
		firstTarget       string
	}{
		{"chrome/hindsight/01/History", 46, 2, "2013-06-05T04:28:55.4986220Z", "Computer_forensics", "2013-06-05T04:28:30.0000000Z", `C:\Users\Ryan\Documents\Downloads\Hard_disk.jpg`},
		{"chrome/hindsight/10/History", 84, 2, "2013-06-27T04:23:14.1767560Z", "", "2013-06-27T04:23:25.0000000Z", `C:\Users\Ryan\Downloads\Hard_disk.jpg`},
		{"chrome/hindsight/20/History", 58, 2, "2013-06-30T21:26:13.1621770Z", "", "2013-06-30T21:26:05.0000000Z", `C:\Users\Ryan\Downloads\Hard_disk.jpg`},
		{"chrome/hindsight/30/History", 46, 2, "2013-10-02T23:15:13.3267120Z", "", "2013-10-02T23:17:29.3971600Z", `C:\Users\Ryan\Downloads\Hard_disk.jpg`},
		{"chrome/hindsight/60/History", 61, 2, "2017-08-05T22:06:56.5078630Z", "", "2017-08-05T22:06:52.0883550Z", `C:\Users\IEUser\Downloads\Hard_disk.jpg`},
		{"chrome/plaso/History", 69, 2, "", "", "2011-05-23T08:35:30.0000000Z", "/home/john/Downloads/funcats_scr.exe"},
		{"chrome/plaso/History-57.0.2987.133", 1, 1, "", "", "", ""},
		{"chrome/plaso/History-58.0.3029.96", 1, 1, "", "", "", ""},
		{"chrome/plaso/History-59.0.3071.86", 1, 1, "", "", "", ""},
		{"chrome/plaso/History-59_added-fake-column", 1, 1, "", "", "", ""},
		{"chrome/velociraptor/ChromeHistory.sqlite", 2, 0, "", "", "", ""},
		{"firefox/plaso/places.sqlite", 1, 0, "", "", "", ""},
	} {
		evs, _ := parseAll(t, filepath.Join(root, "browser", c.file))
		var v, d int
		foundVisit := c.visitTime == ""
		var first *event.Event
		for i := range evs {
			e := &evs[i]
			switch {
			case e.Type == "visit":
				v++
				if e.Time.String() == c.visitTime && strings.Contains(str(e, "url"), c.url) {
					foundVisit = true
				}
			case e.Type == "download" && e.TimeDesc == "Download started":
				d++
				if first == nil {
					first = e
				}
			}
		}
		if v != c.visits || d != c.downloads || !foundVisit {
			t.Errorf("%s: %d visits, %d downloads, visit at %s found %v; want %d, %d", c.file, v, d, c.visitTime, foundVisit, c.visits, c.downloads)
		}
		if c.downloadStart != "" && (first == nil || first.Time.String() != c.downloadStart || str(first, "target_path") != c.firstTarget) {
			t.Errorf("%s: first download %+v; want start %s target %s", c.file, first, c.downloadStart, c.firstTarget)
		}
	}
	// hindsight: Hard_disk.jpg is 1,387,537 bytes.
	evs, _ := parseAll(t, filepath.Join(root, "browser/chrome/hindsight/01/History"))
	for _, e := range evs {
		if e.Type == "download" {
			if b, _ := e.Get("bytes"); b != int64(1387537) {
				t.Errorf("hindsight 01 first download bytes %v", b)
			}
			break
		}
	}
}

// TestForgeChromeHistory round-trips the forge's WriteChromeHistory.
func TestForgeChromeHistory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "History")
	t0 := event.FromTime(time.Date(2023, 3, 1, 9, 0, 0, 123456000, time.UTC))
	visits := []artifacts.Visit{
		{URL: "https://www.google.com/search?q=tpm+tool", Title: "tpm tool - Google Search", Time: t0, Transition: artifacts.TransitionTyped | artifacts.TransitionChainStart | artifacts.TransitionChainEnd | artifacts.TransitionFromAddressBar, SearchTerm: "tpm tool"},
		{URL: "https://tools.example.net/tpm", Title: "TPM tools", Time: t0 + 50_000_000, Transition: artifacts.TransitionLink | artifacts.TransitionChainStart | artifacts.TransitionChainEnd, FromVisit: 1, Duration: 3 * time.Second},
	}
	downloads := []artifacts.Download{{
		URL: "https://tools.example.net/get?id=7", Referrer: "https://tools.example.net/tpm", TargetPath: `C:\Users\alice\Downloads\TpmVscMgrSvr.exe`,
		MimeType: "application/x-msdownload", Start: t0 + 60_000_000, End: t0 + 65_000_000, Received: 123456, Total: 123456,
		DangerType: artifacts.DangerUserValidated, State: artifacts.DownloadComplete,
		Chain: []string{"https://tools.example.net/get?id=7", "https://cdn.example.net/TpmVscMgrSvr.exe"}, SHA256: bytes.Repeat([]byte{0xAB}, 32),
	}}
	if err := artifacts.WriteChromeHistory(path, visits, downloads); err != nil {
		t.Fatal(err)
	}
	evs, st := parseAll(t, path)
	if st.Records != 4 || st.Errors != 0 || len(evs) != 4 {
		t.Fatalf("%+v, %d events", st, len(evs))
	}
	for i, v := range visits {
		e := &evs[i]
		// Chrome keeps µs: the 100 ns digit is lost.
		if e.Type != "visit" || e.Time != v.Time/10*10 || str(e, "url") != v.URL || str(e, "title") != v.Title {
			t.Errorf("visit %d: %+v", i, e)
		}
	}
	if str(&evs[1], "referrer") != visits[0].URL || str(&evs[0], "referrer") != "" {
		t.Errorf("referrers %q %q", str(&evs[0], "referrer"), str(&evs[1], "referrer"))
	}
	if got := str(&evs[0], "transition"); got != "typed|from_address_bar|chain_start|chain_end" {
		t.Errorf("transition %q", got)
	}
	d := downloads[0]
	for i, desc := range []string{"Download started", "Download finished"} {
		e := &evs[2+i]
		want := map[string]any{"url": d.URL, "url_chain": strings.Join(d.Chain, "\n"), "referrer": d.Referrer, "tab_url": d.Referrer,
			"target_path": d.TargetPath, "bytes": d.Received, "total_bytes": d.Total, "state": "complete",
			"danger_type": "USER_VALIDATED", "mime_type": d.MimeType, "sha256": strings.Repeat("ab", 32),
			"start_time": d.Start, "end_time": d.End}
		for k, v := range want {
			if got, _ := e.Get(k); got != v {
				t.Errorf("%s: %s = %#v, want %#v", desc, k, got, v)
			}
		}
		if e.TimeDesc != desc || e.Path != d.TargetPath || e.Type != "download" {
			t.Errorf("%s: %+v", desc, e)
		}
	}
	if evs[2].Time != d.Start || evs[3].Time != d.End {
		t.Errorf("download times %s %s", evs[2].Time, evs[3].Time)
	}
}

// dirState maps each file of dir to its size, mtime and SHA-256.
func dirState(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := e.Info()
		out[e.Name()] = fmt.Sprintf("%s %d %x", fi.ModTime(), len(b), sha256.Sum256(b))
	}
	return out
}

// TestNothingWrittenBeside parses and detects databases in a directory
// and checks that no file appears or changes there, also for a database
// with a hot -wal file (which SQLite would otherwise check-point into it).
func TestNothingWrittenBeside(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testimg.Corpus(t), "browser/chrome/hindsight/60/History"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "History"), src, 0o400); err != nil {
		t.Fatal(err)
	}
	// A WAL database: written in a scratch dir, copied with its -wal
	// while the writer still holds it open (no checkpoint yet).
	scratch := t.TempDir()
	wdb := filepath.Join(scratch, "places.sqlite")
	db, err := sql.Open("sqlite3", "file:"+wdb+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, s := range []string{
		`PRAGMA wal_autocheckpoint=0`,
		`CREATE TABLE moz_places(id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR)`,
		`CREATE TABLE moz_historyvisits(id INTEGER PRIMARY KEY, from_visit INTEGER, place_id INTEGER, visit_date INTEGER, visit_type INTEGER, session INTEGER)`,
		`INSERT INTO moz_places VALUES(1,'https://example.org/','Example')`,
		`INSERT INTO moz_historyvisits VALUES(1,0,1,1677661200000000,2,0)`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"places.sqlite", "places.sqlite-wal"} {
		b, err := os.ReadFile(filepath.Join(scratch, n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, n), b, 0o400)
	}
	db.Close()
	before := dirState(t, dir)
	if len(before) != 3 {
		t.Fatalf("setup: %d files", len(before))
	}
	if k, ok := Detect(filepath.Join(dir, "History")); !ok || k != KindChrome {
		t.Errorf("Detect History = %q %v", k, ok)
	}
	evs, _ := parseAll(t, filepath.Join(dir, "History"))
	if len(evs) != 65 {
		t.Errorf("History: %d events, want 65", len(evs))
	}
	evs, _ = parseAll(t, filepath.Join(dir, "places.sqlite"))
	if len(evs) != 1 || evs[0].Time.String() != "2023-03-01T09:00:00.0000000Z" {
		t.Errorf("places with WAL: %+v (the visit lives only in the -wal)", evs)
	}
	Detect(filepath.Join(dir, "places.sqlite"))
	after := dirState(t, dir)
	if len(after) != len(before) {
		t.Errorf("files beside the evidence: before %d, after %d", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed", k)
		}
	}
}

// TestFirefoxDownloads builds a current-schema places.sqlite with the
// annotations Firefox writes for a download and reads it back.
func TestFirefoxDownloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "places.sqlite")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	start := int64(1677661200123456) // 2023-03-01T09:00:00.123456Z
	for _, s := range []string{
		`CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, rev_host LONGVARCHAR, visit_count INTEGER DEFAULT 0, hidden INTEGER DEFAULT 0 NOT NULL, typed INTEGER DEFAULT 0 NOT NULL, frecency INTEGER DEFAULT -1 NOT NULL, last_visit_date INTEGER, guid TEXT, foreign_count INTEGER DEFAULT 0 NOT NULL, url_hash INTEGER DEFAULT 0 NOT NULL, description TEXT, preview_image_url TEXT, origin_id INTEGER)`,
		`CREATE TABLE moz_historyvisits (id INTEGER PRIMARY KEY, from_visit INTEGER, place_id INTEGER, visit_date INTEGER, visit_type INTEGER, session INTEGER, source INTEGER DEFAULT 0 NOT NULL, triggeringPlaceId INTEGER)`,
		`CREATE TABLE moz_anno_attributes (id INTEGER PRIMARY KEY, name VARCHAR(32) UNIQUE NOT NULL)`,
		`CREATE TABLE moz_annos (id INTEGER PRIMARY KEY, place_id INTEGER NOT NULL, anno_attribute_id INTEGER, content LONGVARCHAR, flags INTEGER DEFAULT 0, expiration INTEGER DEFAULT 0, type INTEGER DEFAULT 0, dateAdded INTEGER DEFAULT 0, lastModified INTEGER DEFAULT 0)`,
		`INSERT INTO moz_places(id,url,title) VALUES(1,'https://tools.example.net/tpm','TPM tools'),(2,'https://cdn.example.net/TpmVscMgrSvr.exe','TpmVscMgrSvr.exe')`,
		`INSERT INTO moz_historyvisits VALUES(1,0,1,1677661190000000,1,0,0,0),(2,1,2,1677661200123456,7,0,0,0)`,
		`INSERT INTO moz_anno_attributes VALUES(1,'downloads/destinationFileURI'),(2,'downloads/metaData')`,
		`INSERT INTO moz_annos(place_id,anno_attribute_id,content,dateAdded,lastModified) VALUES(2,1,'file:///C:/Users/alice/Downloads/Tpm%20Vsc%20MgrSvr.exe',1677661200123456,1677661200123456)`,
		`INSERT INTO moz_annos(place_id,anno_attribute_id,content,dateAdded,lastModified) VALUES(2,2,'{"state":1,"deleted":false,"endTime":1677661205000,"fileSize":123456}',1677661205000000,1677661205000000)`,
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	evs, st := parseAll(t, path)
	if st.Records != 4 || st.Errors != 0 {
		t.Fatalf("%+v %+v", st, evs)
	}
	if str(&evs[1], "referrer") != "https://tools.example.net/tpm" || str(&evs[1], "transition") != "download" {
		t.Errorf("visit 2: %+v", evs[1])
	}
	s, e := &evs[2], &evs[3]
	if s.Time.String() != "2023-03-01T09:00:00.1234560Z" || e.Time.String() != "2023-03-01T09:00:05.0000000Z" ||
		str(s, "target_path") != `C:\Users\alice\Downloads\Tpm Vsc MgrSvr.exe` || str(s, "url") != "https://cdn.example.net/TpmVscMgrSvr.exe" ||
		str(s, "state") != "complete" || s.Path != str(s, "target_path") {
		t.Errorf("download: %+v %+v", s, e)
	}
	if b, _ := s.Get("bytes"); b != int64(123456) {
		t.Errorf("bytes %v", b)
	}
	_ = start
}

func TestFileURIPath(t *testing.T) {
	for in, want := range map[string]string{
		"file:///C:/Users/a/Downloads/x%20y.exe": `C:\Users\a\Downloads\x y.exe`,
		"file://fileserver/share/tools/a.exe":    `\\fileserver\share\tools\a.exe`,
		"file:///home/u/Downloads/a.sh":          "/home/u/Downloads/a.sh",
		`C:\plain\path.exe`:                      `C:\plain\path.exe`,
	} {
		if got := FileURIPath(in); got != want {
			t.Errorf("FileURIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	sink := event.SinkFunc(func(*event.Event) error { return nil })
	hist, err := os.ReadFile(filepath.Join(testimg.Corpus(t), "browser/chrome/hindsight/01/History"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"not sqlite", []byte("hello, world, this is not a database")},
		{"header only", hist[:100]},
		{"truncated", hist[:len(hist)/3]},
		{"zeroed pages", append(append([]byte{}, hist[:4096]...), make([]byte, len(hist)-4096)...)},
	} {
		_, err := Parse(context.Background(), c.name, bytes.NewReader(c.b), int64(len(c.b)), sink)
		if err == nil || !strings.Contains(err.Error(), "browser "+c.name) {
			t.Errorf("%s: err %v", c.name, err)
		}
	}
	if IsChromeHistory([]byte("SQLite format")) || !IsFirefoxPlaces(hist) {
		t.Error("header sniffing")
	}
	if _, ok := Detect(filepath.Join(t.TempDir(), "missing")); ok {
		t.Error("Detect of a missing file")
	}
}
