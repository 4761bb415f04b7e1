package lnk

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// corpusDir is ../shared/corpus next to the repository.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root not found")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(c); err != nil {
		t.Fatalf("corpus not found at %s: %v", c, err)
	}
	return c
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
