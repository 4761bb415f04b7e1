package prefetch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// corpusFiles lists every .pf file under the corpus's prefetch folder,
// Bad/ included, sorted.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	root := filepath.Join(testimg.Corpus(t), "prefetch")
	out := testimg.CorpusFiles(t, "prefetch", func(rel string) bool { return strings.EqualFold(filepath.Ext(rel), ".pf") })
	for i, rel := range out {
		out[i] = filepath.Join(root, rel)
	}
	return out
}

func isBad(path string) bool {
	return strings.Contains(filepath.ToSlash(path), "/Bad/")
}

func parseFile(t testing.TB, path string) ([]event.Event, Stats, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	st, err := Parse(context.Background(), path, f, fi.Size(), event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		evs = append(evs, c)
		return nil
	}))
	return evs, st, err
}

func decodeFile(t testing.TB, path string) (*Info, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Decode(context.Background(), data)
}
