package tui

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/timeline"
)

func TestExportJumpAndNoColor(t *testing.T) {
	c := openCase(t, makeCase(t, t.TempDir(), 90))
	m := newModel(t, c, 80, 24)

	// NO_COLOR (Color off): no foreground colour sequences, only bold,
	// underline and reverse.
	for _, sgr := range []string{"[3", ";3", "[9", "38;"} {
		if strings.Contains(m.View().Content, sgr) {
			t.Errorf("colour sequence %q with colour off", sgr)
		}
	}

	// : jumps to the first event at or after the time. makeCase puts
	// three events per host in each second from 09:20:00, WS1 first, so
	// 09:20:10 starts with WS1's event 30.
	drive(m, key(":"))
	typeText(m, "2023-03-11 09:20:10")
	drive(m, key("enter"))
	if it := m.Selected(); it.Message != "event number 30 on WS1" {
		t.Errorf("jump landed on %q", it.Message)
	}

	// e exports the view through timeline/export; the CSV has a header
	// and one row per event of the view.
	drive(m, key("/"))
	typeText(m, "host:DC01")
	drive(m, key("enter"))
	out := filepath.Join(t.TempDir(), "view.csv")
	drive(m, key("e"))
	m.input.SetValue(out)
	drive(m, key("enter"))
	if m.errText != "" {
		t.Fatal(m.errText)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	n, _ := c.Count(t.Context(), timeline.Filter{Hosts: []string{"DC01"}})
	if int64(len(lines)-1) != n || n != 90 || !strings.HasPrefix(lines[0], "datetime,") {
		t.Errorf("export: %d lines for %d events, header %q", len(lines), n, lines[0])
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, ",DC01,") {
			t.Fatalf("exported row not on DC01: %s", l)
		}
	}
	// A filter the exporter cannot express is refused with a reason, not
	// exported wrong.
	drive(m, key("/"))
	m.input.SetValue("host:DC01 OR host:WS1")
	drive(m, key("enter"))
	drive(m, key("e"))
	m.input.SetValue(filepath.Join(t.TempDir(), "x.jsonl"))
	drive(m, key("enter"))
	if !strings.Contains(m.errText, "cannot filter") {
		t.Errorf("unexportable filter: error %q", m.errText)
	}
}

func TestSavedFilterAndHosts(t *testing.T) {
	c := openCase(t, makeCase(t, t.TempDir(), 30))
	m := newModel(t, c, 80, 24)
	drive(m, key("/"))
	m.input.SetValue("host:WS1 -type:4625")
	drive(m, key("enter"))
	drive(m, key("S"))
	typeText(m, "ws1-no-fail")
	drive(m, key("enter"))
	drive(m, key("/"))
	m.input.SetValue("")
	drive(m, key("enter"))
	drive(m, key("/"))
	m.input.SetValue("@ws1-no-fail")
	drive(m, key("enter"))
	if m.Query() != "host:WS1 -type:4625" {
		t.Fatalf("@ws1-no-fail loaded %q (error %q)", m.Query(), m.errText)
	}
	if n := len(walk(m)); n != 20 {
		t.Errorf("host:WS1 -type:4625 rows = %d, want 20", n)
	}
	// Hosts: names from the summary; movement not run in this case.
	drive(m, key("h"))
	v := m.View().Content
	for _, s := range []string{"WS1", "DC01", "movement analysis not run"} {
		if !strings.Contains(v, s) {
			t.Errorf("hosts view lacks %q:\n%s", s, v)
		}
	}
}
