package artifacts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

func ft(y int, mo time.Month, d, h, mi, s, ns int) event.FileTime {
	return event.FromTime(time.Date(y, mo, d, h, mi, s, ns, time.UTC))
}

// corpusDir is ../shared/corpus relative to the repository root.
func corpusDir(t *testing.T) string {
	t.Helper()
	return testimg.Corpus(t)
}

func sqlite(t *testing.T, db, query string) string {
	t.Helper()
	need(t, "sqlite3")
	out, err := exec.Command("sqlite3", "-separator", "|", "file:"+db+"?immutable=1", query).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s %q: %v\n%s", db, query, err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

// The WS-TRADER01 story: search, vendor page, download of the installer.
func traderHistory() ([]Visit, []Download) {
	visits := []Visit{
		{URL: "https://www.google.com/search?q=x_trader+download", Title: "x_trader download - Google Search", Time: ft(2023, 3, 6, 14, 1, 50, 123456700), Transition: TransitionGenerated | TransitionChainStart | TransitionChainEnd | TransitionFromAddressBar, SearchTerm: "X_TRADER  download"},
		{URL: "https://www.xtrader.example/downloads/", Title: "Downloads - X_TRADER", Time: ft(2023, 3, 6, 14, 2, 12, 500000000), Transition: TransitionLink | TransitionChainStart | TransitionChainEnd, FromVisit: 1, Duration: 25 * time.Second},
		{URL: "https://www.xtrader.example/", Title: "X_TRADER", Time: ft(2023, 3, 6, 14, 0, 5, 0), Transition: TransitionTyped | TransitionChainStart | TransitionChainEnd | TransitionFromAddressBar},
		{URL: "https://www.xtrader.example/downloads/", Title: "Downloads - X_TRADER", Time: ft(2023, 3, 6, 14, 3, 0, 0), Transition: TransitionReload | TransitionChainStart | TransitionChainEnd},
	}
	downloads := []Download{{
		URL:        "https://download.xtrader.example/X_TRADER_r7.17.90p608.exe",
		Referrer:   "https://www.xtrader.example/downloads/",
		TargetPath: `C:\Users\a.reyes\Downloads\X_TRADER_r7.17.90p608.exe`,
		MimeType:   "application/octet-stream",
		Start:      ft(2023, 3, 6, 14, 2, 31, 0),
		End:        ft(2023, 3, 6, 14, 2, 44, 870000000),
		Received:   93812736, Total: 93812736,
		State: DownloadComplete, DangerType: DangerNotDangerous,
		SHA256: []byte{0xde, 0xad, 0xbe, 0xef},
	}}
	return visits, downloads
}

func TestChromeHistorySQLite3(t *testing.T) {
	visits, downloads := traderHistory()
	dir := t.TempDir()
	db := filepath.Join(dir, "History")
	if err := WriteChromeHistory(db, visits, downloads); err != nil {
		t.Fatal(err)
	}
	// Nothing left beside the file (no -journal, -wal).
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only History", len(ents))
	}
	for _, tc := range []struct{ q, want string }{
		{"select count(*) from urls", "3"},
		{"select count(*) from visits", "4"},
		{"select count(*) from downloads", "1"},
		{"select count(*) from downloads_url_chains", "1"},
		{"select count(*) from keyword_search_terms", "1"},
		{"select value from meta where key='version'", "51"},
		{"select value from meta where key='last_compatible_version'", "16"},
		{"pragma page_size", "4096"},
		{"pragma integrity_check", "ok"},
		{"select id,url,title,visit_count,typed_count,strftime('%Y-%m-%d %H:%M:%S', last_visit_time/1000000-11644473600, 'unixepoch'),last_visit_time%1000000,hidden from urls order by id",
			"1|https://www.google.com/search?q=x_trader+download|x_trader download - Google Search|1|0|2023-03-06 14:01:50|123456|0\n" +
				"2|https://www.xtrader.example/downloads/|Downloads - X_TRADER|2|0|2023-03-06 14:03:00|0|0\n" +
				"3|https://www.xtrader.example/|X_TRADER|1|1|2023-03-06 14:00:05|0|0"},
		{"select id,url,from_visit,transition,visit_duration,incremented_omnibox_typed_score from visits order by id",
			"1|1|0|838860805|0|0\n2|2|1|805306368|25000000|0\n3|3|0|838860801|0|1\n4|2|0|805306376|0|0"},
		// Independent conversion of the stored µs-since-1601 values.
		{"select strftime('%Y-%m-%d %H:%M:%S', visit_time/1000000-11644473600, 'unixepoch'), visit_time%1000000 from visits order by id",
			"2023-03-06 14:01:50|123456\n2023-03-06 14:02:12|500000\n2023-03-06 14:00:05|0\n2023-03-06 14:03:00|0"},
		{"select guid, current_path, target_path, strftime('%Y-%m-%d %H:%M:%S', start_time/1000000-11644473600, 'unixepoch'), end_time%1000000, received_bytes, total_bytes, state, danger_type, hex(hash), referrer, tab_url, mime_type, original_mime_type from downloads",
			derivedGUID("https://download.xtrader.example/X_TRADER_r7.17.90p608.exe\x00"+fmt.Sprint(uint64(downloads[0].Start))) +
				`|C:\Users\a.reyes\Downloads\X_TRADER_r7.17.90p608.exe|C:\Users\a.reyes\Downloads\X_TRADER_r7.17.90p608.exe|2023-03-06 14:02:31|870000|93812736|93812736|1|0|DEADBEEF|https://www.xtrader.example/downloads/|https://www.xtrader.example/downloads/|application/octet-stream|application/octet-stream`},
		{"select id, chain_index, url from downloads_url_chains", "1|0|https://download.xtrader.example/X_TRADER_r7.17.90p608.exe"},
		{"select keyword_id, url_id, term, normalized_term from keyword_search_terms", "2|1|X_TRADER  download|x_trader download"},
		{"select seq from sqlite_sequence where name='urls'", "3"},
	} {
		if got := sqlite(t, db, tc.q); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.q, got, tc.want)
		}
	}
	if g := sqlite(t, db, "select guid from downloads"); !regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`).MatchString(g) {
		t.Errorf("guid %q is not an upper-case v4 GUID", g)
	}
	if err := WriteChromeHistory(db, visits, downloads); err == nil {
		t.Error("overwrote an existing History")
	}
}

// Every table we create has the same column set as the newest real History
// in the corpus, and we create all of its tables.
func TestChromeHistorySchemaMatchesCorpus(t *testing.T) {
	ref := filepath.Join(corpusDir(t), "browser", "chrome", "velociraptor", "ChromeHistory.sqlite")
	if _, err := os.Stat(ref); err != nil {
		t.Fatalf("corpus sample: %v", err)
	}
	db := filepath.Join(t.TempDir(), "History")
	if err := WriteChromeHistory(db, nil, nil); err != nil {
		t.Fatal(err)
	}
	list := "select name from sqlite_master where type in ('table','index') order by name"
	if got, want := sqlite(t, db, list), sqlite(t, ref, list); got != want {
		t.Fatalf("tables/indexes differ:\n got %s\nwant %s", got, want)
	}
	for _, table := range strings.Split(sqlite(t, ref, "select name from sqlite_master where type='table' order by name"), "\n") {
		q := "select name||':'||type||':'||\"notnull\"||':'||ifnull(dflt_value,'')||':'||pk from pragma_table_info('" + table + "')"
		got := strings.Split(sqlite(t, db, q), "\n")
		want := strings.Split(sqlite(t, ref, q), "\n")
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("table %s columns:\n got %v\nwant %v", table, got, want)
		}
	}
}

// Chrome time against ground truth: hindsight's test_history.py says record
// 7 of profile 01 (the Wikipedia Computer_forensics page) was visited at
// 2013-06-05 04:28:55.498623; sqlite3 reads the stored value as ...498622.
// hindsight converts through a float and rounds the last microsecond, so
// the stored integer is the truth and ChromeTime must reproduce it.
func TestChromeTimeGroundTruth(t *testing.T) {
	db := filepath.Join(corpusDir(t), "browser", "chrome", "hindsight", "01", "History")
	raw := sqlite(t, db, "select max(v.visit_time) from visits v join urls u on u.id=v.url where u.url='http://en.wikipedia.org/wiki/Computer_forensics'")
	when := sqlite(t, db, "select strftime('%Y-%m-%d %H:%M:%S', "+raw+"/1000000-11644473600, 'unixepoch')")
	if when != "2013-06-05 04:28:55" {
		t.Fatalf("corpus visit at %s, hindsight says 2013-06-05 04:28:55", when)
	}
	got := ChromeTime(ft(2013, 6, 5, 4, 28, 55, 498622000))
	if s := strings.TrimSpace(raw); s != "13014880135498622" || got != 13014880135498622 {
		t.Errorf("ChromeTime = %d, corpus holds %s", got, raw)
	}
	// Sub-microsecond ticks are dropped, never rounded up.
	if ChromeTime(ft(2013, 6, 5, 4, 28, 55, 498622900)) != 13014880135498622 {
		t.Error("ChromeTime rounds")
	}
}

func TestChromeHistoryRejects(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		v []Visit
		d []Download
	}{
		"no url":       {v: []Visit{{Time: 1}}},
		"no time":      {v: []Visit{{URL: "http://a/"}}},
		"self from":    {v: []Visit{{URL: "http://a/", Time: 1, FromVisit: 1}}},
		"from range":   {v: []Visit{{URL: "http://a/", Time: 1, FromVisit: 5}}},
		"dl no target": {d: []Download{{URL: "http://a/x", Start: 1}}},
	} {
		if err := WriteChromeHistory(filepath.Join(dir, name), tc.v, tc.d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
