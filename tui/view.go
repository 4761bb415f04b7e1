package tui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

type column struct {
	name   string
	width  int // 0: the rest of the line
	hidden bool
	get    func(*Item) string
	time   bool // the time column: label and value follow the time mode
}

// defaultColumns sizes the columns for a terminal width: below 110 cells
// the time keeps whole seconds (the detail pane has the 100 ns value).
func defaultColumns(width int) []column {
	tw, hw, aw, yw, uw := 28, 10, 9, 10, 18
	if width < 110 {
		tw, hw, aw, yw, uw = 19, 8, 8, 6, 12
	}
	return []column{
		{name: "time", width: tw, time: true},
		{name: "host", width: hw, get: func(it *Item) string { return it.Host }},
		{name: "artifact", width: aw, get: func(it *Item) string { return it.Artifact }},
		{name: "type", width: yw, get: func(it *Item) string { return it.Type }},
		{name: "user", width: uw, get: func(it *Item) string { return it.User }},
		{name: "message", get: func(it *Item) string { return it.Message }},
	}
}

type styles struct {
	title, header, selected, status, err, keys, mark, path lipgloss.Style
	artifact                                               map[string]lipgloss.Style
}

func newStyles(color bool) styles {
	s := styles{artifact: map[string]lipgloss.Style{}}
	s.title = lipgloss.NewStyle().Bold(true)
	s.header = lipgloss.NewStyle().Bold(true).Underline(true)
	s.selected = lipgloss.NewStyle().Reverse(true)
	s.status = lipgloss.NewStyle()
	s.err = lipgloss.NewStyle().Bold(true)
	s.keys = lipgloss.NewStyle()
	s.mark = lipgloss.NewStyle().Bold(true)
	// Without colour the "!" column alone marks the attack path; bold is
	// the bookmark's.
	s.path = lipgloss.NewStyle()
	if !color {
		return s
	}
	s.title = s.title.Foreground(lipgloss.Color("12"))
	s.err = s.err.Foreground(lipgloss.Color("9"))
	s.keys = s.keys.Faint(true)
	s.mark = s.mark.Foreground(lipgloss.Color("11"))
	s.path = s.path.Bold(true).Foreground(lipgloss.Color("9"))
	for a, c := range map[string]string{
		"mft": "4", "usn": "6", "evtx": "2", "registry": "5", "shimcache": "13", "amcache": "13",
		"bam": "13", "userassist": "13", "prefetch": "3", "lnk": "14", "jumplist": "14", "task": "1",
		"pe": "11", "browser": "10", "srum": "8",
	} {
		s.artifact[a] = lipgloss.NewStyle().Foreground(lipgloss.Color(c))
	}
	return s
}

// fit cuts or pads s to exactly w cells.
func fit(s string, w int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, s)
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "")
	}
	if n := ansi.StringWidth(s); n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// resetColumns sizes the columns for the terminal; host-local times carry
// their UTC offset, so a wide time column grows by its six cells.
func (m *Model) resetColumns() {
	hidden := map[string]bool{}
	for _, c := range m.cols {
		hidden[c.name] = c.hidden
	}
	m.cols = defaultColumns(m.width)
	for i := range m.cols {
		m.cols[i].hidden = hidden[m.cols[i].name]
		if m.cols[i].time && m.timeMode == timeLocal && m.cols[i].width == 28 {
			m.cols[i].width = 33
		}
		// On a wide terminal the host column fits the longest host name
		// (WS-TRADER01 is 11 cells), up to 16.
		if m.cols[i].name == "host" && m.width >= 110 {
			for _, h := range m.clocks.hosts {
				m.cols[i].width = min(max(m.cols[i].width, len([]rune(h.name))), 16)
			}
		}
	}
}

// bodyHeight is the screen less the title, status and keys lines.
func (m *Model) bodyHeight() int { return max(m.height-3, 1) }

// rowMarks is the two-cell column before every row: "*" bookmarked, "!" on
// the attack path. It is text, so NO_COLOR loses nothing.
func (m *Model) rowMarks(it *Item) string {
	b := []byte("  ")
	if it == nil {
		return string(b)
	}
	if it.Bookmarked {
		b[0] = '*'
	}
	if m.path[it.ID] {
		b[1] = '!'
	}
	return string(b)
}

func (m *Model) line(it *Item) string {
	var parts []string
	used := 2 // mark column
	mark := m.rowMarks(it)
	for _, c := range m.cols {
		if c.hidden {
			continue
		}
		w := c.width
		if w == 0 {
			w = max(m.width-used, 1)
		}
		w = min(w, max(m.width-used, 0))
		if w <= 0 {
			break
		}
		txt := c.name
		switch {
		case c.time && it == nil:
			txt = m.timeLabel()
		case c.time:
			txt = m.timeText(it)
		case it != nil:
			txt = c.get(it)
		}
		parts = append(parts, fit(txt, w))
		used += w + 1
	}
	return mark + strings.Join(parts, " ")
}

// View renders the screen.
func (m *Model) View() tea.View {
	var b strings.Builder
	switch m.mode {
	case modeDetail:
		b.WriteString(m.st.title.Render(fit("Foothold · event "+fmt.Sprint(m.detailItem.ID)+"  (esc back · y copy · b/#/n mark · H U L F P R pivot)", m.width)))
		b.WriteString("\n")
		b.WriteString(m.detail.View())
		b.WriteString("\n")
		b.WriteString(m.statusLine())
	case modeHosts, modeTrace:
		b.WriteString(m.listView())
	case modeHelp:
		title := "Foothold · help (esc to close)"
		b.WriteString(m.st.title.Render(fit(title, m.width)))
		b.WriteString("\n")
		b.WriteString(m.overlay.View())
		b.WriteString("\n")
		b.WriteString(m.statusLine())
	default:
		b.WriteString(m.timelineView())
	}
	v := tea.NewView(b.String())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "foothold"
	return v
}

func (m *Model) timelineView() string {
	var b strings.Builder
	q := m.Query()
	if q == "" {
		q = "(all events)"
	}
	title := fmt.Sprintf("Foothold · filter: %s · view %d/%d · %s", q, m.hi+1, len(m.history), filepath.Base(m.c.Path))
	b.WriteString(m.st.title.Render(fit(title, m.width)))
	b.WriteString("\n")
	b.WriteString(m.st.header.Render(fit(m.line(nil), m.width)))
	b.WriteString("\n")
	vis := m.visible()
	for i := 0; i < vis; i++ {
		idx := m.top + i
		if idx >= len(m.items) {
			if i == 0 && !m.loading {
				b.WriteString(fit("  no events match", m.width))
			}
			b.WriteString("\n")
			continue
		}
		it := &m.items[idx]
		l := fit(m.line(it), m.width)
		switch {
		case idx == m.cur:
			l = m.st.selected.Render(l)
		case it.Bookmarked:
			l = m.st.mark.Render(l)
		case m.path[it.ID]:
			l = m.st.path.Render(l)
		default:
			if s, ok := m.st.artifact[it.Artifact]; ok {
				l = s.Render(l)
			}
		}
		b.WriteString(l)
		b.WriteString("\n")
	}
	b.WriteString(m.statusLine())
	return b.String()
}

func (m *Model) statusLine() string {
	var top string
	switch {
	case m.isInput():
		top = m.input.View()
		if m.inputErr != "" {
			top = fit(top, max(m.width/2, 10)) + m.st.err.Render(fit(" ✗ "+m.inputErr, m.width-max(m.width/2, 10)))
		}
	case m.errText != "":
		top = m.st.err.Render(fit("error: "+m.errText, m.width))
	default:
		pos := ""
		if it := m.Selected(); it != nil {
			pos = fmt.Sprintf("event %d", it.ID)
			if m.atStart && m.atEnd {
				pos += fmt.Sprintf(" · row %d of %d", m.cur+1, len(m.items))
			}
		}
		if m.tracing {
			pos = m.spin.View() + " tracing… " + pos
		} else if m.loading && time.Since(m.loadStart) > 100*time.Millisecond {
			pos = m.spin.View() + " querying… " + pos
		}
		if m.status != "" {
			pos += " · " + m.status
		}
		top = m.st.status.Render(fit(pos, m.width))
	}
	keys := "↑↓ pgup/pgdn g/G scroll · / filter · : jump · enter detail · b # n mark · z time · h hosts · t trace · ? help · q quit"
	if m.mode == modeHosts || m.mode == modeTrace {
		keys = "↑↓ select · enter open its events · T trace from the timeline's event · esc back · ? help · q quit"
	}
	return fit(top, m.width) + "\n" + m.st.keys.Render(fit(keys, m.width))
}

// listView renders the hosts-and-movement or trace page, the selected
// entry reversed and attack-path entries in the path style.
func (m *Model) listView() string {
	var b strings.Builder
	title := "Foothold · " + m.list.title + " (esc back)"
	b.WriteString(m.st.title.Render(fit(title, m.width)))
	b.WriteString("\n")
	h := m.bodyHeight()
	for i := 0; i < h; i++ {
		idx := m.list.top + i
		if idx >= len(m.list.lines) {
			b.WriteString("\n")
			continue
		}
		ln := m.list.lines[idx]
		l := fit(ln.text, m.width)
		switch {
		case ln.entry >= 0 && ln.entry == m.list.sel:
			l = m.st.selected.Render(l)
		case ln.attack:
			l = m.st.path.Render(l)
		}
		b.WriteString(l)
		b.WriteString("\n")
	}
	b.WriteString(m.statusLine())
	return b.String()
}
