package prefetch

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for i, p := range corpusFiles(f) {
		if i%8 != 0 && !isBad(p) { // a sample of the corpus keeps seeding quick
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(context.Background(), "fuzz.pf", bytes.NewReader(data), int64(len(data)), discard)
		if err != nil && strings.Contains(err.Error(), "decoder panic") {
			t.Fatal(err)
		}
	})
}
