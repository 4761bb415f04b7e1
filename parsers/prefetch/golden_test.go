package prefetch

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

type goldenEvent struct {
	Time, TimeDesc, Artifact, Type, Path, Message string
	Record                                        int64
	Fields                                        map[string]any
}

// TestGolden pins the full events of a few corpus files (format 17, 23,
// 26, 30 compressed and 31). The run times and volumes in them were
// checked against sccainfo by TestSccainfo; regenerate with -update.
func TestGolden(t *testing.T) {
	for _, rel := range []string{
		"EricZimmerman-Prefetch/XPPro/CALC.EXE-02CD573A.pf",
		"EricZimmerman-Prefetch/Win7/CALC.EXE-77FDF17F.pf",
		"EricZimmerman-Prefetch/Win8x/CALC.EXE-77FDF17F.pf",
		"plaso/NOTEPAD.EXE-D8414F97.pf",
		"plaso/AM_DELTA_PATCH_1.443.990.0.EX-7037CF86.pf",
	} {
		evs, _, err := parseFile(t, filepath.Join(testimg.Corpus(t), "prefetch", filepath.FromSlash(rel)))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		var out []goldenEvent
		for _, e := range evs {
			g := goldenEvent{Time: e.Time.String(), TimeDesc: e.TimeDesc, Artifact: e.Artifact, Type: e.Type,
				Path: e.Path, Message: e.Message, Record: e.Record, Fields: map[string]any{}}
			for _, f := range e.Fields {
				if f.Key == "files" || f.Key == "directories" {
					g.Fields[f.Key] = len(f.Value.([]string)) // the list is compared with sccainfo
					continue
				}
				g.Fields[f.Key] = f.Value
			}
			out = append(out, g)
		}
		got, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "golden", strings.ReplaceAll(rel, "/", "_")+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if string(want) != string(got)+"\n" {
			t.Errorf("%s differs from %s:\n%s", rel, golden, got)
		}
	}
}
