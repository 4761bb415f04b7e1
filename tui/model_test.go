package tui

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

const base = event.FileTime(133_230_000_000_000_000)

// makeCase writes n events per host for hosts WS1 and DC01: three events
// share each timestamp (ties are ordered by id), every tenth event carries
// logon id 0x1000+i%7, and event i has user user<i%5>.
func makeCase(t testing.TB, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "case.db")
	c, err := timeline.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for h, host := range []string{"WS1", "DC01"} {
		in, err := c.BeginIngest(ctx, &timeline.Evidence{Path: "/ev/" + host + ".raw", Format: "raw", Size: 1, SHA256: host, Host: host})
		if err != nil {
			t.Fatal(err)
		}
		vol := in.AddVolume(timeline.Volume{Index: 1, Scheme: "mbr", Offset: 1048576, Size: 1 << 20, FS: "ntfs"})
		src := in.BeginSource(vol, `\Windows\System32\winevt\Logs\Security.evtx`, "evtx", event.EVTX)
		for i := 0; i < n; i++ {
			e := &event.Event{Time: base + event.FileTime((i/3)*10_000_000+h), TimeDesc: "Event Logged", MACB: "....",
				Artifact: event.EVTX, Type: fmt.Sprint(4624 + i%3), User: fmt.Sprintf(`CORP\user%d`, i%5),
				Message: fmt.Sprintf("event number %d on %s", i, host), Record: int64(i), Offset: int64(i) * 512}
			e.Add("event_id", 4624+i%3)
			if i%10 == 0 {
				e.Add("logon_id", fmt.Sprintf("0x%x", 0x1000+i%7))
			}
			if err := src.Emit(e); err != nil {
				t.Fatal(err)
			}
		}
		src.Done(int64(n), 0, nil)
		if err := in.Finish(nil); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func openCase(t testing.TB, path string) *timeline.Case {
	t.Helper()
	c, err := timeline.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// drive delivers msg and every message its commands produce, synchronously,
// so a test sees the model after all its queries finished. Spinner ticks
// (which sleep) and quit are dropped.
func drive(m *Model, msgs ...tea.Msg) {
	queue := append([]tea.Msg{}, msgs...)
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		_, cmd := m.Update(msg)
		queue = append(queue, run(cmd)...)
	}
}

func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	switch msg := msg.(type) {
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	case spinner.TickMsg, tea.QuitMsg, nil:
		return nil
	}
	return []tea.Msg{msg}
}

func newModel(t testing.TB, c *timeline.Case, w, h int) *Model {
	off := false
	m := New(context.Background(), c, Options{Color: &off})
	drive(m, tea.WindowSizeMsg{Width: w, Height: h})
	for _, msg := range run(m.Init()) {
		drive(m, msg)
	}
	return m
}

func key(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

func typeText(m *Model, s string) {
	for _, r := range s {
		drive(m, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func allIDs(t *testing.T, c *timeline.Case, f timeline.Filter) []int64 {
	var ids []int64
	if err := c.Events(context.Background(), f, func(r *timeline.Row) error { ids = append(ids, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestScrollKeyset walks the whole case one row at a time forwards (pages
// appended, the window trimmed past maxWindow) and backwards from G, and
// compares the sequence with timeline.Events' (ts, id) order: no
// duplicates, no gaps.
func TestScrollKeyset(t *testing.T) {
	c := openCase(t, makeCase(t, t.TempDir(), 1500)) // 3000 events > maxWindow
	want := allIDs(t, c, timeline.Filter{})
	m := newModel(t, c, 80, 24)
	var got []int64
	for i := 0; i < len(want)+5; i++ {
		got = append(got, m.Selected().ID)
		drive(m, key("j"))
	}
	got = dedupeTail(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("forward walk: %d ids, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	if len(m.Items()) > maxWindow {
		t.Errorf("window holds %d rows, more than %d", len(m.Items()), maxWindow)
	}
	drive(m, key("G"))
	var back []int64
	for i := 0; i < len(want)+5; i++ {
		back = append(back, m.Selected().ID)
		drive(m, key("k"))
	}
	back = dedupeTail(back)
	for i, j := 0, len(back)-1; i < j; i, j = i+1, j-1 {
		back[i], back[j] = back[j], back[i]
	}
	if fmt.Sprint(back) != fmt.Sprint(want) {
		t.Fatalf("backward walk: %d ids, want %d; first difference at %d", len(back), len(want), firstDiff(back, want))
	}
	// Page keys: pgdown 10 times lands exactly 10 screens down.
	drive(m, key("g"))
	for i := 0; i < 10; i++ {
		drive(m, key("pgdown"))
	}
	if got, w := m.Selected().ID, want[10*m.visible()]; got != w {
		t.Errorf("after 10 pgdown: event %d, want %d", got, w)
	}
}

// walk returns the ids from the first row of the view to its last.
func walk(m *Model) []int64 {
	drive(m, key("g"))
	var ids []int64
	for {
		ids = append(ids, m.Selected().ID)
		drive(m, key("j"))
		if m.Selected().ID == ids[len(ids)-1] {
			return ids
		}
	}
}

// dedupeTail drops the repeats recorded once the cursor sat on the last row.
func dedupeTail(ids []int64) []int64 {
	for len(ids) > 1 && ids[len(ids)-1] == ids[len(ids)-2] {
		ids = ids[:len(ids)-1]
	}
	return ids
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestFilterPivotAndBack(t *testing.T) {
	c := openCase(t, makeCase(t, t.TempDir(), 300))
	m := newModel(t, c, 100, 30)
	// A syntax error shows inline and changes nothing.
	drive(m, key("/"))
	typeText(m, "hots:DC01")
	drive(m, key("enter"))
	if m.mode != modeFilter || !strings.Contains(m.inputErr, "unknown field") {
		t.Fatalf("bad filter: mode %d, error %q", m.mode, m.inputErr)
	}
	if !strings.Contains(m.View().Content, "unknown field") {
		t.Errorf("error not shown inline")
	}
	drive(m, key("esc"))
	drive(m, key("/"))
	typeText(m, "host:DC01 event:4624")
	drive(m, key("enter"))
	want := 0
	for i := 0; i < 300; i++ {
		if i%3 == 0 {
			want++
		}
	}
	if m.Query() != "host:DC01 event:4624" {
		t.Fatalf("query %q", m.Query())
	}
	for _, it := range m.Items() {
		if it.Host != "DC01" || it.Type != "4624" {
			t.Fatalf("filtered row %+v", it.Row)
		}
	}
	if n := len(walk(m)); n != want {
		t.Errorf("host:DC01 event:4624 rows = %d, want %d", n, want)
	}
	drive(m, key("g"))
	// Move to an event with a logon id (i%10==0 and i%3==0: i=30 is the
	// 11th 4624 row), open it, pivot on its logon id.
	for i := 0; i < 10; i++ {
		drive(m, key("j"))
	}
	sel := *m.Selected()
	if !strings.Contains(sel.Fields, "logon_id") {
		t.Fatalf("selected %s has no logon id", sel.Fields)
	}
	drive(m, key("enter"))
	content := m.detailText()
	for _, s := range []string{"event number 30 on DC01", "logon_id", "0x1002", `\Windows\System32\winevt\Logs\Security.evtx`,
		"/ev/DC01.raw", "byte offset 1048576", "15360 (0x3c00)", "Provenance"} {
		if !strings.Contains(content, s) {
			t.Errorf("detail lacks %q:\n%s", s, content)
		}
	}
	drive(m, key("L"))
	if m.Query() != "logon:0x1002" || m.mode != modeTimeline {
		t.Fatalf("pivot query %q mode %d", m.Query(), m.mode)
	}
	if m.Selected().ID != sel.ID {
		t.Errorf("pivot selected %d, want the pivoted event %d", m.Selected().ID, sel.ID)
	}
	// logon 0x1002: i%10==0 and i%7==2 → i in {30, 100, 170, 240} per host.
	if n := len(walk(m)); n != 8 {
		t.Errorf("logon pivot rows = %d, want 8", n)
	}
	drive(m, key("backspace"))
	if m.Query() != "host:DC01 event:4624" || m.Selected().ID != sel.ID {
		t.Errorf("back: query %q at %d, want the filter at %d", m.Query(), m.Selected().ID, sel.ID)
	}
	drive(m, tea.KeyPressMsg{Code: tea.KeyRight, Mod: tea.ModAlt})
	if m.Query() != "logon:0x1002" {
		t.Errorf("forward: query %q", m.Query())
	}
}

func TestBookmarkPersists(t *testing.T) {
	path := makeCase(t, t.TempDir(), 50)
	c, err := timeline.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m := newModel(t, c, 80, 24)
	drive(m, key("j"), key("j"))
	id := m.Selected().ID
	drive(m, key("b"))
	drive(m, key("#"))
	typeText(m, "lateral, Staging")
	drive(m, key("enter"))
	drive(m, key("n"))
	typeText(m, "first seen here")
	drive(m, key("enter"))
	if !m.Selected().Bookmarked {
		t.Fatal("not bookmarked in the view")
	}
	c.Close()

	c2 := openCase(t, path)
	m2 := newModel(t, c2, 80, 24)
	drive(m2, key("/"))
	typeText(m2, "tag:bookmark")
	drive(m2, key("enter"))
	if len(m2.Items()) != 1 || m2.Items()[0].ID != id || !m2.Items()[0].Bookmarked {
		t.Fatalf("tag:bookmark after reopen: %d rows", len(m2.Items()))
	}
	drive(m2, key("enter"))
	txt := m2.detailText()
	for _, s := range []string{"lateral, staging", "first seen here", "bookmarked         true"} {
		if !strings.Contains(txt, s) {
			t.Errorf("detail after reopen lacks %q", s)
		}
	}
	drive(m2, key("esc"), key("/"))
	typeText(m2, "\x7f")
	m2.input.SetValue("tag:staging")
	drive(m2, key("enter"))
	if len(m2.Items()) != 1 || m2.Items()[0].ID != id {
		t.Errorf("tag:staging: %d rows", len(m2.Items()))
	}
}

// TestTeatest runs the real program loop headless: first screen, filter,
// detail, help, quit.
func TestTeatest(t *testing.T) {
	c := openCase(t, makeCase(t, t.TempDir(), 100))
	off := false
	tm := teatest.NewTestModel(t, New(context.Background(), c, Options{Color: &off}), teatest.WithInitialTermSize(80, 24))
	waitFor(t, tm, "event number 0 on WS")
	tm.Type("/host:DC01")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor(t, tm, "2/2")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor(t, tm, "Provenance")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEscape})
	tm.Type("?")
	waitFor(t, tm, "pivot: same logon id")
	tm.Type("q")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if final.Query() != "host:DC01" || final.Selected().Host != "DC01" {
		t.Errorf("final: query %q host %q", final.Query(), final.Selected().Host)
	}
}

func waitFor(t *testing.T, tm *teatest.TestModel, s string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
		teatest.WithDuration(10*time.Second))
}

func TestHelpListsEveryKey(t *testing.T) {
	h := helpText()
	for _, k := range []string{"/", ":", "enter", "b", "#", "n", "e", "H", "U", "L", "F", "P", "R", "backspace", "alt+→", "?", "q, ctrl+c", "g/home G/end", "x"} {
		if !strings.Contains(h, k) {
			t.Errorf("help lacks %q", k)
		}
	}
}

// Free text matches as typed: a quoted phrase whole, and text without
// letters or digits by substring (it used to match every event).
func TestFreeTextIsLiteral(t *testing.T) {
	c := openCase(t, makeCase(t, t.TempDir(), 300))
	m := newModel(t, c, 100, 30)
	for _, tc := range []struct {
		q    string
		want int
	}{
		{`"number 12"`, 2},
		{`12 number`, 2},   // both words, anywhere
		{`"12 number"`, 0}, // the phrase, in this order
		{`$`, 0},
		{`"event number"`, 600},
	} {
		drive(m, key("/"))
		drive(m, key("ctrl+u"))
		typeText(m, tc.q)
		drive(m, key("enter"))
		if m.Query() != tc.q {
			t.Fatalf("query %q, want %q (input error %q)", m.Query(), tc.q, m.inputErr)
		}
		n := 0
		if len(m.Items()) > 0 {
			n = len(walk(m))
		}
		if n != tc.want {
			t.Errorf("%s: %d rows, want %d", tc.q, n, tc.want)
		}
	}
}
