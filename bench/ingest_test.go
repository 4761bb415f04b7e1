package bench

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/ntfs"
	"github.com/foothold/foothold/timeline"
)

// parseFunc is a standalone-artifact parser as walk calls it.
type parseFunc func(ctx context.Context, f *os.File, size int64, sink event.Sink) (ntfs.Stats, error)

func parseMFT(ctx context.Context, f *os.File, size int64, sink event.Sink) (ntfs.Stats, error) {
	return ntfs.ParseMFTFile(ctx, f, size, sink)
}

// A standalone $J with no $MFT beside it: names only, as walk does then.
func parseUSN(ctx context.Context, f *os.File, size int64, sink event.Sink) (ntfs.Stats, error) {
	return ntfs.ParseUSNFile(ctx, f, size, nil, sink)
}

func openArtifact(b *testing.B, path string) (*os.File, int64) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	return f, fi.Size()
}

// benchParse measures the parser alone: events go to a sink that drops
// them (after touching the fields, as any sink must).
func benchParse(b *testing.B, path string, parse parseFunc) {
	f, size := openArtifact(b, path)
	var st ntfs.Stats
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		var nf int
		st, err = parse(context.Background(), f, size, event.SinkFunc(func(e *event.Event) error {
			nf += len(e.Fields)
			return nil
		}))
		if err != nil {
			b.Fatalf("%s: %v", path, err)
		}
	}
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(st.Records)/per, "records/s")
	b.ReportMetric(float64(st.Events)/per, "events/s")
	b.ReportMetric(float64(st.Records), "records")
	b.ReportMetric(float64(st.Events), "events")
}

// benchIngest measures parser + case writer in one process, as walk.File
// drives them: BeginIngest, one Source, Done, Finish. "load" is until the
// parser returns (the writer is then at most its channel, ~16k rows,
// behind); "finish" is Finish: the drain, the indexes and the FTS build.
func benchIngest(b *testing.B, path, artifact, parser string, parse parseFunc) {
	// The collector paced as `foothold ingest` paces it (cmd/foothold,
	// ingestGCPercent).
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	f, size := openArtifact(b, path)
	var st ntfs.Stats
	var loads, finishes []float64
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c, err := timeline.Open(filepath.Join(b.TempDir(), "case.db"))
		if err != nil {
			b.Fatal(err)
		}
		ev := &timeline.Evidence{Path: path, Format: artifact, Size: size, SHA256: "bench-" + strconv.Itoa(i),
			Files: []string{path}, Host: "bench", Origin: "cli"}
		b.StartTimer()
		t0 := time.Now()
		in, err := c.BeginIngest(context.Background(), ev)
		if err != nil {
			b.Fatal(err)
		}
		src := in.BeginSource(0, path, parser, artifact)
		st, err = parse(context.Background(), f, size, src)
		src.Done(st.Records, st.Errors, err)
		if err != nil {
			b.Fatalf("%s: %v", path, err)
		}
		t1 := time.Now()
		if err := in.Finish(nil); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		b.StopTimer()
		loads = append(loads, t1.Sub(t0).Seconds())
		finishes = append(finishes, t2.Sub(t1).Seconds())
		var n int64
		if err := c.DB.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n != st.Events {
			b.Fatalf("case holds %d events, parser emitted %d (%v)", n, st.Events, err)
		}
		c.Close()
		b.StartTimer()
	}
	load, fin := median(loads), median(finishes)
	b.ReportMetric(float64(st.Records)/(load+fin), "records/s")
	b.ReportMetric(float64(st.Events)/(load+fin), "events/s")
	b.ReportMetric(load, "load-s")
	b.ReportMetric(fin, "finish-s")
	b.ReportMetric(float64(st.Events), "events")
	b.ReportMetric(0, "ns/op") // the per-run medians above are the numbers
}

// BenchmarkParseMFT: the corpus 51 MiB $MFT (tdungan), parser only.
func BenchmarkParseMFT(b *testing.B) { benchParse(b, mftPath(b), parseMFT) }

// BenchmarkParseUSN: the corpus 38 MiB $J (Win10-APTSimulatorVM), parser only.
func BenchmarkParseUSN(b *testing.B) { benchParse(b, usnPath(b), parseUSN) }

// BenchmarkIngestMFT: the same $MFT through the case writer.
func BenchmarkIngestMFT(b *testing.B) {
	benchIngest(b, mftPath(b), event.MFT, "ntfs.mft", parseMFT)
}

// BenchmarkIngestUSN: the same $J through the case writer.
func BenchmarkIngestUSN(b *testing.B) {
	benchIngest(b, usnPath(b), event.USN, "ntfs.usn", parseUSN)
}

// benchCLI runs `foothold ingest` as a child on a file: wall time, the
// CLI's own counts, and the child's peak RSS (target on the $MFT: < 300 MB).
func benchCLI(b *testing.B, path string) {
	footholdBinary(b)
	var walls, rss []float64
	var s ingestSummary
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var r childRun
		r, s = footholdIngest(b, path)
		walls = append(walls, r.Wall.Seconds())
		rss = append(rss, float64(r.MaxRSS))
	}
	w := median(walls)
	b.ReportMetric(w, "wall-s")
	b.ReportMetric(float64(s.Records)/w, "records/s")
	b.ReportMetric(float64(s.Events)/w, "events/s")
	b.ReportMetric(float64(s.Events), "events")
	b.ReportMetric(slicesMax(rss)/1024, "maxrss-MiB")
	b.ReportMetric(0, "ns/op")
}

func slicesMax(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// BenchmarkCLIMFT: `foothold ingest` of the corpus $MFT as a process.
func BenchmarkCLIMFT(b *testing.B) { benchCLI(b, mftPath(b)) }

// BenchmarkCLIUSN: `foothold ingest` of the corpus $J as a process.
func BenchmarkCLIUSN(b *testing.B) { benchCLI(b, usnPath(b)) }
