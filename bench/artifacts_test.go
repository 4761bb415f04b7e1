package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// largestFiles returns the n largest files under dir with the extension.
func largestFiles(tb testing.TB, dir, ext string, n int) []string {
	tb.Helper()
	type sized struct {
		path string
		size int64
	}
	var all []sized
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && filepath.Ext(p) == ext {
			if fi, err := d.Info(); err == nil {
				all = append(all, sized{p, fi.Size()})
			}
		}
		return nil
	})
	sort.Slice(all, func(i, j int) bool { return all[i].size > all[j].size })
	if len(all) > n {
		all = all[:n]
	}
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = s.path
	}
	return out
}

// BenchmarkEVTXVsEvtxexport ingests the 8 largest corpus event logs (as one
// folder, into a fresh case: parse, normalise, write, index) and runs
// libevtx's evtxexport over the same files, interleaved; reports records/s
// of both and the ratio of wall times.
func BenchmarkEVTXVsEvtxexport(b *testing.B) {
	if _, err := exec.LookPath("evtxexport"); err != nil {
		b.Skip("evtxexport not installed (package libevtx-utils)")
	}
	files := largestFiles(b, filepath.Join(corpusRoot(b), "evtx"), ".evtx", 8)
	if len(files) < 8 {
		b.Fatalf("want the 8 largest corpus event logs, found %d under %s", len(files), filepath.Join(corpusRoot(b), "evtx"))
	}
	dir := b.TempDir()
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(filepath.Dir(f))+"-"+string(rune('a'+i))+".evtx"), data, 0o444)
	}
	footholdBinary(b)
	var fh, ex, recs []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, s := footholdIngest(b, dir)
		// One event per record: a run that lost or doubled events fails
		// instead of reporting.
		if s.Records == 0 || s.Events != s.Records {
			b.Fatalf("foothold ingest: %d records, %d events", s.Records, s.Events)
		}
		fh = append(fh, r.Wall.Seconds())
		recs = append(recs, float64(s.Records))
		var wall float64
		for _, f := range files {
			wall += runChild(b, false, "evtxexport", f).Wall.Seconds()
		}
		ex = append(ex, wall)
	}
	b.StopTimer()
	n := median(recs)
	b.ReportMetric(n, "records")
	b.ReportMetric(n/median(fh), "foothold-records/s")
	b.ReportMetric(n/median(ex), "evtxexport-records/s")
	b.ReportMetric(median(fh)/median(ex), "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkHivesVsRegfexport ingests the largest corpus hives as a folder
// and runs libregf's regfexport over the same files: keys/s is reported by
// the registry package's own benchmark; here the end-to-end time into a
// case against the independent reader's time.
func BenchmarkHivesVsRegfexport(b *testing.B) {
	if _, err := exec.LookPath("regfexport"); err != nil {
		b.Skip("regfexport not installed (package libregf-utils)")
	}
	dir := b.TempDir()
	var hives []string
	for _, name := range []string{"SYSTEM", "SYSTEM_WIN_10_1709", "NTUSER.DAT", "amcache.hve", "UsrClass.dat"} {
		hives = append(hives, corpusXZ(b, filepath.Join("registry", "regipy", name+".xz"), "hives", name))
	}
	for i, h := range hives {
		data, err := os.ReadFile(h)
		if err != nil {
			b.Fatal(err)
		}
		// Distinct folders so each keeps its Windows name.
		d := filepath.Join(dir, string(rune('a'+i)))
		os.MkdirAll(d, 0o755)
		name := filepath.Base(h)
		switch name {
		case "SYSTEM_WIN_10_1709":
			name = "SYSTEM"
		}
		os.WriteFile(filepath.Join(d, name), data, 0o444)
	}
	footholdBinary(b)
	var fh, ex, recs []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, s := footholdIngest(b, dir)
		fh = append(fh, r.Wall.Seconds())
		recs = append(recs, float64(s.Events))
		var wall float64
		for _, h := range hives {
			wall += runChild(b, false, "regfexport", h).Wall.Seconds()
		}
		ex = append(ex, wall)
	}
	b.StopTimer()
	b.ReportMetric(median(recs), "events")
	b.ReportMetric(median(fh), "foothold-s")
	b.ReportMetric(median(ex), "regfexport-s")
	b.ReportMetric(median(fh)/median(ex), "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCollectionIngest ingests the whole corpus as one collected
// folder (every artifact type the walk knows, 1,600+ files, the malformed
// ones included): artifacts/s, events/s and peak memory of a full-host-sized
// ingest.
func BenchmarkCollectionIngest(b *testing.B) {
	footholdBinary(b)
	var wall, rss, arts, evs []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, s := footholdIngest(b, corpusRoot(b))
		wall = append(wall, r.Wall.Seconds())
		rss = append(rss, float64(r.MaxRSS)/1024)
		arts = append(arts, float64(s.Artifacts))
		evs = append(evs, float64(s.Events))
	}
	b.StopTimer()
	b.ReportMetric(median(arts), "artifacts")
	b.ReportMetric(median(arts)/median(wall), "artifacts/s")
	b.ReportMetric(median(evs)/median(wall), "events/s")
	b.ReportMetric(median(rss), "maxrss-MiB")
	b.ReportMetric(0, "ns/op")
}
