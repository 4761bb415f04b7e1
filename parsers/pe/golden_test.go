package pe

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// TestGolden pins the events of the corpus PE files (all three are
// reproducible builds, so each gives a "signed" or an undated "pe" event).
func TestGolden(t *testing.T) {
	type row struct {
		Time, TimeDesc, Type, Path, Message string
		Fields                              [][2]any
	}
	got := map[string][]row{}
	for _, p := range peCorpus(t) {
		b, _ := os.ReadFile(p)
		if !IsPE(b) {
			continue
		}
		name := `C:\Windows\System32\` + filepath.Base(p)
		evs, _, _ := collect(t, name, b)
		for _, e := range evs {
			r := row{Time: e.Time.String(), TimeDesc: e.TimeDesc, Type: e.Type, Path: e.Path, Message: e.Message}
			for _, f := range e.Fields {
				v := f.Value
				if s, ok := v.(interface{ String() string }); ok {
					v = s.String()
				}
				r.Fields = append(r.Fields, [2]any{f.Key, v})
			}
			got[filepath.Base(p)] = append(got[filepath.Base(p)], r)
		}
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(append(out, '\n')) {
		t.Errorf("events differ from %s (run with -update and review the diff)", path)
	}
}
