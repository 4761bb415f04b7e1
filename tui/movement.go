package tui

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline/movement"
)

// StoredTrace is the newest trace the case holds (traces table).
type StoredTrace struct {
	ID      int64
	From    string // what --from said (an event id when the TUI ran it)
	Created string
	movement.Trace
}

// LoadTrace reads the newest stored trace; nil without error when the case
// has none.
func LoadTrace(ctx context.Context, db *sql.DB) (*StoredTrace, error) {
	if !hasTable(ctx, db, "traces") {
		return nil, nil
	}
	st := &StoredTrace{}
	var js string
	err := db.QueryRowContext(ctx, `SELECT id, seed, created, trace FROM traces ORDER BY id DESC LIMIT 1`).
		Scan(&st.ID, &st.From, &st.Created, &js)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stored trace: %w", err)
	}
	if err := json.Unmarshal([]byte(js), &st.Trace); err != nil {
		return nil, fmt.Errorf("stored trace %d: %w", st.ID, err)
	}
	return st, nil
}

// EdgeRow is one stored movement edge.
type EdgeRow struct {
	ID                          int64
	Source, Destination         string
	Technique, Account, Auth    string
	First, Last                 event.FileTime
	Count                       int
	Confidence                  string
	Flags                       []string
	Attack                      bool // on the stored trace, or flagged attack
	SupportingEvents, HostsSeen int
}

// LoadEdges reads the stored edges, marking those on the attack path:
// the edges the newest trace walks (same source, destination, technique
// and account as one of its hops) and edges flagged "attack".
func LoadEdges(ctx context.Context, db *sql.DB, tr *StoredTrace) ([]EdgeRow, error) {
	if !hasTable(ctx, db, "edges") {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT e.id, e.source, e.destination, e.technique, e.account, e.authentication,
	e.first, e.last, e.count, e.confidence, e.flags,
	(SELECT COUNT(DISTINCT event_id) FROM edge_events x WHERE x.edge_id = e.id),
	(SELECT COUNT(DISTINCT host) FROM edge_events x WHERE x.edge_id = e.id)
FROM edges e ORDER BY e.first, e.id`)
	if err != nil {
		return nil, fmt.Errorf("edges: %w", err)
	}
	defer rows.Close()
	onTrace := map[string]bool{}
	if tr != nil {
		for _, h := range tr.Hops {
			onTrace[hopKey(h.Source, h.Destination, h.Technique, h.Account)] = true
		}
	}
	var out []EdgeRow
	for rows.Next() {
		var e EdgeRow
		var first, last int64
		var flags string
		if err := rows.Scan(&e.ID, &e.Source, &e.Destination, &e.Technique, &e.Account, &e.Auth, &first, &last,
			&e.Count, &e.Confidence, &flags, &e.SupportingEvents, &e.HostsSeen); err != nil {
			return nil, fmt.Errorf("edges: %w", err)
		}
		e.First, e.Last = event.FileTime(first), event.FileTime(last)
		json.Unmarshal([]byte(flags), &e.Flags) // "null" and "[]" both leave it empty
		e.Attack = onTrace[hopKey(e.Source, e.Destination, e.Technique, e.Account)] || hasString(e.Flags, "attack")
		out = append(out, e)
	}
	return out, rows.Err()
}

func hopKey(src, dst, tech, acct string) string {
	return strings.ToLower(src + "\x00" + dst + "\x00" + tech + "\x00" + acct)
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// PathEventIDs is the set of events supporting attack-path edges: every
// supporting event of an edge on the newest trace or flagged attack, and
// every event the trace's hops cite. The timeline marks them with "!".
func PathEventIDs(ctx context.Context, db *sql.DB) (map[int64]bool, error) {
	ids := map[int64]bool{}
	tr, err := LoadTrace(ctx, db)
	if err != nil {
		return ids, err
	}
	if tr != nil {
		for _, h := range tr.Hops {
			for _, r := range h.Evidence {
				ids[r.EventID] = true
			}
		}
	}
	edges, err := LoadEdges(ctx, db, tr)
	if err != nil {
		return ids, err
	}
	var attack []int64
	for _, e := range edges {
		if e.Attack {
			attack = append(attack, e.ID)
		}
	}
	if len(attack) == 0 {
		return ids, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT event_id FROM edge_events WHERE edge_id IN (`+idList(attack)+`)`)
	if err != nil {
		return ids, fmt.Errorf("attack-path events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return ids, fmt.Errorf("attack-path events: %w", err)
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// caseInfoMsg carries what is read once per case open (and after a trace
// runs): host clocks for the time column and the attack-path events.
type caseInfoMsg struct {
	clocks clocks
	path   map[int64]bool
	err    error
}

func (m *Model) loadCaseInfo() tea.Cmd {
	c, ctx := m.c, m.ctx
	return func() tea.Msg {
		cl, err := loadClocks(ctx, c.DB)
		if err != nil {
			return caseInfoMsg{err: err}
		}
		ids, err := PathEventIDs(ctx, c.DB)
		return caseInfoMsg{clocks: cl, path: ids, err: err}
	}
}

// listView is a scrollable page of text with selectable entries (edges,
// hops); enter opens the selected entry's query as a timeline view.
type listView struct {
	title   string
	lines   []listLine
	entries []listEntry
	sel     int
	top     int
}

type listLine struct {
	text   string
	entry  int // -1: not selectable
	attack bool
}

type listEntry struct {
	query       string
	first, last int // line span
}

func (l *listView) text(format string, args ...any) {
	l.lines = append(l.lines, listLine{text: fmt.Sprintf(format, args...), entry: -1})
}

func (l *listView) entry(query string, attack bool, lines ...string) {
	n := len(l.entries)
	l.entries = append(l.entries, listEntry{query: query, first: len(l.lines), last: len(l.lines) + len(lines) - 1})
	for _, s := range lines {
		l.lines = append(l.lines, listLine{text: s, entry: n, attack: attack})
	}
}

// move selects the entry delta away and scrolls it into a body of h lines.
func (l *listView) move(delta, h int) {
	if len(l.entries) == 0 {
		l.top = max(min(l.top+delta, len(l.lines)-h), 0)
		return
	}
	l.sel = max(min(l.sel+delta, len(l.entries)-1), 0)
	l.scroll(h)
}

func (l *listView) scroll(h int) {
	if len(l.entries) == 0 {
		return
	}
	e := l.entries[l.sel]
	if e.last >= l.top+h {
		l.top = e.last - h + 1
	}
	if e.first < l.top {
		l.top = e.first
	}
	if l.sel == 0 {
		l.top = 0 // the header above the first entry stays in view
		if e.last >= h {
			l.top = e.last - h + 1
		}
	}
}

func (l *listView) selected() *listEntry {
	if l.sel < 0 || l.sel >= len(l.entries) {
		return nil
	}
	return &l.entries[l.sel]
}

type listMsg struct {
	mode mode
	list listView
	err  error
	// noTrace: the case has no stored trace (t then traces from the
	// selected event).
	noTrace bool
}

// loadHosts builds the hosts and movement view: each host's identity,
// clock and event span, then the edges as a tree by source host.
func (m *Model) loadHosts() tea.Cmd {
	c, ctx, wide := m.c, m.ctx, m.width >= 110
	m.list = listView{title: "hosts and movement"}
	m.list.text("loading hosts…")
	return m.startLoad(func() tea.Msg {
		l := listView{title: "hosts and movement"}
		if err := hostLines(ctx, c.DB, &l, wide); err != nil {
			return listMsg{mode: modeHosts, err: err}
		}
		tr, err := LoadTrace(ctx, c.DB)
		if err != nil {
			return listMsg{mode: modeHosts, err: err}
		}
		edges, err := LoadEdges(ctx, c.DB, tr)
		if err != nil {
			return listMsg{mode: modeHosts, err: err}
		}
		edgeTree(&l, edges, wide)
		return listMsg{mode: modeHosts, list: l}
	})
}

func hostLines(ctx context.Context, db *sql.DB, l *listView, wide bool) error {
	cl, err := loadClocks(ctx, db)
	if err != nil {
		return err
	}
	addrs := map[string][]string{}
	if hasTable(ctx, db, "host_addresses") {
		rows, err := db.QueryContext(ctx, `SELECT host, ip FROM host_addresses GROUP BY host, ip ORDER BY host, MIN(first)`)
		if err != nil {
			return fmt.Errorf("host addresses: %w", err)
		}
		for rows.Next() {
			var h, ip string
			if rows.Scan(&h, &ip) == nil {
				addrs[strings.ToLower(h)] = append(addrs[strings.ToLower(h)], ip)
			}
		}
		rows.Close()
	}
	rows, err := db.QueryContext(ctx, `SELECT h.id, h.name, h.domain, h.tz, h.details,
	(SELECT MIN(ts) FROM events WHERE host_id = h.id), (SELECT MAX(ts) FROM events WHERE host_id = h.id)
FROM hosts h ORDER BY h.name, h.id`)
	if err != nil {
		return fmt.Errorf("hosts: %w", err)
	}
	defer rows.Close()
	l.text("Hosts (clock: host minus %s, estimated from paired events)", dashIfEmpty(cl.reference))
	for rows.Next() {
		var id int64
		var name, domain, tz, details string
		var first, last sql.NullInt64
		if err := rows.Scan(&id, &name, &domain, &tz, &details, &first, &last); err != nil {
			return fmt.Errorf("hosts: %w", err)
		}
		ips := addrs[strings.ToLower(name)]
		if len(ips) == 0 {
			var d struct{ Interfaces []struct{ IP string } }
			json.Unmarshal([]byte(details), &d)
			for _, itf := range d.Interfaces {
				if itf.IP != "" {
					ips = append(ips, itf.IP)
				}
			}
		}
		clock := "clock -"
		if h := cl.get(name); h != nil && h.hasOffset {
			clock = fmt.Sprintf("clock %+.3f s", h.offset)
		}
		zone := dashIfEmpty(tz)
		if h := cl.get(name); h != nil && h.loc != nil && !h.dst {
			zone += " (std bias)"
		}
		if wide {
			l.text("  %-14s %-32s tz %-34s %s", name, dashIfEmpty(strings.Join(ips, ",")), zone, clock)
		} else {
			l.text("  %s %s tz %s %s", fit(name, 12), fit(dashIfEmpty(strings.Join(ips, ",")), 16), fit(zone, 21), clock)
		}
		span := "no events"
		if first.Valid {
			span = "events " + shortTime(first.Int64, wide) + " → " + shortTime(last.Int64, wide)
		}
		if domain != "" {
			span = domain + "  " + span
		}
		l.text("  %-12s %s", "", span)
	}
	return rows.Err()
}

// edgeTree lays the edges out as a tree: each source host (in order of its
// first outgoing edge) with its destinations below. "!" marks the attack
// path; enter on an edge lists its supporting events on every host.
func edgeTree(l *listView, edges []EdgeRow, wide bool) {
	l.text("")
	if len(edges) == 0 {
		l.text("Movement")
		l.text("  movement analysis not run (no edges in this case; T on an event traces from it)")
		return
	}
	l.text("Movement (%s · ! attack path · enter: supporting events on both hosts)", event.Count(int64(len(edges)), "edge"))
	var sources []string
	bySource := map[string][]EdgeRow{}
	for _, e := range edges {
		if _, ok := bySource[e.Source]; !ok {
			sources = append(sources, e.Source)
		}
		bySource[e.Source] = append(bySource[e.Source], e)
	}
	for _, s := range sources {
		l.text("  %s", s)
		es := bySource[s]
		for i, e := range es {
			branch := "|->"
			if i == len(es)-1 {
				branch = "`->"
			}
			mark := " "
			if e.Attack {
				mark = "!"
			}
			first := shortTime(int64(e.First), false)
			line := fmt.Sprintf("%s %s %-13s %-14s %-18s %s ×%d", mark, branch, e.Destination, e.Technique, e.Account, first, e.Count)
			if wide {
				line += fmt.Sprintf("  %s %s %s · %s", dashIfEmpty(e.Auth), e.Confidence, strings.Join(e.Flags, ","), event.Count(int64(e.SupportingEvents), "event"))
			}
			l.entry("edge:"+strconv.FormatInt(e.ID, 10), e.Attack, line)
		}
	}
}

// loadTraceView shows the newest stored trace hop by hop.
func (m *Model) loadTraceView() tea.Cmd {
	c, ctx, wide := m.c, m.ctx, m.width >= 110
	m.list = listView{title: "trace"}
	m.list.text("loading trace…")
	return m.startLoad(func() tea.Msg {
		tr, err := LoadTrace(ctx, c.DB)
		if err != nil {
			return listMsg{mode: modeTrace, err: err}
		}
		if tr == nil {
			return listMsg{mode: modeTrace, noTrace: true}
		}
		cl, err := loadClocks(ctx, c.DB)
		if err != nil {
			return listMsg{mode: modeTrace, err: err}
		}
		return listMsg{mode: modeTrace, list: traceList(tr, cl, wide)}
	})
}

func traceList(tr *StoredTrace, cl clocks, wide bool) listView {
	l := listView{title: fmt.Sprintf("trace #%d from %s", tr.ID, tr.From)}
	l.text("Trace #%d (--from %s, stored %s) · enter: a hop's evidence · T: trace from the selected event", tr.ID, tr.From, tr.Created)
	s := tr.Seed
	l.text("Seed")
	l.entry("id:"+strconv.FormatInt(s.EventID, 10), true,
		fmt.Sprintf("  %s  %s  %s", s.Host, s.Time, s.Path),
		fmt.Sprintf("      corrected %s · %s", s.Corrected, s.Why))
	l.text("Compromised, in order: %s", strings.Join(tr.Order, " → "))
	ref := cl.reference
	if ref == "" {
		ref = "the reference"
	}
	l.text("Hops (raw on the destination's clock; corrected to %s's)", ref)
	if len(tr.Hops) == 0 {
		l.text("  no hop leaves the seed's host after it")
	}
	for i, h := range tr.Hops {
		ids := map[int64]bool{}
		var list []int64
		for _, r := range h.Evidence {
			if !ids[r.EventID] {
				ids[r.EventID] = true
				list = append(list, r.EventID)
			}
		}
		sort.Slice(list, func(a, b int) bool { return list[a] < list[b] })
		q := "ids:" + idList(list)
		if len(list) == 0 {
			q = "id:0"
		}
		mark := " "
		if h.NewCompromise {
			mark = "+"
		}
		line2 := fmt.Sprintf("       raw %s  corrected %s", h.Time, h.Corrected)
		if wide {
			line2 += fmt.Sprintf("  %s · %s", dashIfEmpty(h.Authentication), event.Count(int64(len(list)), "event"))
		}
		l.entry(q, true,
			fmt.Sprintf("%s%3d %s → %s  %s  %s  %s", mark, i+1, h.Source, h.Destination, h.Technique, h.Account, h.Confidence),
			line2)
	}
	if len(tr.Context) > 0 {
		l.text("")
		l.text("Not on the path (%s): routine, or from hosts not compromised then", event.Count(int64(len(tr.Context)), "edge"))
		for _, e := range tr.Context {
			l.text("    %s  %s → %s  %s  %s ×%d", e.First, e.Source, e.Destination, e.Technique, e.Account, e.Count)
		}
	}
	l.text("")
	l.text("+ the hop that compromised its destination")
	return l
}

// traceDoneMsg: a trace ran from an event and was stored.
type traceDoneMsg struct {
	list  listView
	path  map[int64]bool
	clock clocks
	err   error
	seed  int64
}

// runTrace runs the movement analysis and its trace from an event in the
// background, stores both in the case (as `foothold trace --from ID`
// does), then shows the trace and re-marks the attack path.
func (m *Model) runTrace(it *Item) tea.Cmd {
	if it == nil {
		m.status = "trace: no event selected"
		return nil
	}
	if m.tracing {
		m.status = "trace: already running"
		return nil
	}
	seed := movement.Seed{Host: it.Host, Time: it.Time, Path: it.Path, EventID: it.ID,
		Why: fmt.Sprintf("event %d: %s", it.ID, it.Message)}
	c, ctx, wide := m.c, m.ctx, m.width >= 110
	m.mode = modeTrace
	m.list = listView{title: "trace"}
	m.list.text("tracing from event %d on %s…", it.ID, it.Host)
	m.tracing = true
	m.loadStart = time.Now()
	cmds := []tea.Cmd{func() tea.Msg {
		res, err := movement.Analyze(ctx, c)
		if err != nil {
			return traceDoneMsg{err: fmt.Errorf("trace from event %d: %w", seed.EventID, err)}
		}
		if err := movement.Save(ctx, c, res); err != nil {
			return traceDoneMsg{err: fmt.Errorf("trace from event %d: %w", seed.EventID, err)}
		}
		tr := movement.TraceFrom(res, seed)
		if err := movement.SaveTrace(ctx, c, strconv.FormatInt(seed.EventID, 10), tr); err != nil {
			return traceDoneMsg{err: err}
		}
		st, err := LoadTrace(ctx, c.DB)
		if err != nil || st == nil {
			return traceDoneMsg{err: fmt.Errorf("trace from event %d: reading it back: %v", seed.EventID, err)}
		}
		cl, err := loadClocks(ctx, c.DB)
		if err != nil {
			return traceDoneMsg{err: err}
		}
		ids, err := PathEventIDs(ctx, c.DB)
		return traceDoneMsg{list: traceList(st, cl, wide), path: ids, clock: cl, err: err, seed: seed.EventID}
	}}
	if !m.spinning {
		m.spinning = true
		cmds = append(cmds, m.spin.Tick)
	}
	return tea.Batch(cmds...)
}

// shortTime is a UTC time to the second where space is short (the detail
// pane and the timeline have the 100 ns value).
func shortTime(ticks int64, full bool) string {
	s := ftString(ticks)
	if full || len(s) < 19 {
		return s
	}
	return strings.Replace(s[:19], "T", " ", 1) + "Z"
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
