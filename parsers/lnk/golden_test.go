package lnk

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// goldenFiles are links whose events are kept in testdata/golden.json: a
// network target (UNC host), a local program with tracker data, and a
// recent-file shortcut from the Stolen Szechuan DC (share and local path).
var goldenFiles = []string{
	"EricZimmerman-Lnk/Misc/remote.file.xp.test",
	"plaso/NeroInfoTool.lnk",
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/Secret.lnk",
}

type goldenEvent struct {
	File     string   `json:"file"`
	Time     string   `json:"time"`
	Ticks    uint64   `json:"ticks"`
	TimeDesc string   `json:"time_desc"`
	MACB     string   `json:"macb"`
	Type     string   `json:"type"`
	Path     string   `json:"path"`
	Message  string   `json:"message"`
	Fields   [][2]any `json:"fields"`
}

// goldenEvents parses files (relative to corpus/lnk) into golden form.
func goldenEvents(t *testing.T, root string, files []string, parse func(context.Context, string, *bytes.Reader, int64, event.Sink) error) []goldenEvent {
	var out []goldenEvent
	for _, rel := range files {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		err = parse(context.Background(), rel, bytes.NewReader(b), int64(len(b)), event.SinkFunc(func(e *event.Event) error {
			g := goldenEvent{File: rel, Time: e.Time.String(), Ticks: uint64(e.Time), TimeDesc: e.TimeDesc, MACB: e.MACB,
				Type: e.Type, Path: e.Path, Message: e.Message}
			for _, f := range e.Fields {
				g.Fields = append(g.Fields, [2]any{f.Key, f.Value})
			}
			out = append(out, g)
			return nil
		}))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
	}
	return out
}

// TestGolden compares the events of goldenFiles with testdata/golden.json
// (rewrite with -update after checking the diff; the values in it were
// checked against lnkinfo by TestLnkinfo).
func TestGolden(t *testing.T) {
	root := filepath.Join(testimg.Corpus(t), "lnk")
	got := goldenEvents(t, root, goldenFiles, func(ctx context.Context, name string, r *bytes.Reader, size int64, s event.Sink) error {
		_, err := Parse(ctx, name, r, size, s)
		return err
	})
	js, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	js = append(js, '\n')
	golden := filepath.Join("testdata", "golden.json")
	if *update {
		if err := os.WriteFile(golden, js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js, want) {
		t.Errorf("events differ from %s (run with -update to see the diff in git)", golden)
	}
}
