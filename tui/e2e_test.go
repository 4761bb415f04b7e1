package tui

import (
	"fmt"

	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// TestTmuxDemo is the scripted run on the demo case: open, filter
// host:DC01, open an event, pivot on its logon id, bookmark it, quit,
// reopen, find the bookmark. The event to open is DC01's first network
// logon at or after 2023-03-10 09:12 (B4 in the demo's story); its logon
// id is read from the case, so regenerating the demo does not break this.
func TestTmuxDemo(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux not installed")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "foothold")
	build := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", bin, "./cmd/foothold")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	caseDB := filepath.Join(dir, "demo.db")
	demo := exec.Command(bin, "demo", "-c", caseDB, "--demo", filepath.Join(repo, "testdata", "cases", "3cx"))
	if out, err := demo.CombinedOutput(); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	// Where the logon sits after the jump, and its logon id.
	c, err := timeline.OpenExisting(caseDB)
	if err != nil {
		t.Fatal(err)
	}
	jump := event.FromTime(time.Date(2023, 3, 10, 9, 12, 0, 0, time.UTC))
	var logonID string
	var steps int
	err = c.DB.QueryRow(`WITH t AS (SELECT id, ts FROM timeline WHERE host = 'DC01' AND type = '4624'
			AND json_extract(fields, '$.logon_type') = 3 AND ts >= ? ORDER BY ts, id LIMIT 1)
		SELECT json_extract(e.fields, '$.target_logon_id'),
			(SELECT COUNT(*) FROM timeline x WHERE x.host = 'DC01' AND x.ts >= ? AND (x.ts < t.ts OR (x.ts = t.ts AND x.id < t.id)))
		FROM t JOIN events e ON e.id = t.id`, int64(jump), int64(jump)).Scan(&logonID, &steps)
	c.Close()
	if err != nil || logonID == "" {
		t.Fatalf("no DC01 network logon after %s in the demo: %v", jump, err)
	}
	sock := filepath.Join(dir, "tmux.sock")
	tm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })
	session := "e2e"
	screen := func() string { return tm("capture-pane", "-p", "-t", session) }
	waitScreen := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		var s string
		for time.Now().Before(deadline) {
			s = screen()
			if strings.Contains(s, want) {
				return s
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("screen never showed %q:\n%s", want, s)
		return ""
	}
	start := func(name string) {
		session = name
		tm("new-session", "-d", "-s", name, "-x", "100", "-y", "30",
			fmt.Sprintf("cd %s && NO_COLOR=1 %s tui %s; echo TUI-EXITED $?; sleep 30", dir, bin, caseDB))
	}
	send := func(keys ...string) { tm(append([]string{"send-keys", "-t", session}, keys...)...) }

	// 1. open
	start("e2e")
	waitScreen("filter: (all events)")
	// 2. filter host:DC01
	send("/")
	send("-l", "host:DC01")
	send("Enter")
	waitScreen("filter: host:DC01")
	waitScreen("DC01     pe")
	send(":")
	send("-l", "2023-03-10 09:12")
	send("Enter")
	waitScreen("Network logon (type 3) of CORP\\adm")
	// 3. open the logon
	for range steps {
		send("j")
	}
	send("Enter")
	s := waitScreen("Fields")
	if !strings.Contains(s, logonID) || !strings.Contains(s, "Network logon (type 3)") {
		t.Fatalf("detail of the wrong event (want logon id %s):\n%s", logonID, s)
	}
	// 4. pivot on its logon id
	send("L")
	waitScreen("filter: logon:" + logonID)
	// The pivot view's page has arrived when the status counts its rows
	// (keys pressed before act on an empty view).
	waitScreen("row 1 of 1")
	// 5. bookmark it
	send("b")
	waitScreen("bookmarked")
	// 6. quit
	send("q")
	waitScreen("TUI-EXITED 0")
	// 7. reopen, in a second session: killing the first would let the
	// tmux server exit while the next new-session talks to it.
	start("e2e2")
	waitScreen("filter: (all events)")
	// 8. find the bookmark
	send("/")
	send("-l", "tag:bookmark")
	send("Enter")
	waitScreen("filter: tag:bookmark")
	s = waitScreen("Network logon (type 3)")
	lines := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "* ") {
			lines++
			if !strings.Contains(l, "DC01") || !strings.Contains(l, "Network logon (type 3)") {
				t.Errorf("bookmarked row: %q", l)
			}
		}
	}
	if lines != 1 {
		t.Errorf("%d bookmarked rows, want 1:\n%s", lines, s)
	}
	// The time toggle, the movement tree and the stored trace (the demo
	// runs the analysis and an automatic trace).
	send("z")
	waitScreen("time (host local)")
	send("h")
	waitScreen("Movement (")
	send("t")
	waitScreen("Compromised, in order")
	send("j", "Enter")
	waitScreen("filter: ids:")
	if _, err := os.Stat(caseDB); err != nil {
		t.Fatal(err)
	}
}
