package tui

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// Item is one timeline row with the investigator's marks.
type Item struct {
	timeline.Row
	Bookmarked bool
}

// Key is a position in the timeline order (ts, id).
type Key struct {
	TS event.FileTime
	ID int64
}

func (it Item) key() Key { return Key{it.Time, it.ID} }

const itemSelect = `SELECT e.id, e.ts, e.ts_desc, e.macb, COALESCE(h.name, ''), e.artifact, e.type, e.user, e.path,
	e.message, ` + timeline.FieldsSQL + `, e.record, e.offset, e.source_id, ev.id, ev.path, COALESCE(v.offset, -1), s.path, s.parser,
	EXISTS (SELECT 1 FROM tui_bookmarks b WHERE b.event_id = e.id)
FROM events e
JOIN sources s ON s.id = e.source_id
JOIN evidence ev ON ev.id = s.evidence_id
LEFT JOIN hosts h ON h.id = e.host_id
LEFT JOIN volumes v ON v.id = s.volume_id`

// Direction of a page relative to its anchor.
type Direction int

const (
	// Forward reads rows after the anchor (or from the start without one).
	Forward Direction = iota
	// Backward reads rows before the anchor (or the end without one).
	Backward
	// From reads rows at or after the anchor's time.
	From
)

// Plan is a view's query: its condition, and whether to drive it from the
// condition (few matches, sorted afterwards) rather than the time index.
type Plan struct {
	Where     string
	Args      []any
	Selective bool
}

// selectiveRows is where sorting the matches becomes dearer than walking
// the time index (measured on 1M events: see the benchmarks).
const selectiveRows = 20000

// Page reads up to n rows of the query in (ts, id) order next to anchor,
// by keyset: the cost depends on n, not on how deep in the case it is.
// Rows come back in ascending order whichever the direction.
func Page(ctx context.Context, db *sql.DB, p Plan, anchor *Key, dir Direction, n int) ([]Item, error) {
	q := itemSelect + " WHERE (" + p.Where + ")"
	a := append([]any{}, p.Args...)
	// Unary + keeps SQLite from ordering by the time index.
	plus := ""
	if p.Selective {
		plus = "+"
	}
	order := " ORDER BY " + plus + "e.ts, " + plus + "e.id"
	switch {
	case dir == Forward && anchor != nil:
		q += " AND (e.ts > ? OR (e.ts = ? AND e.id > ?))"
		a = append(a, anchor.TS.Ticks(), anchor.TS.Ticks(), anchor.ID)
	case dir == Backward && anchor != nil:
		q += " AND (e.ts < ? OR (e.ts = ? AND e.id < ?))"
		a = append(a, anchor.TS.Ticks(), anchor.TS.Ticks(), anchor.ID)
	case dir == From && anchor != nil:
		q += " AND e.ts >= ?"
		a = append(a, anchor.TS.Ticks())
	}
	if dir == Backward {
		order = " ORDER BY " + plus + "e.ts DESC, " + plus + "e.id DESC"
	}
	q += order + fmt.Sprintf(" LIMIT %d", n)
	rows, err := db.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("timeline page: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		var ts int64
		r := &it.Row
		if err := rows.Scan(&r.ID, &ts, &r.TimeDesc, &r.MACB, &r.Host, &r.Artifact, &r.Type, &r.User, &r.Path,
			&r.Message, &r.Fields, &r.Record, &r.Offset, &r.SourceID, &r.EvidenceID, &r.Evidence, &r.VolumeOffset,
			&r.ArtifactPath, &r.Parser, &it.Bookmarked); err != nil {
			return nil, fmt.Errorf("timeline page: %w", err)
		}
		r.Time = event.FileTime(ts)
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timeline page: %w", err)
	}
	if dir == Backward {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// Marks are the bookmark, tags and notes of one event.
type Marks struct {
	Bookmarked bool
	Tags       []string
	Notes      []string
}

func stamp() string { return time.Now().UTC().Format(time.RFC3339) }

// SetBookmark adds or removes the bookmark of an event.
func SetBookmark(ctx context.Context, db *sql.DB, id int64, on bool) error {
	var err error
	if on {
		_, err = db.ExecContext(ctx, `INSERT OR IGNORE INTO tui_bookmarks(event_id, created) VALUES (?, ?)`, id, stamp())
	} else {
		_, err = db.ExecContext(ctx, `DELETE FROM tui_bookmarks WHERE event_id = ?`, id)
	}
	if err != nil {
		return fmt.Errorf("bookmark event %d: %w", id, err)
	}
	return nil
}

// AddTags tags an event; tags are lower case words, "a, b" adds two.
func AddTags(ctx context.Context, db *sql.DB, id int64, tags string) error {
	for _, t := range strings.FieldsFunc(tags, func(r rune) bool { return r == ',' || r == ' ' }) {
		t = strings.ToLower(strings.TrimPrefix(t, "#"))
		if t == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO tui_tags(event_id, tag, created) VALUES (?, ?, ?)`, id, t, stamp()); err != nil {
			return fmt.Errorf("tag event %d: %w", id, err)
		}
	}
	return nil
}

// AddNote attaches a note to an event.
func AddNote(ctx context.Context, db *sql.DB, id int64, text string) error {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO tui_notes(event_id, text, created) VALUES (?, ?, ?)`, id, text, stamp()); err != nil {
		return fmt.Errorf("note on event %d: %w", id, err)
	}
	return nil
}

// SaveFilter stores a query under a name.
func SaveFilter(ctx context.Context, db *sql.DB, name, query string) error {
	if _, err := db.ExecContext(ctx, `INSERT OR REPLACE INTO tui_filters(name, query, created) VALUES (?, ?, ?)`, name, query, stamp()); err != nil {
		return fmt.Errorf("save filter %q: %w", name, err)
	}
	return nil
}

// LoadFilter returns a saved query.
func LoadFilter(ctx context.Context, db *sql.DB, name string) (string, error) {
	var q string
	if err := db.QueryRowContext(ctx, `SELECT query FROM tui_filters WHERE name = ?`, name).Scan(&q); err != nil {
		return "", fmt.Errorf("saved filter %q: %w", name, err)
	}
	return q, nil
}

// LoadMarks reads the marks of one event.
func LoadMarks(ctx context.Context, db *sql.DB, id int64) (Marks, error) {
	var m Marks
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tui_bookmarks WHERE event_id = ?`, id).Scan(&n); err != nil {
		return m, fmt.Errorf("marks of event %d: %w", id, err)
	}
	m.Bookmarked = n > 0
	list := func(q string) ([]string, error) {
		rows, err := db.QueryContext(ctx, q, id)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, rows.Err()
	}
	var err error
	if m.Tags, err = list(`SELECT tag FROM tui_tags WHERE event_id = ? ORDER BY tag`); err != nil {
		return m, fmt.Errorf("tags of event %d: %w", id, err)
	}
	if m.Notes, err = list(`SELECT created || '  ' || text FROM tui_notes WHERE event_id = ? ORDER BY id`); err != nil {
		return m, fmt.Errorf("notes of event %d: %w", id, err)
	}
	return m, nil
}

// hasTable reports whether the case has a table (analysis tables arrive
// with later migrations).
func hasTable(ctx context.Context, db *sql.DB, name string) bool {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	return err == nil && n > 0
}
