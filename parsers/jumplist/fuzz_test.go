package jumplist

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// FuzzParse feeds mutated corpus jump lists (automatic and custom) to
// Parse: it must not panic or hang.
func FuzzParse(f *testing.F) {
	root := filepath.Join(testimg.Corpus(f), "jumplist")
	for _, rel := range []string{
		"EricZimmerman-JumpList/Win7/1b4dd67f29cb1962.automaticDestinations-ms",
		"EricZimmerman-JumpList/Win10/7e4dca80246863e3.automaticDestinations-ms",
		"plaso/9d1f905ce5044aee.automaticDestinations-ms",
		"plaso/368d807282ccde9d.customDestinations-ms",
		"plaso/c98dce577f884ef8.customDestinations-ms",
		"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/1bc392b8e104a00e.automaticDestinations-ms",
	} {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	sink := event.SinkFunc(func(e *event.Event) error {
		if e.Artifact != event.JumpList {
			panic("malformed event")
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := Parse(context.Background(), "0123456789abcdef.automaticDestinations-ms", bytes.NewReader(b), int64(len(b)), sink)
		if st.Records < 0 || st.Errors < 0 {
			t.Fatalf("stats %+v", st)
		}
		_, _ = ParseDestList(b)
	})
}
