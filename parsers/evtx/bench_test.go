package evtx

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// largestFiles returns the n largest corpus .evtx files.
func largestFiles(b testing.TB, n int) []string {
	root := testimg.Corpus(b)
	files := evtxFiles(b)
	sort.Slice(files, func(i, j int) bool {
		fi, _ := os.Stat(filepath.Join(root, files[i]))
		fj, _ := os.Stat(filepath.Join(root, files[j]))
		return fi.Size() > fj.Size()
	})
	if len(files) > n {
		files = files[:n]
	}
	for i := range files {
		files[i] = filepath.Join(root, files[i])
	}
	return files
}

// BenchmarkParse parses the 8 largest corpus files into a discarding sink
// and reports records/s; evtxexport runs on the same files in the same
// benchmark (once, outside the timer) for the ratio.
func BenchmarkParse(b *testing.B) {
	files := largestFiles(b, 8)
	data := make([][]byte, len(files))
	for i, f := range files {
		var err error
		if data[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
	}
	discard := event.SinkFunc(func(*event.Event) error { return nil })
	var records int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		records = 0
		for _, d := range data {
			st, _ := Parse(context.Background(), bytes.NewReader(d), int64(len(d)), discard)
			records += st.Records
		}
	}
	b.StopTimer()
	perOp := b.Elapsed().Seconds() / float64(b.N)
	ours := float64(records) / perOp
	b.ReportMetric(ours, "records/s")
	if _, err := exec.LookPath("evtxexport"); err == nil {
		start := time.Now()
		for _, f := range files {
			if err := exec.Command("evtxexport", f).Run(); err != nil {
				b.Logf("evtxexport %s: %v", f, err)
			}
		}
		theirs := float64(records) / time.Since(start).Seconds()
		b.ReportMetric(theirs, "evtxexport-records/s")
		b.ReportMetric(ours/theirs, "x-evtxexport")
	}
}
