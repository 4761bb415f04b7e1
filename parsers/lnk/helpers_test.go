package lnk

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

// corpusDir is ../shared/corpus beside the repository.
func corpusDir(t testing.TB) string {
	t.Helper()
	return testimg.Corpus(t)
}

// corpusLinks lists every file under corpus/lnk, relative to it, sorted.
func corpusLinks(t testing.TB) []string {
	root := filepath.Join(corpusDir(t), "lnk")
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatal("no LNK files in the corpus")
	}
	return out
}
