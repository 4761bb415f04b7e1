package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cacheDir is where generated and decompressed inputs live between runs:
// outside the repository, never beside evidence.
func cacheDir(tb testing.TB) string {
	tb.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		tb.Fatalf("no user cache dir: %v", err)
	}
	dir := filepath.Join(base, "foothold-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// corpusRoot is ../shared/corpus next to the repository (tests run in bench/).
func corpusRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(wd, "..", "..", "shared", "corpus")
}

// corpusXZ decompresses a corpus .xz file once into the cache, under name
// (the artifact's real file name, e.g. "$MFT", so ingest classifies it as
// it would a collected file).
func corpusXZ(tb testing.TB, rel, sub, name string) string {
	tb.Helper()
	src := filepath.Join(corpusRoot(tb), rel)
	if _, err := os.Stat(src); err != nil {
		tb.Fatalf("corpus file %s: %v", src, err)
	}
	dst := filepath.Join(cacheDir(tb), sub, name)
	if fi, err := os.Stat(dst); err == nil && fi.Size() > 0 {
		return dst
	}
	if _, err := exec.LookPath("xz"); err != nil {
		tb.Skip("xz not installed (needed to unpack the corpus $MFT/$J)")
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(dst + ".tmp")
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("xz", "-dc", src)
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	f.Close()
	if err != nil {
		tb.Fatalf("xz -dc %s: %v: %s", src, err, stderr.String())
	}
	if err := os.Rename(dst+".tmp", dst); err != nil {
		tb.Fatal(err)
	}
	return dst
}

func mftPath(tb testing.TB) string {
	return corpusXZ(tb, "ntfs/mft/tdungan/$MFT.xz", "tdungan", "$MFT")
}

func usnPath(tb testing.TB) string {
	return corpusXZ(tb, "ntfs/usnjrnl/Win10-APTSimulatorVM/$J.xz", "aptsim", "$J")
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// footholdBinary builds cmd/foothold once per test process, so child runs
// measure the shipped program, start-up included. FOOTHOLD_BENCH_BIN names
// an already built binary instead (a release, or a branch to compare).
func footholdBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("FOOTHOLD_BENCH_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "foothold-bench-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "foothold")
		cmd := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", binPath, "./cmd/foothold")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/foothold: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// childRun is one measured child process.
type childRun struct {
	Wall   time.Duration
	User   time.Duration
	Sys    time.Duration
	MaxRSS int64 // KiB (Linux ru_maxrss)
	Stdout []byte
}

// childTimeout bounds one child run; the largest input here takes seconds.
const childTimeout = 5 * time.Minute

// runChild runs a command to completion and returns its wall time and
// resource usage. stdout is kept only when keep is set; otherwise it goes
// to /dev/null, as a user redirecting a listing would.
func runChild(tb testing.TB, keep bool, name string, args ...string) childRun {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, stderr bytes.Buffer
	cmd.Stderr = &stderr
	if keep {
		cmd.Stdout = &out
	} else {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			tb.Fatal(err)
		}
		defer null.Close()
		cmd.Stdout = null
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	maxRSS := peak()
	if ctx.Err() != nil {
		tb.Fatalf("%s %v: no result after %v (hung?)\n%s", name, args, childTimeout, stderr.String())
	}
	if err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return childRun{
		Wall:   wall,
		User:   cmd.ProcessState.UserTime(),
		Sys:    cmd.ProcessState.SystemTime(),
		MaxRSS: maxRSS,
		Stdout: out.Bytes(),
	}
}

// watchPeakRSS samples a child's VmHWM (peak resident set of its own
// address space) every millisecond until the returned function is called
// after Wait. Not ru_maxrss: Go starts children with vfork semantics, and
// Linux carries the parent's resident size into the child's ru_maxrss at
// exec, so after the in-process benchmarks every child reported the test
// binary's ~236 MiB. A peak reached in the child's last millisecond can be
// missed; VmHWM only grows, so the rest is exact.
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	status := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if kib := vmHWM(status); kib > peak.Load() {
				peak.Store(kib)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// vmHWM reads the VmHWM line (KiB) of a /proc status file: the peak
// resident set of that process's own address space; 0 once it has exited.
func vmHWM(status string) int64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// ingestSummary is the part of `foothold ingest --json` the benchmarks read.
type ingestSummary struct {
	Evidence  string  `json:"evidence"`
	Status    string  `json:"status"`
	Artifacts int64   `json:"artifacts"`
	Records   int64   `json:"records"`
	Events    int64   `json:"events"`
	Seconds   float64 `json:"seconds"`
	EventsSec float64 `json:"events_per_second"`
	Error     string  `json:"error"`
}

// footholdIngest runs `foothold ingest` on evidence into a fresh case.
func footholdIngest(tb testing.TB, evidence string) (childRun, ingestSummary) {
	tb.Helper()
	caseFile := filepath.Join(tb.TempDir(), "case.db")
	r := runChild(tb, true, footholdBinary(tb), "ingest", "-c", caseFile, "--json", "--quiet", evidence)
	var res []ingestSummary
	if err := json.Unmarshal(r.Stdout, &res); err != nil || len(res) != 1 {
		tb.Fatalf("foothold ingest --json: %v: %s", err, r.Stdout)
	}
	if res[0].Status != "complete" {
		tb.Fatalf("foothold ingest %s: status %s: %s", evidence, res[0].Status, res[0].Error)
	}
	return r, res[0]
}

func median(d []float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
