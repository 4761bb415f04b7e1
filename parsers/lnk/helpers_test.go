package lnk

import (
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

// corpusLinks lists every file under corpus/lnk, relative to it, sorted.
func corpusLinks(t testing.TB) []string {
	out := testimg.CorpusFiles(t, "lnk", nil)
	if len(out) == 0 {
		t.Fatal("no LNK files in the corpus")
	}
	return out
}
