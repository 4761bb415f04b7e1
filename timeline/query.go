package timeline

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"

	"github.com/foothold/foothold/parsers/event"
)

// Filter selects events. Empty fields select everything.
type Filter struct {
	Hosts     []string // host names, case-insensitive
	Artifacts []string
	Types     []string
	After     event.FileTime // inclusive
	Before    event.FileTime // exclusive
	Query     string         // full-text over message and path
	Evidence  int64
	Limit     int
	// ByRecord orders by source, record number and id instead of time, which
	// keeps all events of one MFT entry together (bodyfile output).
	ByRecord bool
}

// Row is one event with its provenance, as queries return it.
type Row struct {
	ID           int64
	Time         event.FileTime
	TimeDesc     string
	MACB         string
	Host         string
	Artifact     string
	Type         string
	User         string
	Path         string
	Message      string
	Fields       string // JSON object
	Record       int64
	Offset       int64
	SourceID     int64
	EvidenceID   int64
	Evidence     string
	VolumeOffset int64
	ArtifactPath string
	Parser       string
}

// FTSQuery turns what a user types into an FTS5 query and the exact
// substrings the matches must also contain. The index keeps no positions
// (detail=none, a third of the indexing cost), so plain words become the
// AND of their tokens and each word is then checked as a substring of the
// message or path: "tool.exe" finds exactly tool.exe, "C$" finds C$. A
// query that uses FTS5 syntax itself (quotes, AND/OR/NOT, *, parentheses)
// passes through unchanged, without substring checks.
func FTSQuery(q string) (match string, substrings []string) {
	q = strings.TrimSpace(q)
	if q == "" {
		return "", nil
	}
	if strings.ContainsAny(q, `"*()`) {
		return q, nil
	}
	words := strings.Fields(q)
	for _, w := range words {
		switch w {
		case "AND", "OR", "NOT":
			return q, nil
		}
	}
	var tokens []string
	for _, w := range words {
		for _, tok := range strings.FieldsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			tokens = append(tokens, `"`+tok+`"`)
		}
	}
	return strings.Join(tokens, " AND "), words
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	in := func(col string, vals []string, lower bool) {
		if len(vals) == 0 {
			return
		}
		ph := strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")
		if lower {
			conds = append(conds, fmt.Sprintf("lower(%s) IN (%s)", col, ph))
		} else {
			conds = append(conds, fmt.Sprintf("%s IN (%s)", col, ph))
		}
		for _, v := range vals {
			if lower {
				v = strings.ToLower(v)
			}
			args = append(args, v)
		}
	}
	if len(f.Hosts) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(f.Hosts)), ",")
		conds = append(conds, "e.host_id IN (SELECT id FROM hosts WHERE lower(name) IN ("+ph+"))")
		for _, h := range f.Hosts {
			args = append(args, strings.ToLower(h))
		}
	}
	in("e.artifact", f.Artifacts, false)
	in("e.type", f.Types, false)
	if f.After != 0 {
		conds = append(conds, "e.ts >= ?")
		args = append(args, f.After.Ticks())
	}
	if f.Before != 0 {
		conds = append(conds, "e.ts < ?")
		args = append(args, f.Before.Ticks())
	}
	match, subs := FTSQuery(f.Query)
	if match != "" {
		conds = append(conds, "e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
		args = append(args, match)
	}
	for _, sub := range subs {
		// lower() folds ASCII only, like Windows paths in practice.
		conds = append(conds, "(instr(lower(e.message), lower(?)) > 0 OR instr(lower(e.path), lower(?)) > 0)")
		args = append(args, sub, sub)
	}
	if f.Evidence != 0 {
		conds = append(conds, "s.evidence_id = ?")
		args = append(args, f.Evidence)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const rowSelect = `SELECT e.id, e.ts, e.ts_desc, e.macb, COALESCE(h.name, ''), e.artifact, e.type, e.user, e.path,
	e.message, ` + FieldsSQL + `, e.record, e.offset, e.source_id, ev.id, ev.path, COALESCE(v.offset, -1), s.path, s.parser
FROM events e
JOIN sources s ON s.id = e.source_id
JOIN evidence ev ON ev.id = s.evidence_id
LEFT JOIN hosts h ON h.id = e.host_id
LEFT JOIN volumes v ON v.id = s.volume_id`

// Events streams matching events in time order (ties by id, so the order
// is stable across runs) to fn. Rows are reused between calls.
func (c *Case) Events(ctx context.Context, f Filter, fn func(*Row) error) error {
	where, args := f.where()
	q := rowSelect + where + " ORDER BY e.ts, e.id"
	if f.ByRecord {
		q = rowSelect + where + " ORDER BY e.source_id, e.record, e.id"
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := c.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	var r Row
	for rows.Next() {
		if err := scanRow(rows, &r); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanRow reads one row of rowSelect.
func scanRow(rows *sql.Rows, r *Row) error {
	var ts int64
	err := rows.Scan(&r.ID, &ts, &r.TimeDesc, &r.MACB, &r.Host, &r.Artifact, &r.Type, &r.User, &r.Path,
		&r.Message, &r.Fields, &r.Record, &r.Offset, &r.SourceID, &r.EvidenceID, &r.Evidence, &r.VolumeOffset,
		&r.ArtifactPath, &r.Parser)
	r.Time = event.FileTime(ts)
	return err
}

// Count returns how many events match.
func (c *Case) Count(ctx context.Context, f Filter) (int64, error) {
	where, args := f.where()
	var n int64
	q := `SELECT COUNT(*) FROM events e JOIN sources s ON s.id = e.source_id` + where
	err := c.DB.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}
