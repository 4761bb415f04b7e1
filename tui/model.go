// Package tui is Foothold's terminal interface: a timeline over the whole
// case paged from SQLite by keyset, a filter language, an event detail
// pane, pivots with browser-like history, and the investigator's
// bookmarks, tags and notes stored in the case.
package tui

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/foothold/foothold/timeline"
)

// Options tune the interface.
type Options struct {
	// Color forces colour on or off; nil follows NO_COLOR.
	Color *bool
	// PivotWindow is the ± span of the same-host pivot (default 5 minutes).
	PivotWindow time.Duration
	// Query is the initial filter.
	Query string
}

type mode int

const (
	modeTimeline mode = iota
	modeFilter
	modeJump
	modeTag
	modeNote
	modeExport
	modeSaveFilter
	modeDetail
	modeHelp
	modeHosts
	modeTrace
)

// viewState is one entry of the browser-like history: a query and where
// the cursor was.
type viewState struct {
	query  string
	parsed Query
	anchor *Key // cursor position to come back to
}

// Model is the bubbletea model of the interface.
type Model struct {
	c    *timeline.Case
	ctx  context.Context
	opts Options

	width, height int
	color         bool
	st            styles

	history []viewState
	hi      int

	// The loaded window of the current view, ascending (ts, id).
	items            []Item
	cur, top         int
	atStart, atEnd   bool
	gen              int // bumps when the window is replaced; stale pages are dropped
	fetching         bool
	loading          bool
	loadStart        time.Time
	spin             spinner.Model
	spinning         bool
	pendingSelectID  int64
	plan             Plan
	input            textinput.Model
	inputErr         string
	mode, returnMode mode
	status           string
	errText          string

	detail     viewport.Model
	detailItem *Item
	marks      Marks
	overlay    viewport.Model

	cols        []column
	colsTouched bool
	selCol      int

	// timeMode is what the time column shows; clocks and path are read
	// once per case open (and after a trace runs), never per row.
	timeMode timeMode
	clocks   clocks
	path     map[int64]bool

	// list is the hosts-and-movement or trace page.
	list    listView
	tracing bool

	// lookPath and getenv choose the clipboard fallback (tests inject them).
	lookPath func(string) (string, error)
	getenv   func(string) string
}

// New builds the model over an open case.
func New(ctx context.Context, c *timeline.Case, opts Options) *Model {
	if opts.PivotWindow == 0 {
		opts.PivotWindow = 5 * time.Minute
	}
	color := os.Getenv("NO_COLOR") == ""
	if opts.Color != nil {
		color = *opts.Color
	}
	m := &Model{c: c, ctx: ctx, opts: opts, width: 80, height: 24, color: color,
		path: map[int64]bool{}, lookPath: exec.LookPath, getenv: os.Getenv}
	m.st = newStyles(color)
	m.spin = spinner.New(spinner.WithSpinner(spinner.Line))
	m.input = textinput.New()
	m.input.Prompt = ""
	// A steady cursor: blinking would wake the program twice a second
	// for nothing.
	ist := m.input.Styles()
	ist.Cursor.Blink = false
	if !color {
		plain := textinput.StyleState{}
		ist.Focused, ist.Blurred = plain, plain
	}
	m.input.SetStyles(ist)
	m.cols = defaultColumns(80)
	m.detail = viewport.New(viewport.WithWidth(80), viewport.WithHeight(20))
	m.detail.SoftWrap = true
	m.overlay = viewport.New(viewport.WithWidth(80), viewport.WithHeight(20))
	q, err := ParseQuery(opts.Query)
	if err != nil {
		m.errText = "filter: " + err.Error()
		opts.Query = ""
	}
	m.history = []viewState{{query: opts.Query, parsed: q}}
	return m
}

// Run runs the interface on the terminal until the user quits.
func Run(ctx context.Context, c *timeline.Case, opts Options) error {
	p := tea.NewProgram(New(ctx, c, opts), tea.WithContext(ctx))
	_, err := p.Run()
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}

// Init loads the first screen, and the host clocks and attack-path events
// the rows are drawn with.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.openView(nil), m.loadCaseInfo())
}

func (m *Model) visible() int {
	n := m.height - 4 // title, header, status, keys
	if n < 1 {
		n = 1
	}
	return n
}

func (m *Model) pageSize() int { return max(2*m.visible(), 64) }

const maxWindow = 2000

// pageMsg delivers a page read in the background.
type pageMsg struct {
	gen     int
	op      pageOp
	items   []Item
	err     error
	n       int
	plan    Plan
	started time.Time
}

type pageOp int

const (
	opReplaceFirst pageOp = iota
	opReplaceLast
	opReplaceAt
	opMoreForward
	opMoreBackward
)

func (m *Model) cur1() *viewState { return &m.history[m.hi] }

// openView (re)loads the current history entry, at anchor if given.
func (m *Model) openView(anchor *Key) tea.Cmd {
	v := m.cur1()
	m.gen++
	m.items, m.cur, m.top = nil, 0, 0
	m.fetching = false
	gen, n := m.gen, m.pageSize()
	q := v.parsed
	c, ctx := m.c, m.ctx
	op := opReplaceFirst
	if anchor != nil {
		op = opReplaceAt
		m.pendingSelectID = anchor.ID
	}
	return m.startLoad(func() tea.Msg {
		res, err := resolve(ctx, c, q)
		if err != nil {
			return pageMsg{gen: gen, op: op, err: err}
		}
		where, args := q.SQL(res)
		plan := Plan{Where: where, Args: args, Selective: res.Selective}
		dir := Forward
		if op == opReplaceAt {
			dir = From
		}
		items, err := Page(ctx, c.DB, plan, anchor, dir, n)
		return pageMsg{gen: gen, op: op, items: items, err: err, n: n, plan: plan}
	})
}

// resolve looks up the host ids and file stories a query names.
func resolve(ctx context.Context, c *timeline.Case, q Query) (Resolved, error) {
	res := Resolved{Files: map[string][]int64{}, Hosts: map[string][]int64{}, Words: map[string][]int64{}, Dense: map[string]bool{},
		Edges: map[int64][]int64{}, Selective: q.byID()}
	if edges := q.EdgeIDs(); len(edges) > 0 && hasTable(ctx, c.DB, "edge_events") {
		for _, e := range edges {
			ids, err := int64s(ctx, c.DB, `SELECT DISTINCT event_id FROM edge_events WHERE edge_id = ? ORDER BY event_id`, e)
			if err != nil {
				return res, fmt.Errorf("edge %d: %w", e, err)
			}
			res.Edges[e] = ids
		}
	}
	for _, h := range q.Hosts() {
		cond, args := timeline.HostMatch(h)
		rows, err := c.DB.QueryContext(ctx, `SELECT id FROM hosts WHERE `+cond+` ORDER BY id`, args...)
		if err != nil {
			return res, fmt.Errorf("host %s: %w", h, err)
		}
		ids := []int64{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return res, fmt.Errorf("host %s: %w", h, err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		res.Hosts[strings.ToLower(h)] = ids
	}
	// A rare word is faster found through the full-text index once, its
	// matches sorted on each page, than by walking the time index until
	// enough rows match; the full-text query then runs once per view, not
	// once per page.
	for _, w := range q.Words() {
		match := timeline.FTSMatch(w)
		if match == "" {
			continue
		}
		rows, err := c.DB.QueryContext(ctx, `SELECT rowid FROM events_fts WHERE events_fts MATCH ? LIMIT ?`, match, selectiveRows+1)
		if err != nil {
			return res, fmt.Errorf("search %q: %w", w, err)
		}
		ids := []int64{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return res, fmt.Errorf("search %q: %w", w, err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("search %q: %w", w, err)
		}
		if len(ids) <= selectiveRows {
			res.Words[w] = ids
			res.Selective = true
		} else {
			res.Dense[w] = true
		}
	}
	for _, f := range q.Files() {
		story, err := c.File(ctx, f)
		if err != nil {
			return res, fmt.Errorf("file %s: %w", f, err)
		}
		for _, r := range story.Events {
			res.Files[f] = append(res.Files[f], r.ID)
		}
	}
	return res, nil
}

func int64s(ctx context.Context, db *sql.DB, q string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (m *Model) startLoad(fn func() tea.Msg) tea.Cmd {
	m.loading = true
	m.loadStart = time.Now()
	cmds := []tea.Cmd{fn}
	if !m.spinning {
		m.spinning = true
		cmds = append(cmds, m.spin.Tick)
	}
	return tea.Batch(cmds...)
}

func (m *Model) loadEdge(op pageOp) tea.Cmd {
	m.gen++
	gen, n := m.gen, m.pageSize()
	plan, c, ctx := m.plan, m.c, m.ctx
	dir := Forward
	if op == opReplaceLast {
		dir = Backward
	}
	return m.startLoad(func() tea.Msg {
		items, err := Page(ctx, c.DB, plan, nil, dir, n)
		return pageMsg{gen: gen, op: op, items: items, err: err, n: n, plan: plan}
	})
}

func (m *Model) loadAt(k Key) tea.Cmd {
	m.gen++
	gen, n := m.gen, m.pageSize()
	plan, c, ctx := m.plan, m.c, m.ctx
	return m.startLoad(func() tea.Msg {
		items, err := Page(ctx, c.DB, plan, &k, From, n)
		return pageMsg{gen: gen, op: opReplaceAt, items: items, err: err, n: n, plan: plan}
	})
}

// more fetches the next or previous page when the cursor nears an edge of
// the loaded window.
func (m *Model) more() tea.Cmd {
	if m.fetching || m.loading || len(m.items) == 0 {
		return nil
	}
	var op pageOp
	var anchor Key
	switch {
	case !m.atEnd && m.cur >= len(m.items)-m.visible():
		op, anchor = opMoreForward, m.items[len(m.items)-1].key()
	case !m.atStart && m.cur < m.visible():
		op, anchor = opMoreBackward, m.items[0].key()
	default:
		return nil
	}
	m.fetching = true
	gen, n := m.gen, m.pageSize()
	plan, c, ctx := m.plan, m.c, m.ctx
	dir := Forward
	if op == opMoreBackward {
		dir = Backward
	}
	return m.startLoad(func() tea.Msg {
		items, err := Page(ctx, c.DB, plan, &anchor, dir, n)
		return pageMsg{gen: gen, op: op, items: items, err: err, n: n, plan: plan}
	})
}

func (m *Model) applyPage(p pageMsg) tea.Cmd {
	if p.gen != m.gen {
		return nil
	}
	m.loading = false
	m.fetching = false
	if p.err != nil {
		m.errText = p.err.Error()
		return nil
	}
	m.plan = p.plan
	full := len(p.items) == p.n
	switch p.op {
	case opReplaceFirst:
		m.items, m.cur, m.top = p.items, 0, 0
		m.atStart, m.atEnd = true, !full
	case opReplaceLast:
		m.items = p.items
		m.cur = max(len(p.items)-1, 0)
		m.atStart, m.atEnd = !full, true
	case opReplaceAt:
		m.items, m.cur, m.top = p.items, 0, 0
		m.atStart, m.atEnd = false, !full
		if m.pendingSelectID != 0 {
			for i, it := range p.items {
				if it.ID == m.pendingSelectID {
					m.cur = i
				}
			}
			m.pendingSelectID = 0
		}
		if len(p.items) == 0 {
			// Past the end: show the last page instead of nothing.
			m.atStart = true
			return m.loadEdge(opReplaceLast)
		}
	case opMoreForward:
		m.items = append(m.items, p.items...)
		m.atEnd = !full
		if drop := len(m.items) - maxWindow; drop > 0 {
			m.items = m.items[drop:]
			m.cur -= drop
			m.top -= drop
			m.atStart = false
		}
	case opMoreBackward:
		m.items = append(append([]Item{}, p.items...), m.items...)
		m.cur += len(p.items)
		m.top += len(p.items)
		m.atStart = !full
		if len(m.items) > maxWindow {
			m.items = m.items[:maxWindow]
			m.atEnd = false
		}
	}
	m.clamp()
	return m.more()
}

func (m *Model) clamp() {
	if m.cur >= len(m.items) {
		m.cur = len(m.items) - 1
	}
	if m.cur < 0 {
		m.cur = 0
	}
	vis := m.visible()
	if m.cur < m.top {
		m.top = m.cur
	}
	if m.cur >= m.top+vis {
		m.top = m.cur - vis + 1
	}
	if m.top > len(m.items)-vis {
		m.top = len(m.items) - vis
	}
	if m.top < 0 {
		m.top = 0
	}
}

func (m *Model) move(delta int) tea.Cmd {
	m.cur += delta
	m.clamp()
	return m.more()
}

// Selected returns the event under the cursor.
func (m *Model) Selected() *Item {
	if m.mode == modeDetail && m.detailItem != nil {
		return m.detailItem
	}
	if m.cur < 0 || m.cur >= len(m.items) {
		return nil
	}
	return &m.items[m.cur]
}

// Items returns the loaded window (for tests and benchmarks).
func (m *Model) Items() []Item { return m.items }

// Query returns the current view's filter text.
func (m *Model) Query() string { return m.cur1().query }

// Loading reports whether a query is running.
func (m *Model) Loading() bool { return m.loading }

// pushView opens a new view after the current one, dropping forward
// history as a browser does.
func (m *Model) pushView(query string, anchor *Key) tea.Cmd {
	q, err := ParseQuery(query)
	if err != nil {
		m.errText = "filter: " + err.Error()
		return nil
	}
	if it := m.Selected(); it != nil && m.mode != modeDetail {
		k := it.key()
		m.cur1().anchor = &k
	}
	m.history = append(m.history[:m.hi+1], viewState{query: query, parsed: q})
	m.hi++
	m.mode = modeTimeline
	m.errText = ""
	return m.openView(anchor)
}

func (m *Model) goHistory(delta int) tea.Cmd {
	to := m.hi + delta
	if to < 0 || to >= len(m.history) {
		m.status = "no more history"
		return nil
	}
	if it := m.Selected(); it != nil {
		k := it.key()
		m.cur1().anchor = &k
	}
	m.hi = to
	m.mode = modeTimeline
	return m.openView(m.cur1().anchor)
}

type markedMsg struct {
	status string
	err    error
	id     int64
	marks  *Marks
}

func (m *Model) mark(fn func(ctx context.Context) error, status string, id int64) tea.Cmd {
	c, ctx := m.c, m.ctx
	return func() tea.Msg {
		if err := fn(ctx); err != nil {
			return markedMsg{err: err}
		}
		mk, err := LoadMarks(ctx, c.DB, id)
		return markedMsg{status: status, err: err, id: id, marks: &mk}
	}
}

func promptFor(md mode) string {
	switch md {
	case modeFilter:
		return "/"
	case modeJump:
		return "jump to (UTC): "
	case modeTag:
		return "tags: "
	case modeNote:
		return "note: "
	case modeExport:
		return "export to (.csv or .jsonl): "
	case modeSaveFilter:
		return "save filter as: "
	}
	return ""
}

func (m *Model) openInput(md mode, value string) tea.Cmd {
	m.returnMode = m.mode
	if m.returnMode != modeDetail {
		m.returnMode = modeTimeline
	}
	m.mode = md
	m.inputErr = ""
	m.input.Prompt = promptFor(md)
	m.input.SetValue(value)
	m.input.CursorEnd()
	m.input.SetWidth(max(m.width-len(m.input.Prompt)-2, 10))
	return m.input.Focus()
}

func (m *Model) closeInput() {
	m.input.Blur()
	m.mode = m.returnMode
	m.inputErr = ""
}
