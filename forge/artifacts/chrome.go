package artifacts

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // SQLite driver for the History file

	"github.com/foothold/foothold/parsers/event"
)

// Chrome page transition core types (ui::PageTransition) and the
// qualifiers forged visits need. A visit's Transition is core|qualifiers.
const (
	TransitionLink           uint32 = 0
	TransitionTyped          uint32 = 1
	TransitionAutoBookmark   uint32 = 2
	TransitionGenerated      uint32 = 5
	TransitionReload         uint32 = 8
	TransitionFormSubmit     uint32 = 7
	TransitionChainStart     uint32 = 0x10000000
	TransitionChainEnd       uint32 = 0x20000000
	TransitionClientRedirect uint32 = 0x40000000
	TransitionServerRedirect uint32 = 0x80000000
	TransitionFromAddressBar uint32 = 0x02000000
	transitionCoreMask       uint32 = 0xFF
)

// Download states and danger types as Chrome stores them.
const (
	DownloadInProgress  = 0
	DownloadComplete    = 1
	DownloadCancelled   = 2
	DownloadInterrupted = 4

	DangerNotDangerous  = 0
	DangerFile          = 1 // "this type of file can harm your computer"
	DangerUserValidated = 6
)

// Visit is one row of visits (and, grouped by URL, of urls).
type Visit struct {
	URL, Title string
	Time       event.FileTime
	Transition uint32
	// FromVisit is the 1-based index in the visits slice of the referring
	// visit (visits.from_visit); 0 for none.
	FromVisit int
	Duration  time.Duration
	// SearchTerm, when set, adds a keyword_search_terms row (default search
	// engine, keyword_id 2) for this visit's URL.
	SearchTerm string
}

// Download is one row of downloads plus its URL chain.
type Download struct {
	URL, Referrer, TargetPath, MimeType string
	Start, End                          event.FileTime
	Received, Total                     int64
	DangerType, State                   int
	// Chain is the redirect chain, first URL to final URL; empty means
	// just URL.
	Chain                  []string
	TabURL, TabReferrerURL string // default: the page that started it (Referrer) and its referrer (empty)
	SiteURL                string
	ETag, LastModified     string
	SHA256                 []byte // the hash column; Chrome fills it for completed downloads
	GUID                   string // default: derived from URL and Start
}

// chromeSchemaVersion is the History schema of the newest real sample we
// hold (velociraptor ChromeHistory.sqlite, meta version 51, with the
// clusters tables). Every table and index below is that file's DDL, so
// readers that understand it (plaso, hindsight, Velociraptor) read ours.
const chromeSchemaVersion = 51

var chromeSchema = []string{
	`CREATE TABLE meta(key LONGVARCHAR NOT NULL UNIQUE PRIMARY KEY, value LONGVARCHAR)`,
	`CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT,url LONGVARCHAR,title LONGVARCHAR,visit_count INTEGER DEFAULT 0 NOT NULL,typed_count INTEGER DEFAULT 0 NOT NULL,last_visit_time INTEGER NOT NULL,hidden INTEGER DEFAULT 0 NOT NULL)`,
	`CREATE TABLE visits(id INTEGER PRIMARY KEY,url INTEGER NOT NULL,visit_time INTEGER NOT NULL,from_visit INTEGER,transition INTEGER DEFAULT 0 NOT NULL,segment_id INTEGER,visit_duration INTEGER DEFAULT 0 NOT NULL,incremented_omnibox_typed_score BOOLEAN DEFAULT FALSE NOT NULL,opener_visit INTEGER)`,
	`CREATE TABLE visit_source(id INTEGER PRIMARY KEY,source INTEGER NOT NULL)`,
	`CREATE INDEX visits_url_index ON visits (url)`,
	`CREATE INDEX visits_from_index ON visits (from_visit)`,
	`CREATE INDEX visits_time_index ON visits (visit_time)`,
	`CREATE TABLE keyword_search_terms (keyword_id INTEGER NOT NULL,url_id INTEGER NOT NULL,term LONGVARCHAR NOT NULL,normalized_term LONGVARCHAR NOT NULL)`,
	`CREATE INDEX keyword_search_terms_index1 ON keyword_search_terms (keyword_id, normalized_term)`,
	`CREATE INDEX keyword_search_terms_index2 ON keyword_search_terms (url_id)`,
	`CREATE INDEX keyword_search_terms_index3 ON keyword_search_terms (term)`,
	`CREATE TABLE downloads (id INTEGER PRIMARY KEY,guid VARCHAR NOT NULL,current_path LONGVARCHAR NOT NULL,target_path LONGVARCHAR NOT NULL,start_time INTEGER NOT NULL,received_bytes INTEGER NOT NULL,total_bytes INTEGER NOT NULL,state INTEGER NOT NULL,danger_type INTEGER NOT NULL,interrupt_reason INTEGER NOT NULL,hash BLOB NOT NULL,end_time INTEGER NOT NULL,opened INTEGER NOT NULL,last_access_time INTEGER NOT NULL,transient INTEGER NOT NULL,referrer VARCHAR NOT NULL,site_url VARCHAR NOT NULL,tab_url VARCHAR NOT NULL,tab_referrer_url VARCHAR NOT NULL,http_method VARCHAR NOT NULL,by_ext_id VARCHAR NOT NULL,by_ext_name VARCHAR NOT NULL,etag VARCHAR NOT NULL,last_modified VARCHAR NOT NULL,mime_type VARCHAR(255) NOT NULL,original_mime_type VARCHAR(255) NOT NULL)`,
	`CREATE TABLE downloads_url_chains (id INTEGER NOT NULL,chain_index INTEGER NOT NULL,url LONGVARCHAR NOT NULL, PRIMARY KEY (id, chain_index) )`,
	`CREATE TABLE downloads_slices (download_id INTEGER NOT NULL,offset INTEGER NOT NULL,received_bytes INTEGER NOT NULL,finished INTEGER NOT NULL DEFAULT 0,PRIMARY KEY (download_id, offset) )`,
	`CREATE TABLE downloads_reroute_info (download_id INTEGER NOT NULL,reroute_info_serialized  VARCHAR NOT NULL,PRIMARY KEY (download_id) )`,
	`CREATE TABLE segments (id INTEGER PRIMARY KEY,name VARCHAR,url_id INTEGER NON NULL)`,
	`CREATE INDEX segments_name ON segments(name)`,
	`CREATE INDEX segments_url_id ON segments(url_id)`,
	`CREATE TABLE segment_usage (id INTEGER PRIMARY KEY,segment_id INTEGER NOT NULL,time_slot INTEGER NOT NULL,visit_count INTEGER DEFAULT 0 NOT NULL)`,
	`CREATE INDEX segment_usage_time_slot_segment_id ON segment_usage(time_slot, segment_id)`,
	`CREATE INDEX segments_usage_seg_id ON segment_usage(segment_id)`,
	`CREATE TABLE typed_url_sync_metadata (storage_key INTEGER PRIMARY KEY NOT NULL,value BLOB)`,
	`CREATE TABLE content_annotations(visit_id INTEGER PRIMARY KEY,visibility_score NUMERIC,floc_protected_score NUMERIC,categories VARCHAR,page_topics_model_version INTEGER,annotation_flags INTEGER NOT NULL,entities VARCHAR,related_searches VARCHAR)`,
	`CREATE TABLE context_annotations(visit_id INTEGER PRIMARY KEY,context_annotation_flags INTEGER NOT NULL,duration_since_last_visit INTEGER,page_end_reason INTEGER,total_foreground_duration INTEGER)`,
	`CREATE TABLE clusters(cluster_id INTEGER PRIMARY KEY,score NUMERIC NOT NULL)`,
	`CREATE TABLE clusters_and_visits(cluster_id INTEGER NOT NULL,visit_id INTEGER NOT NULL,score NUMERIC NOT NULL,PRIMARY KEY(cluster_id,visit_id))WITHOUT ROWID`,
	`CREATE INDEX clusters_for_visit ON clusters_and_visits(visit_id)`,
	`CREATE INDEX urls_url_index ON urls (url)`,
}

// ChromeTime converts a FILETIME to Chrome's base::Time storage value:
// microseconds since 1601-01-01 UTC. The FILETIME's last decimal digit
// (100 ns) is below Chrome's resolution and is dropped.
func ChromeTime(t event.FileTime) int64 { return int64(t / 10) }

// WriteChromeHistory creates a Chrome (or Edge: same schema) History file
// at path, which must not exist. URLs get ids in order of first visit;
// visit_count, typed_count, last_visit_time and title are derived from the
// visits as Chrome maintains them.
func WriteChromeHistory(path string, visits []Visit, downloads []Download) (err error) {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("chrome history %s: already exists", path)
	}
	for i, v := range visits {
		if v.URL == "" || v.Time == 0 {
			return fmt.Errorf("chrome history %s: visit %d needs a URL and a time", path, i+1)
		}
		if v.FromVisit < 0 || v.FromVisit > len(visits) || v.FromVisit == i+1 {
			return fmt.Errorf("chrome history %s: visit %d: from_visit %d out of range", path, i+1, v.FromVisit)
		}
	}
	for i, d := range downloads {
		if d.URL == "" || d.TargetPath == "" || d.Start == 0 {
			return fmt.Errorf("chrome history %s: download %d needs URL, target path and start time", path, i+1)
		}
	}
	// _journal_mode=DELETE: Chrome's History uses a rollback journal, and
	// nothing must be left beside the file after Close.
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=DELETE&_locking_mode=NORMAL")
	if err != nil {
		return fmt.Errorf("chrome history %s: %w", path, err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("chrome history %s: close: %w", path, cerr)
		}
	}()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`PRAGMA page_size=4096`); err != nil {
		return fmt.Errorf("chrome history %s: %w", path, err)
	}
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("chrome history %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	for _, s := range chromeSchema {
		if _, err := tx.Exec(s); err != nil {
			return fmt.Errorf("chrome history %s: schema: %w", path, err)
		}
	}
	// early_expiration_threshold: Chrome sets it to the oldest time it has
	// expired down to; the earliest visit is the natural value.
	var earliest event.FileTime
	for _, v := range visits {
		if earliest == 0 || v.Time < earliest {
			earliest = v.Time
		}
	}
	for _, kv := range [][2]any{
		{"mmap_status", "-1"},
		{"version", fmt.Sprint(chromeSchemaVersion)},
		{"last_compatible_version", "16"},
		{"early_expiration_threshold", fmt.Sprint(ChromeTime(earliest))},
	} {
		if _, err := tx.Exec(`INSERT INTO meta(key,value) VALUES(?,?)`, kv[0], kv[1]); err != nil {
			return fmt.Errorf("chrome history %s: meta: %w", path, err)
		}
	}

	// urls, in order of first visit.
	type urlRow struct {
		id            int64
		title         string
		visits, typed int
		last          event.FileTime
	}
	urls := map[string]*urlRow{}
	var order []string
	for _, v := range visits {
		u := urls[v.URL]
		if u == nil {
			u = &urlRow{id: int64(len(order) + 1)}
			urls[v.URL] = u
			order = append(order, v.URL)
		}
		u.visits++
		if v.Transition&transitionCoreMask == TransitionTyped {
			u.typed++
		}
		if v.Time >= u.last {
			u.last = v.Time
			if v.Title != "" {
				u.title = v.Title
			}
		}
		if u.title == "" {
			u.title = v.Title
		}
	}
	for _, k := range order {
		u := urls[k]
		if _, err := tx.Exec(`INSERT INTO urls(id,url,title,visit_count,typed_count,last_visit_time,hidden) VALUES(?,?,?,?,?,?,0)`,
			u.id, k, u.title, u.visits, u.typed, ChromeTime(u.last)); err != nil {
			return fmt.Errorf("chrome history %s: urls: %w", path, err)
		}
	}
	for i, v := range visits {
		typed := v.Transition&transitionCoreMask == TransitionTyped
		if _, err := tx.Exec(`INSERT INTO visits(id,url,visit_time,from_visit,transition,segment_id,visit_duration,incremented_omnibox_typed_score,opener_visit) VALUES(?,?,?,?,?,0,?,?,0)`,
			i+1, urls[v.URL].id, ChromeTime(v.Time), v.FromVisit, int64(v.Transition), v.Duration.Microseconds(), typed); err != nil {
			return fmt.Errorf("chrome history %s: visit %d: %w", path, i+1, err)
		}
		if v.SearchTerm != "" {
			if _, err := tx.Exec(`INSERT INTO keyword_search_terms(keyword_id,url_id,term,normalized_term) VALUES(2,?,?,?)`,
				urls[v.URL].id, v.SearchTerm, strings.ToLower(strings.Join(strings.Fields(v.SearchTerm), " "))); err != nil {
				return fmt.Errorf("chrome history %s: search term: %w", path, err)
			}
		}
	}
	for i, d := range downloads {
		id := i + 1
		guid := d.GUID
		if guid == "" {
			guid = derivedGUID(d.URL + "\x00" + fmt.Sprint(uint64(d.Start)))
		}
		tab := d.TabURL
		if tab == "" {
			tab = d.Referrer
		}
		hash := d.SHA256
		if hash == nil {
			hash = []byte{}
		}
		if _, err := tx.Exec(`INSERT INTO downloads(id,guid,current_path,target_path,start_time,received_bytes,total_bytes,state,danger_type,interrupt_reason,hash,end_time,opened,last_access_time,transient,referrer,site_url,tab_url,tab_referrer_url,http_method,by_ext_id,by_ext_name,etag,last_modified,mime_type,original_mime_type) VALUES(?,?,?,?,?,?,?,?,?,0,?,?,0,0,0,?,?,?,?,'','','',?,?,?,?)`,
			id, guid, d.TargetPath, d.TargetPath, ChromeTime(d.Start), d.Received, d.Total, d.State, d.DangerType, hash,
			ChromeTime(d.End), d.Referrer, d.SiteURL, tab, d.TabReferrerURL, d.ETag, d.LastModified, d.MimeType, d.MimeType); err != nil {
			return fmt.Errorf("chrome history %s: download %d: %w", path, id, err)
		}
		chain := d.Chain
		if len(chain) == 0 {
			chain = []string{d.URL}
		}
		for j, u := range chain {
			if _, err := tx.Exec(`INSERT INTO downloads_url_chains(id,chain_index,url) VALUES(?,?,?)`, id, j, u); err != nil {
				return fmt.Errorf("chrome history %s: download %d chain: %w", path, id, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("chrome history %s: commit: %w", path, err)
	}
	return nil
}

// derivedGUID makes an upper-case version-4-shaped GUID from s, the form
// Chrome writes in downloads.guid, so reruns produce the same value.
func derivedGUID(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0F | 0x40
	h[8] = h[8]&0x3F | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}
