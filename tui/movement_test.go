package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
	"github.com/foothold/foothold/timeline/movement"
)

// Times of the movement case. base is 2023-03-11T09:20:00Z, the day before
// US daylight saving time began; dstDay is 2023-03-13T09:20:00Z, after it.
// The expected local times below were checked with
// `TZ=America/New_York date -d @1678526400 --iso-8601=seconds`
// (2023-03-11T04:20:00-05:00) and @1678699200 (2023-03-13T05:20:00-04:00).
const dstDay = base + 2*24*3600*10_000_000

// mvCase is a generated case with what movement analysis stores: host
// zones, clock offsets, edges with supporting events, and a trace.
type mvCase struct {
	path string
	ids  map[string]int64 // message -> event id
	// edge ids: onTrace is walked by the trace, flagged carries the
	// "attack" flag, routine is neither.
	onTrace, flagged, routine int64
	// supporting events per edge; hop evidence of the trace's one hop.
	support     map[int64][]int64
	hopEvidence []int64
}

// makeMovementCase writes six events per host on each of base and dstDay
// ("WS1 early 0".."WS1 late 5", "DC01 ..."), one second apart. WS1 is in
// Eastern Standard Time (DST rules known), DC01 in a zone name Foothold
// has no rules for, with a standard bias of 120 minutes (UTC-2). WS1's
// clock is 2.5 s ahead of DC01's, the reference.
func makeMovementCase(t *testing.T, dc01Zone string, withTrace bool) mvCase {
	t.Helper()
	mc := mvCase{path: filepath.Join(t.TempDir(), "mv.db"), ids: map[string]int64{}, support: map[int64][]int64{}}
	c, err := timeline.Open(mc.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, host := range []string{"WS1", "DC01"} {
		in, err := c.BeginIngest(ctx, &timeline.Evidence{Path: "/ev/" + host + ".raw", Format: "raw", Size: 1, SHA256: host, Host: host})
		if err != nil {
			t.Fatal(err)
		}
		vol := in.AddVolume(timeline.Volume{Index: 1, Scheme: "mbr", Offset: 1048576, Size: 1 << 20, FS: "ntfs"})
		src := in.BeginSource(vol, `\Windows\System32\winevt\Logs\Security.evtx`, "evtx", event.EVTX)
		for d, day := range []event.FileTime{base, dstDay} {
			for i := 0; i < 6; i++ {
				word := []string{"early", "late"}[d]
				e := &event.Event{Time: day + event.FileTime(i)*10_000_000, TimeDesc: "Event Logged", MACB: "....",
					Artifact: event.EVTX, Type: "4624", User: `CORP\adm`, Message: fmt.Sprintf("%s %s %d", host, word, i)}
				e.Add("event_id", 4624)
				if err := src.Emit(e); err != nil {
					t.Fatal(err)
				}
			}
		}
		src.Done(12, 0, nil)
		if err := in.Finish(nil); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := c.DB.Query(`SELECT id, message FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var msg string
		rows.Scan(&id, &msg)
		mc.ids[msg] = id
	}
	rows.Close()
	exec := func(q string, args ...any) int64 {
		t.Helper()
		r, err := c.DB.Exec(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		id, _ := r.LastInsertId()
		return id
	}
	exec(`UPDATE hosts SET tz = 'Eastern Standard Time', details = '{"bias":300,"active_bias":300}' WHERE name = 'WS1'`)
	exec(`UPDATE hosts SET tz = ?, details = '{"bias":120,"active_bias":120}' WHERE name = 'DC01'`, dc01Zone)
	exec(`INSERT INTO clock_offsets(host, seconds, pairs, spread, reference) VALUES ('WS1', 2.5, 3, 0.1, 'DC01'), ('DC01', 0, 3, 0, 'DC01')`)
	edge := func(src, dst, tech, flags string, first event.FileTime, events ...string) int64 {
		id := exec(`INSERT INTO edges(source, destination, technique, account, authentication, first, last, count, confidence, flags)
			VALUES (?, ?, ?, 'CORP\adm', 'kerberos', ?, ?, 1, 'high', ?)`, src, dst, tech, int64(first), int64(first), flags)
		for _, m := range events {
			side, host := "destination", dst
			if strings.HasPrefix(m, src) {
				side, host = "source", src
			}
			exec(`INSERT INTO edge_events(edge_id, occurrence, event_id, side, host, type, ts, rule) VALUES (?, 0, ?, ?, ?, 'evtx/4624', 0, 'test')`,
				id, mc.ids[m], side, host)
			mc.support[id] = append(mc.support[id], mc.ids[m])
		}
		return id
	}
	mc.routine = edge("DC01", "WS1", "rdp", "null", base, "DC01 early 1", "WS1 early 1")
	mc.onTrace = edge("WS1", "DC01", "psexec", "[]", dstDay, "WS1 late 2", "DC01 late 2", "DC01 late 3")
	mc.flagged = edge("WS1", "DC01", "wmi", `["attack"]`, dstDay, "DC01 late 5")
	if withTrace {
		// The hop cites one supporting event of its edge plus one the edge
		// does not list: both are on the path.
		ev := []movement.Ref{
			{EventID: mc.ids["DC01 late 2"], Side: "destination", Host: "DC01", Type: "evtx/4624", Time: dstDay + 2e7},
			{EventID: mc.ids["DC01 late 4"], Side: "destination", Host: "DC01", Type: "evtx/4624", Time: dstDay + 4e7},
			{EventID: mc.ids["WS1 late 2"], Side: "source", Host: "WS1", Type: "evtx/4624", Time: dstDay + 2e7},
		}
		for _, r := range ev {
			mc.hopEvidence = append(mc.hopEvidence, r.EventID)
		}
		sort.Slice(mc.hopEvidence, func(i, j int) bool { return mc.hopEvidence[i] < mc.hopEvidence[j] })
		tr := &movement.Trace{
			Seed:        movement.Seed{Host: "WS1", Time: dstDay, Corrected: dstDay - 25_000_000, Path: `C:\x.exe`, EventID: mc.ids["WS1 late 0"], Why: "test seed"},
			Compromised: map[string]event.FileTime{"WS1": dstDay - 25_000_000, "DC01": dstDay + 2e7},
			Order:       []string{"WS1", "DC01"},
			Hops: []movement.Hop{{Source: "WS1", Destination: "DC01", Technique: "psexec", Account: `CORP\adm`, Authentication: "kerberos",
				Time: dstDay + 2e7, Corrected: dstDay + 2e7, Confidence: "high", NewCompromise: true, Evidence: ev}},
		}
		if err := movement.SaveTrace(ctx, c, "auto", tr); err != nil {
			t.Fatal(err)
		}
	}
	return mc
}

// row returns the screen line showing message, or "".
func row(view, message string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, message) {
			return l
		}
	}
	return ""
}

// TestTimeToggle: z cycles UTC → host local → corrected → UTC; the header
// says which, the values follow each host's zone (with DST where the zone
// name is known, the standard bias where not) and its clock offset, and
// the stored times do not change.
func TestTimeToggle(t *testing.T) {
	mc := makeMovementCase(t, "Mid-Atlantic Standard Time", false)
	c := openCase(t, mc.path)
	m := newModel(t, c, 140, 40)
	checks := []struct {
		label string
		rows  map[string]string
	}{
		{"time (UTC)", map[string]string{
			"WS1 early 0":  "2023-03-11T09:20:00.0000000Z",
			"WS1 late 0":   "2023-03-13T09:20:00.0000000Z",
			"DC01 early 0": "2023-03-11T09:20:00.0000000Z",
		}},
		{"time (host local*)", map[string]string{
			"WS1 early 0":  "2023-03-11T04:20:00.0000000-05:00", // EST
			"WS1 late 0":   "2023-03-13T05:20:00.0000000-04:00", // EDT
			"DC01 early 0": "2023-03-11T07:20:00.0000000-02:00", // bias 120, no DST rules
			"DC01 late 0":  "2023-03-13T07:20:00.0000000-02:00",
		}},
		{"time (corrected)", map[string]string{
			"WS1 early 0":  "2023-03-11T09:19:57.5000000Z", // WS1 runs 2.5 s ahead
			"WS1 late 3":   "2023-03-13T09:20:00.5000000Z",
			"DC01 early 0": "2023-03-11T09:20:00.0000000Z", // the reference
		}},
		{"time (UTC)", map[string]string{"WS1 early 0": "2023-03-11T09:20:00.0000000Z"}},
	}
	for i, ck := range checks {
		if i > 0 {
			drive(m, key("z"))
		}
		v := stripANSI(m.View().Content)
		if !strings.Contains(strings.Split(v, "\n")[1], ck.label) {
			t.Errorf("mode %d: header %q lacks %q", i, strings.Split(v, "\n")[1], ck.label)
		}
		for msg, want := range ck.rows {
			if r := row(v, msg); !strings.Contains(r, want) {
				t.Errorf("%s: row %q lacks %s", ck.label, r, want)
			}
		}
		if i == 1 && !strings.Contains(m.status, "no DST rules for DC01: standard bias") {
			t.Errorf("host local status %q does not say DC01 uses its standard bias", m.status)
		}
		if i == 2 && !strings.Contains(m.status, "to DC01's clock") {
			t.Errorf("corrected status %q does not name the reference", m.status)
		}
	}
	// The detail pane shows all three; the store keeps the raw time.
	drive(m, key("/"))
	typeText(m, `"WS1 late 0"`)
	drive(m, key("enter"))
	drive(m, key("enter"))
	d := m.detailText()
	for _, s := range []string{"2023-03-13T09:20:00.0000000Z", "2023-03-13T05:20:00.0000000-04:00  (Eastern Standard Time)",
		"2023-03-13T09:19:57.5000000Z  (clock +2.500 s vs DC01)"} {
		if !strings.Contains(d, s) {
			t.Errorf("detail lacks %q:\n%s", s, d)
		}
	}
	var ts int64
	c.DB.QueryRow(`SELECT ts FROM events WHERE id = ?`, mc.ids["WS1 late 0"]).Scan(&ts)
	if event.FileTime(ts) != dstDay {
		t.Errorf("stored time changed: %d", ts)
	}

	// With both zones known the label has no asterisk; at 80 columns it
	// still fits the narrow time column.
	mc2 := makeMovementCase(t, "W. Europe Standard Time", false)
	m2 := newModel(t, openCase(t, mc2.path), 80, 24)
	drive(m2, key("z"))
	v := stripANSI(m2.View().Content)
	if h := strings.Split(v, "\n")[1]; !strings.Contains(h, "time (host local)") {
		t.Errorf("80 columns: header %q", h)
	}
	if r := row(v, "DC01 early 0"); !strings.Contains(r, "2023-03-11T10:20:00") { // CET, checked with TZ=Europe/Berlin date
		t.Errorf("DC01 in W. Europe Standard Time: %q", r)
	}
}

func TestZoneFor(t *testing.T) {
	tests := []struct {
		tz, details string
		dst         bool
		offset      int // seconds east of UTC on 2023-03-11
		none        bool
	}{
		{"Eastern Standard Time", `{"bias":300}`, true, -5 * 3600, false},
		{"UTC", `{}`, true, 0, false},
		{"Europe/Paris", `{}`, true, 3600, false},
		{"Unknown Zone", `{"bias":-330}`, false, 5*3600 + 1800, false},
		{"", `{"bias":0}`, false, 0, false},
		{"", `{}`, false, 0, true},
		{"Unknown Zone", `not json`, false, 0, true},
	}
	for _, tt := range tests {
		loc, dst := zoneFor(tt.tz, tt.details)
		if tt.none {
			if loc != nil {
				t.Errorf("zoneFor(%q, %s) = %v, want none", tt.tz, tt.details, loc)
			}
			continue
		}
		if loc == nil || dst != tt.dst {
			t.Errorf("zoneFor(%q, %s) = %v dst %v", tt.tz, tt.details, loc, dst)
			continue
		}
		if _, off := base.Time().In(loc).Zone(); off != tt.offset {
			t.Errorf("zoneFor(%q): offset %d, want %d", tt.tz, off, tt.offset)
		}
	}
}

// TestPathHighlight: events supporting attack-path edges (the trace's
// edge, the edge flagged attack, the hop's own evidence) carry "!" in the
// mark column, bookmarks "*", both "*!"; other rows neither. Without
// colour the markers are the only signal; with colour the row is styled.
// The set is read once when the case opens.
func TestPathHighlight(t *testing.T) {
	mc := makeMovementCase(t, "UTC", true)
	c := openCase(t, mc.path)
	m := newModel(t, c, 120, 40)
	onPath := map[int64]bool{}
	for _, id := range append(append(mc.support[mc.onTrace], mc.support[mc.flagged]...), mc.hopEvidence...) {
		onPath[id] = true
	}
	if len(m.path) != len(onPath) {
		t.Errorf("path set has %d events, want %d", len(m.path), len(onPath))
	}
	// Bookmark one path event and one other.
	bookmark := func(msg string) {
		drive(m, key("/"))
		m.input.SetValue(fmt.Sprintf("id:%d", mc.ids[msg]))
		drive(m, key("enter"))
		drive(m, key("b"))
		drive(m, key("backspace"))
	}
	bookmark("DC01 late 2")
	bookmark("WS1 early 3")
	// Drop the analysis tables: the marks must not depend on reading them
	// per row.
	c.DB.Exec(`DELETE FROM edge_events`)
	drive(m, key("G"))
	drive(m, key("g"))
	v := m.View().Content
	for msg, id := range mc.ids {
		r := row(v, msg+" ") // "WS1 late 1" must not match "WS1 late 10"
		if r == "" {
			r = row(v, msg)
		}
		want := "  "
		switch {
		case onPath[id] && msg == "DC01 late 2":
			want = "*!"
		case msg == "WS1 early 3":
			want = "* "
		case onPath[id]:
			want = " !"
		}
		// The selected row is reversed: strip its escape.
		plain := stripANSI(r)
		if !strings.HasPrefix(plain, want) {
			t.Errorf("%s (event %d): row %q, want mark %q", msg, id, plain, want)
		}
	}
	for _, sgr := range []string{"[3", ";3", "[9", "38;"} {
		if strings.Contains(v, sgr) {
			t.Errorf("colour sequence %q with colour off", sgr)
		}
	}
	// With colour, a path row is styled differently from a plain row.
	on := true
	mcol := New(context.Background(), c, Options{Color: &on})
	drive(mcol, tea.WindowSizeMsg{Width: 120, Height: 40})
	for _, msg := range run(mcol.Init()) {
		drive(mcol, msg)
	}
	vc := mcol.View().Content
	// (edge_events is gone: the hop's own evidence is what is marked now)
	pathRow, plainRow := row(vc, "DC01 late 4"), row(vc, "DC01 late 1")
	if !strings.Contains(pathRow, "\x1b[") || styleOf(pathRow) == styleOf(plainRow) {
		t.Errorf("path row not styled apart:\n%q\n%q", pathRow, plainRow)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func styleOf(s string) string {
	if i := strings.IndexByte(s, 'm'); strings.HasPrefix(s, "\x1b[") && i > 0 {
		return s[:i]
	}
	return ""
}

// TestHostsEdgeView: h shows the hosts (zone, clock) and the edge tree
// with the attack path marked; enter on an edge opens its supporting
// events on both hosts as a new view, and backspace comes back.
func TestHostsEdgeView(t *testing.T) {
	mc := makeMovementCase(t, "UTC", true)
	c := openCase(t, mc.path)
	m := newModel(t, c, 80, 24)
	drive(m, key("h"))
	if m.mode != modeHosts {
		t.Fatalf("mode %d", m.mode)
	}
	var all []string
	for _, l := range m.list.lines {
		all = append(all, l.text)
	}
	text := strings.Join(all, "\n")
	for _, s := range []string{"Eastern Standard Time", "clock +2.500 s", "Movement (3 edges", "  DC01\n", "  WS1\n"} {
		if !strings.Contains(text, s) {
			t.Errorf("hosts view lacks %q:\n%s", s, text)
		}
	}
	// Entries in tree order: DC01's edge (routine), then WS1's two.
	wantEdges := []struct {
		id     int64
		attack bool
		prefix string
	}{{mc.routine, false, "  `-> WS1"}, {mc.onTrace, true, "! |-> DC01"}, {mc.flagged, true, "! `-> DC01"}}
	if len(m.list.entries) != len(wantEdges) {
		t.Fatalf("%d edge entries, want %d", len(m.list.entries), len(wantEdges))
	}
	for i, w := range wantEdges {
		e := m.list.entries[i]
		ln := m.list.lines[e.first]
		if e.query != fmt.Sprintf("edge:%d", w.id) || ln.attack != w.attack || !strings.HasPrefix(ln.text, w.prefix) {
			t.Errorf("entry %d: %q attack %v %q, want edge:%d %v %q", i, e.query, ln.attack, ln.text, w.id, w.attack, w.prefix)
		}
	}
	if v := m.View().Content; len(strings.Split(v, "\n")) != 24 {
		t.Errorf("hosts view is %d lines at 80×24", len(strings.Split(v, "\n")))
	}
	drive(m, key("j"))
	drive(m, key("enter"))
	if m.mode != modeTimeline || m.Query() != fmt.Sprintf("edge:%d", mc.onTrace) {
		t.Fatalf("after enter: mode %d query %q", m.mode, m.Query())
	}
	got := idsOf(m.Items())
	if want := sorted(mc.support[mc.onTrace]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("edge view events %v, want %v", got, want)
	}
	hosts := map[string]bool{}
	for _, it := range m.Items() {
		hosts[it.Host] = true
	}
	if !hosts["WS1"] || !hosts["DC01"] {
		t.Errorf("edge view covers hosts %v, want both", hosts)
	}
	drive(m, key("backspace"))
	if m.Query() != "" {
		t.Errorf("back: query %q", m.Query())
	}
}

func idsOf(items []Item) []int64 {
	var out []int64
	for _, it := range items {
		out = append(out, it.ID)
	}
	return sorted(out)
}

func sorted(ids []int64) []int64 {
	out := append([]int64{}, ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestTraceView: t lists the stored trace's seed and hops (raw and
// corrected time, hosts, technique, account, confidence); enter on the hop
// opens exactly its evidence events.
func TestTraceView(t *testing.T) {
	mc := makeMovementCase(t, "UTC", true)
	c := openCase(t, mc.path)
	m := newModel(t, c, 120, 40)
	drive(m, key("t"))
	if m.mode != modeTrace || len(m.list.entries) != 2 {
		t.Fatalf("mode %d, %d entries", m.mode, len(m.list.entries))
	}
	hop := m.list.entries[1]
	var lines []string
	for _, l := range m.list.lines[hop.first : hop.last+1] {
		lines = append(lines, l.text)
	}
	h := strings.Join(lines, "\n")
	for _, s := range []string{"+  1 WS1 → DC01  psexec  CORP\\adm  high", "raw 2023-03-13T09:20:02.0000000Z",
		"corrected 2023-03-13T09:20:02.0000000Z", "kerberos · 3 events"} {
		if !strings.Contains(h, s) {
			t.Errorf("hop lacks %q:\n%s", s, h)
		}
	}
	drive(m, key("j"))
	drive(m, key("enter"))
	if got := idsOf(m.Items()); fmt.Sprint(got) != fmt.Sprint(mc.hopEvidence) {
		t.Errorf("hop evidence view %v (query %q), want %v", got, m.Query(), mc.hopEvidence)
	}
	// The seed entry opens the seed event.
	drive(m, key("t"))
	drive(m, key("enter"))
	if len(m.Items()) != 1 || m.Items()[0].ID != mc.ids["WS1 late 0"] {
		t.Errorf("seed view: query %q, %d rows", m.Query(), len(m.Items()))
	}
}

// TestTraceFromEvent: T runs the movement analysis and its trace from the
// selected event in the background and stores it (as foothold trace
// --from ID does); t on a case with no stored trace does the same.
func TestTraceFromEvent(t *testing.T) {
	mc := makeMovementCase(t, "UTC", false)
	c := openCase(t, mc.path)
	m := newModel(t, c, 120, 40)
	drive(m, key("t")) // no stored trace: traces from the selected event
	sel := m.Selected().ID
	if m.tracing || m.errText != "" {
		t.Fatalf("tracing %v error %q", m.tracing, m.errText)
	}
	var n int
	var from string
	c.DB.QueryRow(`SELECT COUNT(*), MAX(seed) FROM traces`).Scan(&n, &from)
	if n != 1 || from != fmt.Sprint(sel) {
		t.Fatalf("traces stored %d, from %q; want 1 from %d", n, from, sel)
	}
	if !strings.Contains(m.list.lines[0].text, "--from "+fmt.Sprint(sel)) || !strings.Contains(m.status, "traced from event") {
		t.Errorf("trace view %q, status %q", m.list.lines[0].text, m.status)
	}
	drive(m, key("esc"))
	drive(m, key("j"))
	drive(m, key("T"))
	c.DB.QueryRow(`SELECT COUNT(*), MAX(id) FROM traces`).Scan(&n, new(int))
	if n != 2 || m.mode != modeTrace {
		t.Errorf("after T: %d traces, mode %d", n, m.mode)
	}
}

// TestCopyFallback: the tool is chosen by what is on PATH and which
// display the session has; without one the text goes to a file under the
// temporary directory whose path the status line shows.
func TestCopyFallback(t *testing.T) {
	tools := func(have ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, h := range have {
				if h == name {
					return "/usr/bin/" + name, nil
				}
			}
			return "", os.ErrNotExist
		}
	}
	env := func(vars ...string) func(string) string {
		return func(k string) string {
			for _, v := range vars {
				if v == k {
					return "x"
				}
			}
			return ""
		}
	}
	tests := []struct {
		name string
		have []string
		env  []string
		want string
	}{
		{"wayland", []string{"wl-copy", "xclip"}, []string{"WAYLAND_DISPLAY", "DISPLAY"}, "/usr/bin/wl-copy"},
		{"x11 only", []string{"wl-copy", "xclip"}, []string{"DISPLAY"}, "/usr/bin/xclip -selection clipboard"},
		{"xsel", []string{"xsel"}, []string{"DISPLAY"}, "/usr/bin/xsel -b -i"},
		{"ssh, x tools but no display", []string{"xclip", "xsel"}, nil, ""},
		{"mac", []string{"pbcopy"}, nil, "/usr/bin/pbcopy"},
		{"nothing", nil, []string{"DISPLAY", "WAYLAND_DISPLAY"}, ""},
	}
	for _, tt := range tests {
		got := strings.Join(ClipboardCommand(tools(tt.have...), env(tt.env...)), " ")
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}

	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	c := openCase(t, makeCase(t, t.TempDir(), 5))
	m := newModel(t, c, 80, 24)
	m.lookPath, m.getenv = tools(), env()
	it := *m.Selected()
	drive(m, key("y"))
	want := it.Time.String() + "\t" + it.Host + "\t" + it.Artifact + "\t" + it.Type + "\t" + it.User + "\t" + it.Message
	file, _, _ := strings.Cut(strings.TrimPrefix(m.status, "copied to "), " (")
	if filepath.Dir(file) != tmp {
		t.Fatalf("status %q: file not under the temporary directory %s", m.status, tmp)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != want {
		t.Errorf("copy file %q: %q %v, want %q", file, b, err, want)
	}
	drive(m, tea.WindowSizeMsg{Width: 200, Height: 24})
	if !strings.Contains(m.View().Content, file) {
		t.Errorf("status line does not show the file")
	}

	// A tool that is found gets the text on stdin.
	out := filepath.Join(t.TempDir(), "clip")
	fake := filepath.Join(t.TempDir(), "xclip")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\ncat > "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m.lookPath = func(name string) (string, error) {
		if name == "xclip" {
			return fake, nil
		}
		return "", os.ErrNotExist
	}
	m.getenv = env("DISPLAY")
	drive(m, key("y"))
	if b, err := os.ReadFile(out); err != nil || string(b) != want || m.status != fmt.Sprintf("copied %d bytes (OSC 52 + xclip)", len(want)) {
		t.Errorf("tool copy: %q %v, status %q", b, err, m.status)
	}
}

// TestColumnsAt80x24: [ ] select a column, x hides it, < > resize it; the
// screen stays 24 lines of at most 80 cells.
func TestColumnsAt80x24(t *testing.T) {
	c := openCase(t, makeCase(t, t.TempDir(), 30))
	m := newModel(t, c, 80, 24)
	header := func() string { return strings.Split(stripANSI(m.View().Content), "\n")[1] }
	if !strings.Contains(header(), "artifact") {
		t.Fatalf("header %q", header())
	}
	drive(m, key("]"), key("]")) // time → host → artifact
	if m.status != "column: artifact" {
		t.Fatalf("status %q", m.status)
	}
	drive(m, key("x"))
	if strings.Contains(header(), "artifact") || strings.Contains(row(m.View().Content, "event number 0 on WS1"), "evtx") {
		t.Errorf("artifact not hidden: %q", header())
	}
	drive(m, key("["), key(">"), key(">"), key(">")) // host 8 → 14
	if m.cols[1].width != 14 {
		t.Errorf("host width %d, want 14", m.cols[1].width)
	}
	if !strings.Contains(header(), "host           type") {
		t.Errorf("widened header %q", header())
	}
	drive(m, key("<"), key("<"), key("<"), key("<"), key("<"), key("<"), key("<"))
	if m.cols[1].width != 4 {
		t.Errorf("host width %d, want the minimum 4", m.cols[1].width)
	}
	drive(m, key("]"), key("x")) // artifact back
	if !strings.Contains(header(), "artifact") {
		t.Errorf("artifact not shown again: %q", header())
	}
	// z keeps the columns the user set.
	drive(m, key("z"))
	if m.cols[1].width != 4 {
		t.Errorf("z reset the column widths")
	}
	lines := strings.Split(m.View().Content, "\n")
	if len(lines) != 24 {
		t.Errorf("%d lines, want 24", len(lines))
	}
	for _, l := range lines {
		if w := len([]rune(stripANSI(l))); w > 80 {
			t.Errorf("line of %d cells: %q", w, l)
		}
	}
}

// TestTeatestMovement runs the program loop headless: the time toggle's
// label, the hosts view, an edge's events, the trace and a hop's evidence.
func TestTeatestMovement(t *testing.T) {
	mc := makeMovementCase(t, "UTC", true)
	c := openCase(t, mc.path)
	off := false
	tm := teatest.NewTestModel(t, New(context.Background(), c, Options{Color: &off}), teatest.WithInitialTermSize(100, 30))
	waitFor(t, tm, "WS1 early 0")
	tm.Type("z")
	// The renderer redraws only changed cells: wait for the changed part.
	waitFor(t, tm, "host local)")
	tm.Type("z")
	waitFor(t, tm, "corrected)")
	tm.Type("h")
	waitFor(t, tm, "Movement (3 edges")
	tm.Type("j")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor(t, tm, fmt.Sprintf("filter: edge:%d", mc.onTrace))
	tm.Type("t")
	waitFor(t, tm, "WS1 → DC01  psexec")
	tm.Type("j")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor(t, tm, "filter: ids:")
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if got := idsOf(final.Items()); fmt.Sprint(got) != fmt.Sprint(mc.hopEvidence) {
		t.Errorf("final view %v, want the hop's evidence %v", got, mc.hopEvidence)
	}
	if len(final.history) != 3 {
		t.Errorf("history has %d views, want 3 (all, edge, hop)", len(final.history))
	}
}

func TestHelpListsNewKeys(t *testing.T) {
	h := helpText()
	for _, s := range []string{"\n  z ", "\n  T ", "\n  t ", "\n  h ", "filters (after:, before:) and\nthe : jump are always UTC", "edge:5", "ids:"} {
		if !strings.Contains(h, s) {
			t.Errorf("help lacks %q", s)
		}
	}
}
