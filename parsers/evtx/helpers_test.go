package evtx

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// corpusFile returns the path of a corpus file, relative to corpus/evtx.
func corpusFile(t testing.TB, rel string) string {
	p := filepath.Join(testimg.Corpus(t), "evtx", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// evtxFiles lists every .evtx below the corpus, relative to it, sorted.
func evtxFiles(t testing.TB) []string {
	return testimg.CorpusFiles(t, "", func(rel string) bool { return strings.EqualFold(filepath.Ext(rel), ".evtx") })
}

// parsed is one file's events, copied out of the sink.
type parsed struct {
	events []event.Event
	stats  Stats
	err    error
}

func parsePath(t testing.TB, path string) parsed {
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
	var out parsed
	out.stats, out.err = ParseFile(context.Background(), path, f, fi.Size(), event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		out.events = append(out.events, c)
		return nil
	}))
	return out
}

func parseBytes(b []byte) (parsed, error) {
	var out parsed
	r := strings.NewReader(string(b))
	out.stats, out.err = Parse(context.Background(), r, int64(len(b)), event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		out.events = append(out.events, c)
		return nil
	}))
	return out, nil
}

func field(e *event.Event, key string) any {
	v, _ := e.Get(key)
	return v
}

func fieldStr(e *event.Event, key string) string {
	v, _ := e.Get(key)
	s, _ := v.(string)
	return s
}

// dataFields returns the data.* fields in order, without the prefix.
func dataFields(e *event.Event) []kv {
	var out []kv
	for _, f := range e.Fields {
		if strings.HasPrefix(f.Key, "data.") {
			s, _ := f.Value.(string)
			out = append(out, kv{f.Key[5:], s})
		}
	}
	return out
}

func recovered(e *event.Event) bool {
	v, _ := e.Get("recovered")
	b, _ := v.(bool)
	return b
}
