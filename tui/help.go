package tui

import (
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// keyHelp lists every key; the help overlay and the tests read it.
var keyHelp = [][2]string{
	{"↑/k ↓/j", "move one event"},
	{"pgup/pgdn, space, ctrl+b/f", "page"},
	{"ctrl+u/d", "half page"},
	{"mouse wheel", "scroll"},
	{"g/home G/end", "first / last event"},
	{":", "jump to a UTC time (2023-03-10, 2023-03-10 09:12, full ISO)"},
	{"/", "filter (see below); @name loads a saved filter"},
	{"S", "save the current filter by name"},
	{"enter", "event detail: every field, provenance, marks, raw record"},
	{"y", "copy the event (detail: the whole pane): OSC 52, and wl-copy/xclip/xsel/pbcopy if found, else a file in the temp dir"},
	{"H", "pivot: same host ±5 minutes"},
	{"U", "pivot: same user"},
	{"L", "pivot: same logon id (logon_id / target_logon_id)"},
	{"F", "pivot: same file path or hash"},
	{"P", "pivot: same process"},
	{"R", "pivot: same remote address (src_ip / dst_ip)"},
	{"backspace, alt+←", "back to the previous view"},
	{"alt+→", "forward"},
	{"b", "bookmark / unbookmark (* in the first mark column)"},
	{"!", "(mark column) the event supports an attack-path edge"},
	{"z", "time column: UTC / host local / skew-corrected (header says which)"},
	{"#", "tag the event (comma-separated tags)"},
	{"n", "add a note to the event"},
	{"e", "export the current view to .csv or .jsonl"},
	{"[ ]", "select a column"},
	{"x", "hide / show the selected column"},
	{"< >", "narrow / widen the selected column"},
	{"h", "hosts and movement: edge tree; enter on an edge: its events on both hosts"},
	{"t", "trace: hop by hop; enter on a hop: its evidence (none stored: traces from the event)"},
	{"T", "trace from the selected event (runs the analysis, stores it)"},
	{"?", "this help"},
	{"esc", "close a pane or prompt"},
	{"q, ctrl+c", "quit"},
}

func helpText() string {
	var b strings.Builder
	b.WriteString("Keys\n")
	for _, k := range keyHelp {
		b.WriteString("  " + fit(k[0], 28) + " " + k[1] + "\n")
	}
	b.WriteString(`
Filter language (AND by default; OR between terms; - negates; "quotes" for spaces or a literal "-enc")
  host:DC01  artifact:evtx  type:4624  user:alice  path:\Temp\  event:4624
  after:2023-03-10  before:"2023-03-10 12:00"  tag:bookmark  tag:note  tag:NAME
  logon:0x116558  process:C:\Windows\System32\cmd.exe  ip:10.10.20.40  file:C:\x.exe
  id:42  ids:17010,17015  edge:5 (an edge's supporting events)
  any other word or "phrase": found in message or path as typed, any case
  example: host:DC01 -type:4688 logon OR rdp
`)
	b.WriteString(`
Time column (z). Raw times are never changed; filters (after:, before:) and
the : jump are always UTC, and rows stay in UTC order.
  UTC          the stored time
  host local   the host's zone from its SYSTEM hive, with DST rules for known
               Windows zone names; other zones use the standard bias (the
               header then says "host local*"); hosts without a zone stay UTC (Z)
  corrected    raw minus the host's estimated clock offset (movement analysis);
               hosts without an estimate stay raw
`)
	return b.String()
}

func ftString(ticks int64) string { return event.FileTime(ticks).String() }
