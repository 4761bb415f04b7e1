package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/foothold/foothold/bench/synthcase"
	"github.com/foothold/foothold/forge/scenario"
	"github.com/foothold/foothold/timeline"
	"github.com/foothold/foothold/timeline/movement"
)

// movementEvents is the size of the benchmark case (issue 6: at least ten
// million events on 100 hosts).
const movementEvents = 10_000_000

// movementCaseInfo is what the cache keeps beside the case: how it was
// built and its truth, so later runs check against it without the forge.
type movementCaseInfo struct {
	Version    int             `json:"version"`
	Hosts      int             `json:"hosts"`
	Events     int64           `json:"events"`
	EVTXEvents int64           `json:"evtx_events"`
	Seconds    float64         `json:"build_seconds"`
	Truth      *scenario.Truth `json:"truth"`
}

// movementCase builds the synthetic case once per generator version into
// the cache (minutes) and returns its path and description.
func movementCase(tb testing.TB) (string, movementCaseInfo) {
	tb.Helper()
	dir := cacheDir(tb)
	base := filepath.Join(dir, fmt.Sprintf("synthcase-v%d-%d", synthcase.Version, movementEvents))
	db, meta := base+".db", base+".json"
	var info movementCaseInfo
	if b, err := os.ReadFile(meta); err == nil && json.Unmarshal(b, &info) == nil && info.Truth != nil {
		if _, err := os.Stat(db); err == nil {
			return db, info
		}
	}
	os.Remove(db + ".tmp")
	tb.Logf("building the movement case (%d events) into %s; this takes minutes", movementEvents, db)
	built, err := synthcase.Build(context.Background(), db+".tmp", synthcase.Options{Events: movementEvents, Progress: os.Stderr})
	if err != nil {
		tb.Fatal(err)
	}
	info = movementCaseInfo{Version: built.Version, Hosts: built.Hosts, Events: built.Events, EVTXEvents: built.EVTXEvents,
		Seconds: built.Seconds, Truth: built.Truth}
	if err := os.Rename(db+".tmp", db); err != nil {
		tb.Fatal(err)
	}
	b, _ := json.MarshalIndent(info, "", " ")
	if err := os.WriteFile(meta, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return db, info
}

// movementChildEnv names the case a child process analyses (see TestMain).
const movementChildEnv = "FOOTHOLD_BENCH_MOVEMENT_CASE"

// movementTimes is one child run's phases, in seconds.
type movementTimes struct {
	Analyze   float64 `json:"analyze"` // load + edges + clocks
	Clocks    float64 `json:"clocks"`  // EstimateClocks again on its own
	AutoSeed  float64 `json:"auto_seed"`
	Trace     float64 `json:"trace"`
	Save      float64 `json:"save"` // Save + SaveTrace
	Total     float64 `json:"total"`
	Arrivals  float64 `json:"arrivals"` // not in Total: the per-host summary of the text output
	Edges     int     `json:"edges"`
	Loaded    int64   `json:"loaded"`
	Reached   int     `json:"reached"`
	PeakRSS   int64   `json:"peak_rss_kib"` // VmHWM: this process only (ru_maxrss can carry the parent's across exec)
	VerifyErr string  `json:"verify_error"`
}

// movementChild runs the analysis the way `foothold trace --from auto`
// does and prints its times as JSON; it runs in its own process so that
// peak RSS is the analysis' alone.
func movementChild(path, truthPath string) error {
	ctx := context.Background()
	var truth scenario.Truth
	b, err := os.ReadFile(truthPath)
	if err != nil {
		return err
	}
	var info movementCaseInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return err
	}
	truth = *info.Truth
	c, err := timeline.OpenExisting(path)
	if err != nil {
		return err
	}
	defer c.Close()
	if p := os.Getenv(movementChildEnv + "_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var t movementTimes
	t0 := time.Now()
	res, err := movement.Analyze(ctx, c)
	if err != nil {
		return err
	}
	t1 := time.Now()
	res.Clocks = movement.EstimateClocks(res)
	t2 := time.Now()
	seed, err := movement.AutoSeedFrom(ctx, c, res)
	if err != nil {
		return err
	}
	t3 := time.Now()
	tr := movement.TraceFrom(res, *seed)
	t4 := time.Now()
	if err := movement.Save(ctx, c, res); err != nil {
		return err
	}
	if err := movement.SaveTrace(ctx, c, "auto", tr); err != nil {
		return err
	}
	t5 := time.Now()
	if _, err := movement.Arrivals(ctx, c, res, tr); err != nil {
		return err
	}
	t6 := time.Now()
	t.Analyze, t.Clocks, t.AutoSeed = t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), t3.Sub(t2).Seconds()
	t.Trace, t.Save, t.Arrivals = t4.Sub(t3).Seconds(), t5.Sub(t4).Seconds(), t6.Sub(t5).Seconds()
	t.Total = t5.Sub(t0).Seconds()
	t.Edges, t.Reached, t.PeakRSS = len(res.Edges), len(tr.Order), vmHWM("/proc/self/status")
	if t.Loaded, err = movement.CountLoaded(ctx, c); err != nil {
		return err
	}
	if err := synthcase.Verify(&truth, res, seed, tr); err != nil {
		t.VerifyErr = err.Error()
	}
	// Keep the cached case from growing a trace per run.
	if _, err := c.DB.ExecContext(ctx, `DELETE FROM traces`); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(t)
}

func TestMain(m *testing.M) {
	if p := os.Getenv(movementChildEnv); p != "" {
		if err := movementChild(p, os.Getenv(movementChildEnv+"_INFO")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkMovement times edges and trace on the 100-host, ten-million
// event case (issue 6 asks for under 30 s): Analyze (load, identities,
// edges, clock offsets), AutoSeed, TraceFrom, Save and SaveTrace, in a
// child process (this test binary again) so peak RSS is the analysis'
// own. Every run checks the result against the case's truth: all attack
// edges, the seed, and the hosts reached in order.
func BenchmarkMovement(b *testing.B) {
	db, info := movementCase(b)
	var total, analyze, seed, trace, save, arrivals, rss []float64
	var last movementTimes
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		self, err := os.Executable()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		b.Setenv(movementChildEnv, db)
		b.Setenv(movementChildEnv+"_INFO", filepath.Join(filepath.Dir(db), filepath.Base(db[:len(db)-3])+".json"))
		r := runChild(b, true, self, "-test.run=^$")
		if err := json.Unmarshal(r.Stdout, &last); err != nil {
			b.Fatalf("child output %q: %v", r.Stdout, err)
		}
		if last.VerifyErr != "" {
			b.Fatalf("movement analysis of the synthetic case is wrong:\n%s", last.VerifyErr)
		}
		total, analyze, seed = append(total, last.Total), append(analyze, last.Analyze), append(seed, last.AutoSeed)
		trace, save, arrivals = append(trace, last.Trace), append(save, last.Save), append(arrivals, last.Arrivals)
		rss = append(rss, float64(last.PeakRSS)/1024)
	}
	b.ReportMetric(float64(info.Events), "events")
	b.ReportMetric(float64(info.Hosts), "hosts")
	b.ReportMetric(float64(last.Loaded), "events-loaded")
	b.ReportMetric(float64(last.Edges), "edges")
	b.ReportMetric(float64(last.Reached), "hosts-reached")
	b.ReportMetric(median(total), "total-s")
	b.ReportMetric(median(analyze), "analyze-s")
	b.ReportMetric(median(seed), "autoseed-s")
	b.ReportMetric(median(trace), "trace-s")
	b.ReportMetric(median(save), "save-s")
	b.ReportMetric(median(arrivals), "arrivals-s")
	b.ReportMetric(median(rss), "peak-rss-MiB")
	b.ReportMetric(info.Seconds, "case-build-s")
	b.ReportMetric(0, "ns/op")
}
