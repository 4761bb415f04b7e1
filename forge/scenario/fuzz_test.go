package scenario

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input makes Parse panic, and whatever it accepts
// generates without error.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal), false)
	for _, c := range []string{"3cx", "lab"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "cases", c, "scenario.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(`{"name":"x"}`), true)
	f.Fuzz(func(t *testing.T, b []byte, isJSON bool) {
		s, err := Parse(b, isJSON)
		if err != nil {
			return
		}
		// Keep each run small: the background's volume is not under test.
		s.Background = &Background{Density: 0.02}
		if d := s.CollectedAt.Sub(s.Start).Hours(); d > 72 {
			return // keep each run small
		}
		if _, err := Generate(s); err != nil {
			t.Fatalf("accepted scenario does not generate: %v", err)
		}
	})
}
