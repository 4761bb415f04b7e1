// Package browser reads browser history databases: Chrome and Edge
// `History` (visits and downloads) and Firefox `places.sqlite` (visits, and
// downloads recorded as page annotations).
//
// Both are SQLite files. SQLite writes beside a database it opens (-journal,
// -wal, -shm files, and a hot journal is rolled back into the file itself),
// so evidence is never opened in place: Parse copies the bytes (and a -wal
// file when given) into a private temporary directory and opens the copy;
// Detect, which looks at a file in place, opens it with immutable=1 and
// mode=ro, which tells SQLite that nothing may change it and that no lock
// or side file is needed.
package browser

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/mattn/go-sqlite3" // SQLite driver

	"github.com/foothold/foothold/parsers/event"
)

// Stats is what one database gave.
type Stats struct{ Records, Errors int64 }

// MaxDBSize caps the database (and WAL) copied for one parse. Heavy
// profiles reach a few hundred MiB.
const MaxDBSize = 2 << 30

// Kinds returned by Detect.
const (
	KindChrome  = "chrome"  // Chrome, Edge, and other Chromium History files
	KindFirefox = "firefox" // places.sqlite
)

const sqliteMagic = "SQLite format 3\x00"

// IsChromeHistory reports whether head is a SQLite database header. The
// header cannot tell History from any other SQLite file: the walk matches
// these by name, and Detect looks at the tables.
func IsChromeHistory(head []byte) bool { return isSQLite(head) }

// IsFirefoxPlaces is IsChromeHistory for places.sqlite.
func IsFirefoxPlaces(head []byte) bool { return isSQLite(head) }

func isSQLite(head []byte) bool {
	return len(head) >= len(sqliteMagic) && string(head[:len(sqliteMagic)]) == sqliteMagic
}

// Detect opens the file at path read-only and immutable (nothing is
// written beside it) and says whether it is a Chrome History or a Firefox
// places database.
func Detect(path string) (kind string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	head := make([]byte, len(sqliteMagic))
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || !isSQLite(head) {
		return "", false
	}
	db, err := sql.Open("sqlite3", immutableDSN(path))
	if err != nil {
		return "", false
	}
	defer db.Close()
	k, err := kindOf(context.Background(), db)
	return k, err == nil && k != ""
}

// immutableDSN is the URI that opens path without any write, lock or side
// file. Path characters that mean something in a URI are escaped.
func immutableDSN(path string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	if !strings.HasPrefix(u.Path, "/") {
		// Relative paths: a URI path without a leading slash is opaque;
		// keep it relative the way SQLite reads file:rel/path.
		return "file:" + strings.ReplaceAll(url.PathEscape(u.Path), "%2F", "/") + "?immutable=1&mode=ro"
	}
	return u.String() + "?immutable=1&mode=ro"
}

func kindOf(ctx context.Context, db *sql.DB) (string, error) {
	tables, err := tableNames(ctx, db)
	if err != nil {
		return "", err
	}
	switch {
	case tables["urls"] && tables["visits"] && tables["meta"]:
		return KindChrome, nil
	case tables["moz_places"] && tables["moz_historyvisits"]:
		return KindFirefox, nil
	}
	return "", nil
}

func tableNames(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	return nameSet(ctx, db, `SELECT name FROM sqlite_master WHERE type='table'`)
}

// columns lists a table's columns (lower case); empty if it does not exist.
func columns(ctx context.Context, db *sql.DB, table string) (map[string]bool, error) {
	return nameSet(ctx, db, `SELECT name FROM pragma_table_info(?)`, table)
}

// nameSet runs a query of one name column and returns the names in lower
// case.
func nameSet(ctx context.Context, db *sql.DB, query string, args ...any) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out[strings.ToLower(n)] = true
	}
	return out, rows.Err()
}

// Parse reads a History or places.sqlite database from r. name is the
// evidence path, used in messages and to tell Edge from Chrome.
func Parse(ctx context.Context, name string, r io.ReaderAt, size int64, sink event.Sink) (Stats, error) {
	return ParseWithWAL(ctx, name, r, size, nil, 0, sink)
}

// ParseWithWAL is Parse with the database's -wal file, whose committed
// transactions are part of the database: a browser that was running when
// the evidence was taken has its latest visits only there. wal may be nil.
func ParseWithWAL(ctx context.Context, name string, r io.ReaderAt, size int64, wal io.ReaderAt, walSize int64, sink event.Sink) (st Stats, err error) {
	p := &parser{name: name}
	defer func() {
		if rec := recover(); rec != nil {
			st.Errors++
			err = fmt.Errorf("%s: parser panic: %v", p.where(), rec)
		}
	}()
	dir, err := os.MkdirTemp("", "foothold-browser-")
	if err != nil {
		return st, fmt.Errorf("%s: temporary copy: %w", p.where(), err)
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "db.sqlite")
	if err := copyTo(ctx, dbPath, r, size); err != nil {
		return st, fmt.Errorf("%s: copy: %w", p.where(), err)
	}
	if wal != nil && walSize > 0 {
		if err := copyTo(ctx, dbPath+"-wal", wal, walSize); err != nil {
			return st, fmt.Errorf("%s: copy of -wal: %w", p.where(), err)
		}
	}
	head := make([]byte, len(sqliteMagic))
	if n, _ := r.ReadAt(head, 0); n < len(head) || !isSQLite(head) {
		return st, fmt.Errorf("%s: not a SQLite database (header %q)", p.where(), head[:n])
	}
	// The copy is ours, so SQLite may write beside it (WAL replay, hot
	// journal). query_only keeps even our copy unchanged by us.
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?_query_only=1")
	if err != nil {
		return st, fmt.Errorf("%s: open: %w", p.where(), err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	kind, err := kindOf(ctx, db)
	if err != nil {
		return st, fmt.Errorf("%s: read schema: %w", p.where(), err)
	}
	p.db, p.sink = db, sink
	switch kind {
	case KindChrome:
		p.browser = chromeName(name)
		err = p.chrome(ctx)
	case KindFirefox:
		p.browser = "firefox"
		err = p.firefox(ctx)
	default:
		return st, fmt.Errorf("%s: SQLite database with neither Chrome (urls, visits, meta) nor Firefox (moz_places, moz_historyvisits) tables", p.where())
	}
	st = Stats{Records: p.records, Errors: p.errs.Count()}
	if err != nil {
		return st, err
	}
	return st, p.errs.Err()
}

// ParseFile reads the database at path, with path-wal when it exists.
// Nothing is written beside path.
func ParseFile(ctx context.Context, path string, sink event.Sink) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("browser %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("browser %s: %w", path, err)
	}
	var wal io.ReaderAt
	var walSize int64
	if w, err := os.Open(path + "-wal"); err == nil {
		defer w.Close()
		if wi, err := w.Stat(); err == nil {
			wal, walSize = w, wi.Size()
		}
	}
	return ParseWithWAL(ctx, path, f, fi.Size(), wal, walSize, sink)
}

// chromeName tells Edge from Chrome (and other Chromium browsers) by the
// profile path: ...\Microsoft\Edge\User Data\Default\History.
func chromeName(name string) string {
	n := strings.ToLower(strings.ReplaceAll(name, `\`, "/"))
	switch {
	case strings.Contains(n, "/microsoft/edge"):
		return "edge"
	case strings.Contains(n, "/bravesoftware/"):
		return "brave"
	case strings.Contains(n, "/opera software/"):
		return "opera"
	case strings.Contains(n, "/vivaldi/"):
		return "vivaldi"
	}
	return "chrome"
}

func copyTo(ctx context.Context, path string, r io.ReaderAt, size int64) error {
	if size < 0 || size > MaxDBSize {
		return fmt.Errorf("size %d outside 0..%d", size, int64(MaxDBSize))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	var off int64
	for off < size {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		n := int64(len(buf))
		if size-off < n {
			n = size - off
		}
		m, rerr := r.ReadAt(buf[:n], off)
		if m > 0 {
			if _, err := f.Write(buf[:m]); err != nil {
				f.Close()
				return err
			}
			off += int64(m)
		}
		if int64(m) < n {
			if rerr == nil || errors.Is(rerr, io.EOF) {
				rerr = io.ErrUnexpectedEOF
			}
			f.Close()
			return fmt.Errorf("read at %d: %w", off, rerr)
		}
	}
	return f.Close()
}

type parser struct {
	name    string
	browser string
	db      *sql.DB
	sink    event.Sink
	records int64
	errs    event.Errors
}

func (p *parser) where() string {
	if p.name == "" {
		return "browser"
	}
	return "browser " + p.name
}

func (p *parser) emit(e *event.Event) error {
	if err := p.sink.Emit(e); err != nil {
		return err
	}
	p.records++
	return nil
}

// ticksTo1970 is 1970-01-01 in FILETIME ticks.
const ticksTo1970 = 116444736000000000

// chromeTime converts Chrome's base::Time (µs since 1601) to FILETIME.
// Old History schemas (downloads with full_path and url, before Chrome
// ~26) stored download times as time_t seconds; a value below 10^12 can
// only be that (as µs since 1601 it would fall in January 1601).
func chromeTime(v int64) event.FileTime {
	switch {
	case v <= 0:
		return 0
	case v < 1e12:
		return event.FileTime(uint64(v)*10_000_000 + ticksTo1970)
	case v > (1<<63-1)/10:
		return 0
	}
	return event.FileTime(v * 10)
}

// prTime converts Firefox PRTime (µs since 1970) to FILETIME.
func prTime(v int64) event.FileTime {
	if v <= 0 || v > ((1<<63-1)-ticksTo1970)/10 {
		return 0
	}
	return event.FileTime(v*10 + ticksTo1970)
}
