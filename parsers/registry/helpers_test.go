package registry

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
	"github.com/foothold/foothold/parsers/event"
)

func corpusPath(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(testimg.Corpus(t), "registry", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("corpus file missing: %v", err)
	}
	return p
}

func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed", n)
		}
	}
}

// readCorpus returns a corpus registry file's bytes, unpacking .xz with xz
// (the regipy fixtures are stored compressed, as upstream ships them).
func readCorpus(t testing.TB, rel string) []byte {
	t.Helper()
	p := corpusPath(t, rel)
	if !strings.HasSuffix(p, ".xz") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	needTool(t, "xz")
	out, err := exec.Command("xz", "-dc", p).Output()
	if err != nil {
		t.Fatalf("xz -dc %s: %v", p, err)
	}
	return out
}

// corpusTemp writes data under t.TempDir for tools that need a path.
func corpusTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func openCorpus(t testing.TB, rel string, logs ...string) *Hive {
	t.Helper()
	var lb [][]byte
	for _, l := range logs {
		lb = append(lb, readCorpus(t, l))
	}
	h, err := Open(readCorpus(t, rel), lb...)
	if err != nil {
		t.Fatalf("open %s: %v", rel, err)
	}
	return h
}

// collect parses a hive into a slice of copied events.
func collect(t testing.TB, h *Hive, user string) ([]event.Event, Stats, error) {
	t.Helper()
	var evs []event.Event
	st, err := h.Parse(t.Context(), user, event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		evs = append(evs, c)
		return nil
	}))
	return evs, st, err
}

func byArtifact(evs []event.Event, artifact string) []event.Event {
	var out []event.Event
	for _, e := range evs {
		if e.Artifact == artifact {
			out = append(out, e)
		}
	}
	return out
}
