package browser

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// FuzzParse feeds mutated History and places databases to Parse: SQLite
// must report damage as errors, never crash the parse, and events must be
// well formed.
func FuzzParse(f *testing.F) {
	for _, rel := range []string{"browser/chrome/hindsight/01/History", "browser/chrome/plaso/History-59.0.3071.86", "browser/firefox/plaso/places.sqlite"} {
		b, err := os.ReadFile(filepath.Join(testimg.Corpus(f), rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	sink := event.SinkFunc(func(e *event.Event) error {
		if e.Artifact != event.Browser || (e.Type != "visit" && e.Type != "download") {
			panic("malformed event")
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := Parse(context.Background(), "fuzz", bytes.NewReader(b), int64(len(b)), sink)
		if st.Records < 0 || st.Errors < 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}
