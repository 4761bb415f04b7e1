package tui

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// loadHosts fills the hosts overlay: the hosts from the case summary with
// their first and last event, and the movement edges when analysis has
// stored them (read-only here).
func (m *Model) loadHosts() tea.Cmd {
	c, ctx := m.c, m.ctx
	m.overlay.SetContent("loading hosts…")
	return m.startLoad(func() tea.Msg {
		var b strings.Builder
		s, err := c.Summarize(ctx)
		if err != nil {
			return overlayMsg{"hosts: " + err.Error()}
		}
		b.WriteString("Hosts\n")
		for _, h := range s.Hosts {
			var first, last sql.NullInt64
			c.DB.QueryRowContext(ctx, `SELECT MIN(ts), MAX(ts) FROM events WHERE host_id = ?`, h.ID).Scan(&first, &last)
			fmt.Fprintf(&b, "  %-16s %-14s %-10s tz %-8s events %-8d", h.Name, h.Domain, h.OS, dashIfEmpty(h.TZ), h.Events)
			if first.Valid {
				fmt.Fprintf(&b, " first %s last %s", ftString(first.Int64), ftString(last.Int64))
			}
			b.WriteString("\n")
		}
		if hasTable(ctx, c.DB, "clock_offsets") {
			b.WriteString("\nClock offsets (host minus reference)\n")
			rows, err := c.DB.QueryContext(ctx, `SELECT host, seconds, pairs, reference FROM clock_offsets ORDER BY host`)
			if err == nil {
				for rows.Next() {
					var h, ref string
					var sec float64
					var pairs int64
					if rows.Scan(&h, &sec, &pairs, &ref) == nil {
						fmt.Fprintf(&b, "  %-16s %+.3f s (%d pairs, reference %s)\n", h, sec, pairs, ref)
					}
				}
				rows.Close()
			}
		}
		b.WriteString("\nMovement\n")
		b.WriteString(edgesText(ctx, c.DB))
		return overlayMsg{b.String()}
	})
}

// edgesText lists the stored movement edges, or says analysis has not run.
func edgesText(ctx context.Context, db *sql.DB) string {
	const none = "  movement analysis not run (no edges in this case)\n"
	if !hasTable(ctx, db, "edges") {
		return none
	}
	rows, err := db.QueryContext(ctx, `SELECT id, source, destination, technique, account, first, count, confidence
		FROM edges ORDER BY first, id LIMIT 500`)
	if err != nil {
		return "  edges: " + err.Error() + "\n"
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, first, count int64
		var src, dst, tech, acct, conf string
		if err := rows.Scan(&id, &src, &dst, &tech, &acct, &first, &count, &conf); err != nil {
			return "  edges: " + err.Error() + "\n"
		}
		fmt.Fprintf(&b, "  #%-4d %s ──%s──▶ %s  %s  first %s  ×%d  %s\n", id, src, tech, dst, acct, ftString(first), count, conf)
	}
	if b.Len() == 0 {
		return none
	}
	return b.String()
}

// loadTrace shows the stored trace path when analysis has produced one.
func (m *Model) loadTrace() tea.Cmd {
	c, ctx := m.c, m.ctx
	return m.startLoad(func() tea.Msg {
		for _, t := range []string{"paths", "path_hops", "trace"} {
			if hasTable(ctx, c.DB, t) {
				return overlayMsg{"Trace (" + t + ")\n" + dumpTable(ctx, c.DB, t, 200)}
			}
		}
		return overlayMsg{"Trace\n  movement analysis not run: no stored trace in this case\n"}
	})
}

// dumpTable renders up to limit rows of a table whose columns this package
// does not know (analysis owns them).
func dumpTable(ctx context.Context, db *sql.DB, table string, limit int) string {
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT * FROM %q LIMIT %d`, table, limit))
	if err != nil {
		return "  " + err.Error() + "\n"
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	b.WriteString("  " + strings.Join(cols, " | ") + "\n")
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if rows.Scan(ptrs...) != nil {
			break
		}
		var parts []string
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			parts = append(parts, fmt.Sprint(v))
		}
		b.WriteString("  " + strings.Join(parts, " | ") + "\n")
		n++
	}
	if n == 0 {
		b.WriteString("  (empty)\n")
	}
	return b.String()
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
