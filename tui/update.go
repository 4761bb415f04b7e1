package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/foothold/foothold/timeline/export"
)

type exportedMsg struct {
	path string
	rows int64
	err  error
}

// Update handles one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		if !m.colsTouched {
			m.resetColumns()
		}
		// Title above, status and keys below.
		m.detail.SetWidth(m.width)
		m.detail.SetHeight(m.bodyHeight())
		m.overlay.SetWidth(m.width)
		m.overlay.SetHeight(m.bodyHeight())
		m.list.scroll(m.bodyHeight())
		m.clamp()
		return m, m.more()
	case pageMsg:
		return m, m.applyPage(msg)
	case spinner.TickMsg:
		if !m.loading && !m.tracing {
			m.spinning = false
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case markedMsg:
		if msg.err != nil {
			m.errText = msg.err.Error()
			return m, nil
		}
		m.status = msg.status
		for i := range m.items {
			if m.items[i].ID == msg.id {
				m.items[i].Bookmarked = msg.marks.Bookmarked
			}
		}
		if m.detailItem != nil && m.detailItem.ID == msg.id {
			m.detailItem.Bookmarked = msg.marks.Bookmarked
			m.marks = *msg.marks
			m.detail.SetContent(m.detailText())
		}
		return m, nil
	case exportedMsg:
		if msg.err != nil {
			m.errText = msg.err.Error()
		} else {
			m.status = fmt.Sprintf("exported %d events to %s", msg.rows, msg.path)
		}
		m.loading = false
		return m, nil
	case caseInfoMsg:
		if msg.err != nil {
			m.errText = msg.err.Error()
		}
		m.clocks = msg.clocks
		if msg.path != nil {
			m.path = msg.path
		}
		if !m.colsTouched {
			m.resetColumns() // the host column fits the case's host names
		}
		return m, nil
	case listMsg:
		m.loading = false
		if m.mode != msg.mode {
			return m, nil // closed before it arrived
		}
		if msg.err != nil {
			m.errText = msg.err.Error()
			return m, nil
		}
		if msg.noTrace {
			if it := m.Selected(); it != nil {
				return m, m.runTrace(it)
			}
			m.list = listView{title: "trace"}
			m.list.text("No stored trace. Select an event in the timeline and press T to trace from it.")
			return m, nil
		}
		m.list = msg.list
		m.list.scroll(m.bodyHeight())
		return m, nil
	case traceDoneMsg:
		m.tracing = false
		if msg.err != nil {
			m.errText = msg.err.Error()
			if m.mode == modeTrace {
				m.list = listView{title: "trace"}
				m.list.text("trace failed: %v", msg.err)
			}
			return m, nil
		}
		m.path, m.clocks = msg.path, msg.clock
		m.status = fmt.Sprintf("traced from event %d and stored it", msg.seed)
		if m.mode == modeTrace {
			m.list = msg.list
			m.list.scroll(m.bodyHeight())
		}
		return m, nil
	case copiedMsg:
		if msg.err != nil {
			m.errText = msg.err.Error()
			return m, nil
		}
		m.status = msg.status()
		return m, nil
	case detailMsg:
		m.loading = false
		if msg.err != nil {
			m.errText = msg.err.Error()
		}
		m.marks = msg.marks
		m.detail.SetContent(m.detailText())
		return m, nil
	case tea.MouseWheelMsg:
		switch m.mode {
		case modeDetail:
			var cmd tea.Cmd
			m.detail, cmd = m.detail.Update(msg)
			return m, cmd
		case modeTimeline:
			if msg.Button == tea.MouseWheelUp {
				return m, m.move(-3)
			}
			if msg.Button == tea.MouseWheelDown {
				return m, m.move(3)
			}
		case modeHosts, modeTrace:
			if msg.Button == tea.MouseWheelUp {
				m.list.move(-1, m.bodyHeight())
			}
			if msg.Button == tea.MouseWheelDown {
				m.list.move(1, m.bodyHeight())
			}
		}
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	if m.isInput() {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m *Model) isInput() bool {
	switch m.mode {
	case modeFilter, modeJump, modeTag, modeNote, modeExport, modeSaveFilter:
		return true
	}
	return false
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := msg.String()
	if k == "ctrl+c" {
		return tea.Quit
	}
	if m.isInput() {
		return m.inputKey(msg)
	}
	m.status = ""
	switch m.mode {
	case modeHelp:
		switch k {
		case "q":
			return tea.Quit
		case "esc", "?", "enter", "backspace":
			m.mode = modeTimeline
			return nil
		}
		var cmd tea.Cmd
		m.overlay, cmd = m.overlay.Update(msg)
		return cmd
	case modeHosts, modeTrace:
		return m.listKey(k)
	case modeDetail:
		switch k {
		case "esc", "enter":
			m.mode = modeTimeline
			return nil
		case "y":
			return m.copy(m.detailText())
		case "up", "down", "k", "j", "pgup", "pgdown", "space", "home", "end":
			var cmd tea.Cmd
			m.detail, cmd = m.detail.Update(msg)
			return cmd
		}
	}
	switch k {
	case "q":
		return tea.Quit
	case "?":
		m.mode = modeHelp
		m.overlay.SetContent(helpText())
		m.overlay.GotoTop()
		return nil
	case "down", "j":
		return m.move(1)
	case "up", "k":
		return m.move(-1)
	case "pgdown", "space", "ctrl+f":
		return m.move(m.visible())
	case "pgup", "ctrl+b":
		return m.move(-m.visible())
	case "ctrl+d":
		return m.move(m.visible() / 2)
	case "ctrl+u":
		return m.move(-m.visible() / 2)
	case "g", "home":
		if m.atStart {
			m.cur = 0
			m.clamp()
			return nil
		}
		return m.loadEdge(opReplaceFirst)
	case "G", "end":
		return m.loadEdge(opReplaceLast)
	case "/":
		return m.openInput(modeFilter, m.Query())
	case ":":
		return m.openInput(modeJump, "")
	case "S":
		return m.openInput(modeSaveFilter, "")
	case "e":
		return m.openInput(modeExport, "foothold-view.csv")
	case "enter":
		return m.openDetail()
	case "backspace", "alt+left":
		return m.goHistory(-1)
	case "alt+right":
		return m.goHistory(1)
	case "b":
		it := m.Selected()
		if it == nil {
			return nil
		}
		on := !it.Bookmarked
		id := it.ID
		db := m.c.DB
		status := "bookmarked"
		if !on {
			status = "bookmark removed"
		}
		return m.mark(func(ctx context.Context) error { return SetBookmark(ctx, db, id, on) }, status, id)
	case "#":
		if m.Selected() != nil {
			return m.openInput(modeTag, "")
		}
	case "n":
		if m.Selected() != nil {
			return m.openInput(modeNote, "")
		}
	case "y":
		if it := m.Selected(); it != nil {
			return m.copy(it.Time.String() + "\t" + it.Host + "\t" + it.Artifact + "\t" + it.Type + "\t" + it.User + "\t" + it.Message)
		}
	case "h":
		return m.toggle(modeHosts, m.loadHosts)
	case "t":
		return m.toggle(modeTrace, m.loadTraceView)
	case "T":
		return m.runTrace(m.Selected())
	case "z":
		m.timeMode = (m.timeMode + 1) % timeModes
		if !m.colsTouched {
			m.resetColumns()
		}
		m.status = m.timeModeNote()
		if m.mode == modeDetail {
			m.detail.SetContent(m.detailText())
		}
	case "[":
		m.selCol = (m.selCol + len(m.cols) - 1) % len(m.cols)
		m.status = "column: " + m.cols[m.selCol].name
	case "]":
		m.selCol = (m.selCol + 1) % len(m.cols)
		m.status = "column: " + m.cols[m.selCol].name
	case "x":
		m.colsTouched = true
		m.cols[m.selCol].hidden = !m.cols[m.selCol].hidden
	case "<", "{":
		m.colsTouched = true
		m.cols[m.selCol].width = max(m.cols[m.selCol].width-2, 4)
	case ">", "}":
		m.colsTouched = true
		m.cols[m.selCol].width = min(m.cols[m.selCol].width+2, 120)
	case "H", "U", "L", "F", "P", "R":
		return m.pivot(k)
	}
	return nil
}

// toggle opens page p (its content from load), or goes back to the
// timeline when p is already open: h and t both open and close.
func (m *Model) toggle(p mode, load func() tea.Cmd) tea.Cmd {
	if m.mode == p {
		m.mode = modeTimeline
		return nil
	}
	m.mode = p
	return load()
}

// listKey drives the hosts-and-movement and trace pages: move between
// entries, enter opens the entry's events as a new timeline view.
func (m *Model) listKey(k string) tea.Cmd {
	h := m.bodyHeight()
	switch k {
	case "q":
		return tea.Quit
	case "esc", "backspace":
		m.mode = modeTimeline
	case "h":
		return m.toggle(modeHosts, m.loadHosts)
	case "t":
		return m.toggle(modeTrace, m.loadTraceView)
	case "T":
		// The event selected in the timeline seeds the trace.
		if m.cur >= 0 && m.cur < len(m.items) {
			it := m.items[m.cur]
			return m.runTrace(&it)
		}
		m.status = "trace: no event selected in the timeline"
	case "up", "k":
		m.list.move(-1, h)
	case "down", "j":
		m.list.move(1, h)
	case "pgup", "ctrl+b":
		m.list.move(-max(h/2, 1), h)
	case "pgdown", "space", "ctrl+f":
		m.list.move(max(h/2, 1), h)
	case "g", "home":
		m.list.move(-len(m.list.entries), h)
		m.list.top = 0
	case "G", "end":
		m.list.move(len(m.list.entries), h)
		m.list.top = max(m.list.top, len(m.list.lines)-h)
	case "?":
		m.mode = modeHelp
		m.overlay.SetContent(helpText())
		m.overlay.GotoTop()
	case "enter":
		if e := m.list.selected(); e != nil {
			return m.pushView(e.query, nil)
		}
	}
	return nil
}

func (m *Model) inputKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.closeInput()
		return nil
	case "enter":
		return m.submit(strings.TrimSpace(m.input.Value()))
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	if m.mode == modeFilter {
		// Check as the user types, so errors show before enter.
		m.inputErr = ""
		if v := m.input.Value(); !strings.HasPrefix(v, "@") {
			if _, err := ParseQuery(v); err != nil {
				m.inputErr = err.Error()
			}
		}
	}
	return cmd
}

func (m *Model) submit(v string) tea.Cmd {
	switch m.mode {
	case modeFilter:
		if name, ok := strings.CutPrefix(v, "@"); ok {
			q, err := LoadFilter(m.ctx, m.c.DB, name)
			if err != nil {
				m.inputErr = err.Error()
				return nil
			}
			v = q
		}
		if _, err := ParseQuery(v); err != nil {
			m.inputErr = err.Error()
			return nil
		}
		m.closeInput()
		return m.pushView(v, nil)
	case modeJump:
		t, err := ParseTime(v)
		if err != nil {
			m.inputErr = err.Error()
			return nil
		}
		m.closeInput()
		m.mode = modeTimeline
		return m.loadAt(Key{TS: t})
	case modeSaveFilter:
		m.closeInput()
		if v == "" {
			return nil
		}
		q, db := m.Query(), m.c.DB
		return m.mark(func(ctx context.Context) error { return SaveFilter(ctx, db, v, q) }, "saved filter @"+v, 0)
	case modeTag, modeNote:
		it := m.Selected()
		md := m.mode
		m.closeInput()
		if it == nil || v == "" {
			return nil
		}
		id, db := it.ID, m.c.DB
		if md == modeTag {
			return m.mark(func(ctx context.Context) error { return AddTags(ctx, db, id, v) }, "tagged", id)
		}
		return m.mark(func(ctx context.Context) error { return AddNote(ctx, db, id, v) }, "note added", id)
	case modeExport:
		m.closeInput()
		return m.export(v)
	}
	m.closeInput()
	return nil
}

func (m *Model) export(path string) tea.Cmd {
	if path == "" {
		return nil
	}
	f, ok := m.cur1().parsed.Filter()
	if !ok {
		m.errText = "export: this filter uses OR, negation or fields the exporter cannot filter on (user, path, event, tag, logon, process, ip, file); narrow it to host/artifact/type/after/before/text"
		return nil
	}
	format := export.CSV
	if strings.HasSuffix(strings.ToLower(path), ".jsonl") {
		format = export.JSONL
	}
	c, ctx := m.c, m.ctx
	return m.startLoad(func() tea.Msg {
		abs, _ := filepath.Abs(path)
		out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return exportedMsg{err: fmt.Errorf("export: %w", err)}
		}
		rows, err := export.Write(ctx, c, f, format, out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return exportedMsg{path: abs, rows: rows, err: err}
	})
}
