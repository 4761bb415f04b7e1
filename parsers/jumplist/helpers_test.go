package jumplist

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/lnk"
)

// corpusFiles lists files under corpus/jumplist whose name ends in
// suffix, relative to corpus/jumplist, sorted.
func corpusFiles(t testing.TB, suffix string) []string {
	out := testimg.CorpusFiles(t, "jumplist", func(rel string) bool { return strings.HasSuffix(rel, suffix) })
	if len(out) == 0 {
		t.Fatalf("no *%s in the corpus", suffix)
	}
	return out
}

// lnkinfoCheck runs lnkinfo on the LNK at path and compares the target
// times, local and network paths and machine id with l.
func lnkinfoCheck(t *testing.T, what, path string, l *lnk.Link) int {
	t.Helper()
	out, err := exec.Command("lnkinfo", path).Output()
	if err != nil {
		t.Errorf("%s: lnkinfo: %v", what, err)
		return 0
	}
	want := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "\t\t") {
			continue
		}
		k, v, ok := strings.Cut(line[1:], ": ")
		if ok {
			k = strings.TrimRight(k, "\t")
			if _, dup := want[k]; !dup {
				want[k] = v
			}
		}
	}
	n := 0
	for _, c := range []struct {
		label string
		got   event.FileTime
	}{{"Creation time", l.Created}, {"Modification time", l.Modified}, {"Access time", l.Accessed}} {
		var w event.FileTime
		if s := want[c.label]; !strings.HasPrefix(s, "Not set") {
			tm, err := time.Parse("Jan 02, 2006 15:04:05.000000000 UTC", s)
			if err != nil {
				t.Errorf("%s: %s %q: %v", what, c.label, s, err)
				continue
			}
			w = event.FromTime(tm)
		}
		n++
		if w != c.got {
			t.Errorf("%s: %s = %s, lnkinfo %s", what, c.label, c.got, want[c.label])
		}
	}
	machine := ""
	if l.Tracker != nil {
		machine = l.Tracker.MachineID
	}
	for _, c := range []struct{ label, got string }{
		{"Local path", l.LocalPath()}, {"Network path", l.NetworkPath()},
		{"Machine identifier", machine}, {"Command line arguments", l.Arguments},
	} {
		n++
		if want[c.label] != c.got {
			t.Errorf("%s: %s = %q, lnkinfo %q", what, c.label, c.got, want[c.label])
		}
	}
	return n
}
