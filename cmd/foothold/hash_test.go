package main

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// hashFile skips reading holes; its digest must still be that of every
// byte, whatever the layout of data and holes.
func TestHashFileSparse(t *testing.T) {
	const mib = 1 << 20
	layouts := map[string][]struct{ off, n int64 }{
		"empty":            nil,
		"dense":            {{0, 3*mib + 5}},
		"hole-first":       {{5 * mib, mib}},
		"hole-last":        {{0, 100}, {7 * mib, 0}},
		"holes-between":    {{0, 4096}, {3 * mib, 12345}, {9*mib + 1, 1}},
		"unaligned-tiny":   {{1, 1}},
		"data-at-odd-ends": {{mib - 1, 2}, {4*mib - 3, 3}},
	}
	for name, parts := range layouts {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "img.raw")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			end := int64(0)
			for i, part := range parts {
				b := make([]byte, part.n)
				for j := range b {
					b[j] = byte(i*31 + j*7 + 1)
				}
				if _, err := f.WriteAt(b, part.off); err != nil {
					t.Fatal(err)
				}
				end = max(end, part.off+part.n)
			}
			if name == "hole-last" {
				if err := f.Truncate(end + 2*mib + 17); err != nil {
					t.Fatal(err)
				}
			}
			f.Close()

			want := sha256.New()
			r, _ := os.Open(p)
			if _, err := io.Copy(want, r); err != nil {
				t.Fatal(err)
			}
			r.Close()

			r, _ = os.Open(p)
			defer r.Close()
			if name == "hole-first" {
				if d, err := r.Seek(0, seekData); err != nil || d != 5*mib {
					t.Logf("this filesystem reports no hole (SEEK_DATA %d, %v): only the plain read path is checked", d, err)
				}
			}
			got := sha256.New()
			if err := hashFile(context.Background(), got, r, make([]byte, 64<<10)); err != nil {
				t.Fatal(err)
			}
			if string(got.Sum(nil)) != string(want.Sum(nil)) {
				t.Fatalf("digest differs from a plain read")
			}
		})
	}
}
