package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/disk"
	"github.com/foothold/foothold/parsers/walk"
	"github.com/foothold/foothold/timeline"
)

// BenchmarkImageVsFLS ingests the large NTFS image with the foothold
// binary and lists it with `fls -r -m C: -o SECTOR`, interleaved, one of
// each per iteration (the order alternates so neither always gets the
// warmer page cache). Medians over b.N runs; use -benchtime=Nx.
func BenchmarkImageVsFLS(b *testing.B) {
	if _, err := exec.LookPath("fls"); err != nil {
		b.Skip("fls not installed (package sleuthkit)")
	}
	im := largeImage(b)
	footholdBinary(b)
	off := strconv.FormatInt(im.SectorOffset, 10)
	var fh, fls, fhRSS, flsRSS, evs, recs, fhCPU, flsCPU []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runFH := func() {
			r, s := footholdIngest(b, im.Path)
			fh = append(fh, r.Wall.Seconds())
			fhRSS = append(fhRSS, float64(r.MaxRSS))
			fhCPU = append(fhCPU, (r.User + r.Sys).Seconds())
			evs = append(evs, float64(s.Events))
			recs = append(recs, float64(s.Records))
		}
		runFLS := func() {
			r := runChild(b, false, "fls", "-r", "-m", "C:", "-o", off, im.Path)
			fls = append(fls, r.Wall.Seconds())
			flsRSS = append(flsRSS, float64(r.MaxRSS))
			flsCPU = append(flsCPU, (r.User + r.Sys).Seconds())
		}
		if i%2 == 0 {
			runFH()
			runFLS()
		} else {
			runFLS()
			runFH()
		}
	}
	b.StopTimer()
	mfh, mfls := median(fh), median(fls)
	b.ReportMetric(mfh, "foothold-s")
	b.ReportMetric(mfls, "fls-s")
	b.ReportMetric(mfh/mfls, "ratio")
	b.ReportMetric(median(fhCPU), "foothold-cpu-s")
	b.ReportMetric(median(flsCPU), "fls-cpu-s")
	b.ReportMetric(median(evs)/mfh, "events/s")
	b.ReportMetric(median(recs)/mfh, "records/s")
	b.ReportMetric(median(evs), "events")
	b.ReportMetric(median(recs), "records")
	b.ReportMetric(median(fhRSS)/1024, "foothold-maxrss-MiB")
	b.ReportMetric(median(flsRSS)/1024, "fls-maxrss-MiB")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIngestImage ingests the large image in this process (disk.Open,
// walk.Walk, the case writer; no evidence hashing, no process start), so
// `-cpuprofile` shows where an image ingest spends its time.
func BenchmarkIngestImage(b *testing.B) {
	im := largeImage(b)
	var loads, finishes []float64
	var events int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, f, n := ingestImage(b, im.Path, i)
		loads, finishes = append(loads, l), append(finishes, f)
		events = n
	}
	l, f := median(loads), median(finishes)
	b.ReportMetric(l, "load-s")
	b.ReportMetric(f, "finish-s")
	b.ReportMetric(float64(events)/(l+f), "events/s")
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(0, "ns/op")
}

func ingestImage(b *testing.B, path string, i int) (load, finish float64, events int64) {
	img, err := disk.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	c, err := timeline.Open(filepath.Join(b.TempDir(), "case.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	t0 := time.Now()
	in, err := c.BeginIngest(context.Background(), &timeline.Evidence{Path: path, Format: img.Format(),
		Size: img.Size(), SHA256: "bench-" + strconv.Itoa(i), Host: "bench", Origin: "cli"})
	if err != nil {
		b.Fatal(err)
	}
	prog := &walk.Progress{}
	var warns []string
	werr := walk.Walk(context.Background(), img, walk.Options{Case: in, Evidence: path, Progress: prog,
		Warn: func(m string) { warns = append(warns, m) }})
	t1 := time.Now()
	if err := in.Finish(werr); err != nil || werr != nil {
		b.Fatalf("ingest %s: %v %v (warnings %q)", path, werr, err, warns)
	}
	return t1.Sub(t0).Seconds(), time.Since(t1).Seconds(), prog.Events.Load()
}
