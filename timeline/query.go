package timeline

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Filter selects events. Empty fields select everything.
type Filter struct {
	Hosts     []string // host names, case-insensitive
	Artifacts []string
	Types     []string
	After     event.FileTime // inclusive
	Before    event.FileTime // exclusive
	Query     string         // search over message and path (see searchSQL)
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

// FTSMatch is the full-text query for a word or phrase: its tokens,
// ANDed. It finds candidates only; what matches exactly is searchSQL's
// substring check (or the caller's).
func FTSMatch(text string) string { return ftsTokens(text, false) }

func (f Filter) where() (string, []any, error) {
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
		var ors []string
		for _, h := range f.Hosts {
			c, a := HostMatch(h)
			ors = append(ors, c)
			args = append(args, a...)
		}
		conds = append(conds, "e.host_id IN (SELECT id FROM hosts WHERE "+strings.Join(ors, " OR ")+")")
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
	search, sargs, err := searchSQL(f.Query)
	if err != nil {
		return "", nil, err
	}
	if search != "" {
		conds = append(conds, search)
		args = append(args, sargs...)
	}
	if f.Evidence != 0 {
		conds = append(conds, "s.evidence_id = ?")
		args = append(args, f.Evidence)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
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
	where, args, err := f.where()
	if err != nil {
		return err
	}
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
	where, args, err := f.where()
	if err != nil {
		return 0, err
	}
	var n int64
	q := `SELECT COUNT(*) FROM events e JOIN sources s ON s.id = e.source_id` + where
	err = c.DB.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}
