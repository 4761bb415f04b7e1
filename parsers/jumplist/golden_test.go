package jumplist

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

// goldenFiles: the Stolen Szechuan mstsc jump list (one RDP entry) and a
// custom destinations file; values were checked against olecfexport and
// lnkinfo by the differential tests.
var goldenFiles = []string{
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/1bc392b8e104a00e.automaticDestinations-ms",
	"plaso/368d807282ccde9d.customDestinations-ms",
}

type goldenEvent struct {
	File     string   `json:"file"`
	Time     string   `json:"time"`
	Ticks    uint64   `json:"ticks"`
	TimeDesc string   `json:"time_desc"`
	MACB     string   `json:"macb"`
	Type     string   `json:"type"`
	Path     string   `json:"path"`
	Record   int64    `json:"record"`
	Offset   int64    `json:"offset"`
	Message  string   `json:"message"`
	Fields   [][2]any `json:"fields"`
}

func TestGolden(t *testing.T) {
	root := filepath.Join(testimg.Corpus(t), "jumplist")
	var got []goldenEvent
	for _, rel := range goldenFiles {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(context.Background(), rel, bytes.NewReader(b), int64(len(b)), event.SinkFunc(func(e *event.Event) error {
			g := goldenEvent{File: rel, Time: e.Time.String(), Ticks: uint64(e.Time), TimeDesc: e.TimeDesc, MACB: e.MACB,
				Type: e.Type, Path: e.Path, Record: e.Record, Offset: e.Offset, Message: e.Message}
			for _, f := range e.Fields {
				g.Fields = append(g.Fields, [2]any{f.Key, f.Value})
			}
			got = append(got, g)
			return nil
		}))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
	}
	js, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	js = append(js, '\n')
	golden := filepath.Join("testdata", "golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, js, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js, want) {
		t.Errorf("events differ from %s (run with -update and review the diff)", golden)
	}
}
