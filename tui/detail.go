package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
)

type detailMsg struct {
	marks Marks
	err   error
}

func (m *Model) openDetail() tea.Cmd {
	it := m.Selected()
	if it == nil {
		return nil
	}
	cp := *it
	m.detailItem = &cp
	m.marks = Marks{Bookmarked: it.Bookmarked}
	m.mode = modeDetail
	m.detail.SetContent(m.detailText())
	m.detail.GotoTop()
	c, ctx, id := m.c, m.ctx, it.ID
	return func() tea.Msg {
		mk, err := LoadMarks(ctx, c.DB, id)
		return detailMsg{marks: mk, err: err}
	}
}

// Field is one event field as the detail pane shows it.
type Field struct{ Key, Value string }

// Fields decodes an event's stored JSON object in its stored order;
// values are shown as text (strings unquoted, the rest as JSON).
func Fields(raw string) []Field {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return []Field{{"fields", raw}}
	}
	var out []Field
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return append(out, Field{"fields (unparsed)", raw})
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return append(out, Field{"fields (unparsed)", raw})
		}
		k, _ := kt.(string)
		var s string
		if json.Unmarshal(v, &s) != nil {
			var b bytes.Buffer
			if json.Indent(&b, v, "", "  ") == nil {
				s = b.String()
			} else {
				s = string(v)
			}
		}
		out = append(out, Field{k, s})
	}
	return out
}

func (m *Model) detailText() string {
	it := m.detailItem
	if it == nil {
		return ""
	}
	var b strings.Builder
	row := func(k, v string) {
		fmt.Fprintf(&b, "  %-18s %s\n", k, strings.ReplaceAll(v, "\n", "\n"+strings.Repeat(" ", 21)))
	}
	b.WriteString("Event\n")
	row("time (UTC)", it.Time.String())
	if h := m.clocks.get(it.Host); h != nil && h.loc != nil {
		zone := h.zone
		if !h.dst {
			zone += ", standard bias: no DST rules"
		}
		row("time (host local)", LocalTime(it.Time, h.loc)+"  ("+zone+")")
	}
	if h := m.clocks.get(it.Host); h != nil && h.hasOffset {
		row("time (corrected)", fmt.Sprintf("%s  (clock %+.3f s vs %s)", Corrected(it.Time, h.offset), h.offset, m.clocks.reference))
	}
	row("filetime", fmt.Sprint(uint64(it.Time)))
	row("description", it.TimeDesc)
	row("macb", it.MACB)
	row("host", it.Host)
	row("artifact", it.Artifact)
	row("type", it.Type)
	row("user", it.User)
	row("path", it.Path)
	row("message", it.Message)
	b.WriteString("\nFields\n")
	fs := Fields(it.Fields)
	if len(fs) == 0 {
		b.WriteString("  (none)\n")
	}
	for _, f := range fs {
		row(f.Key, f.Value)
	}
	b.WriteString("\nProvenance\n")
	row("evidence", fmt.Sprintf("%s (id %d)", it.Evidence, it.EvidenceID))
	vol := "none (not in a volume)"
	if it.VolumeOffset >= 0 {
		vol = fmt.Sprintf("byte offset %d", it.VolumeOffset)
	}
	row("volume", vol)
	row("artifact path", it.ArtifactPath)
	row("parser", it.Parser)
	row("record", fmt.Sprint(it.Record))
	off := "none"
	if it.Offset >= 0 {
		off = fmt.Sprintf("%d (0x%x)", it.Offset, it.Offset)
	}
	row("offset", off)
	row("event id", fmt.Sprint(it.ID))
	b.WriteString("\nMarks\n")
	row("bookmarked", fmt.Sprint(m.marks.Bookmarked))
	row("attack path", fmt.Sprint(m.path[it.ID]))
	tags := append([]string{}, m.marks.Tags...)
	sort.Strings(tags)
	row("tags", strings.Join(tags, ", "))
	for _, n := range m.marks.Notes {
		row("note", n)
	}
	b.WriteString("\nRaw record (stored fields)\n  ")
	b.WriteString(it.Fields)
	b.WriteString("\n")
	return b.String()
}
