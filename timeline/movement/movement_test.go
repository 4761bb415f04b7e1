package movement

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

type truthFile struct {
	Hosts []struct {
		Name        string `json:"name"`
		ClockOffset int64  `json:"clock_offset_seconds"`
		Collected   bool   `json:"collected"`
	} `json:"hosts"`
	Edges []struct {
		ID, Source, Destination, Technique, Account, Authentication string
		First                                                       time.Time
	} `json:"edges"`
}

func fileTimeOf(t time.Time) event.FileTime {
	return event.FileTime(uint64(t.Unix()+11644473600)*10_000_000 + uint64(t.Nanosecond()/100))
}

var (
	footholdBin   string
	buildOnce     sync.Once
	buildErr      error
	buildDir      string
	buildDirError error
)

func TestMain(m *testing.M) {
	buildDir, buildDirError = os.MkdirTemp("", "movement-test-")
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// foothold builds the CLI once, for the tests that ingest through it (the
// synthetic-case tests do not need it).
func foothold(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDirError != nil {
			buildErr = buildDirError
			return
		}
		footholdBin = filepath.Join(buildDir, "foothold")
		out, err := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", footholdBin, "../../cmd/foothold").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build foothold: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return footholdBin
}

func run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(foothold(t), args...)
	// The demo unpacks images into a temporary folder: keep it in ours.
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("foothold %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func openCase(t *testing.T, db string) *timeline.Case {
	t.Helper()
	c, err := timeline.OpenExisting(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// demoCase ingests testdata/cases/3cx through the CLI's demo command.
func demoCase(t *testing.T) *timeline.Case {
	db := filepath.Join(t.TempDir(), "demo.db")
	run(t, "demo", "-c", db, "--demo", "../../testdata/cases/3cx")
	return openCase(t, db)
}

// checkTruth asserts every truth edge is found with its source,
// destination, technique, account and authentication, its first time
// within 2 s, and that no edge beyond the truth's exists.
//
// Clock correction applied: an edge's First is the raw time on the
// destination's clock (the first destination event of the connection), and
// a host with clock_offset_seconds = k records true time + k, so the
// expected raw time is truth.first + k(destination).
func checkTruth(t *testing.T, res *Result, truthPath string) {
	t.Helper()
	b, err := os.ReadFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	var truth truthFile
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	offset := map[string]int64{}
	for _, h := range truth.Hosts {
		offset[h.Name] = h.ClockOffset
	}
	checkClocks(t, res, truth, offset)
	matched := map[*Edge]bool{}
	for _, te := range truth.Edges {
		var found *Edge
		for _, e := range res.Edges {
			src := e.Source
			if h := res.Identity.Hosts[src]; te.Source == "unknown" && h != nil && h.Unknown && !h.Collected {
				src = "unknown"
			}
			if src == te.Source && e.Destination == te.Destination && e.Technique == te.Technique &&
				strings.EqualFold(e.Account, te.Account) && e.Authentication == te.Authentication {
				found = e
			}
		}
		if found == nil {
			t.Errorf("%s %s -> %s %s %s %s: not found", te.ID, te.Source, te.Destination, te.Technique, te.Account, te.Authentication)
			continue
		}
		matched[found] = true
		want := event.FileTime(int64(fileTimeOf(te.First)) + offset[te.Destination]*10_000_000)
		if d := absDiff(found.First, want); d > 2*second {
			t.Errorf("%s: first %s, want %s (±2 s after the destination's %d s offset)", te.ID, found.First, want, offset[te.Destination])
		}
		if te.Source == "unknown" && !res.Identity.Hosts[found.Source].Unknown {
			t.Errorf("%s: source %s should be an unknown node", te.ID, found.Source)
		}
	}
	// No extras: none are justified, since every edge found is the truth's.
	for _, e := range res.Edges {
		if !matched[e] {
			t.Errorf("extra edge %s -> %s %s %s %s (%d)", e.Source, e.Destination, e.Technique, e.Account, e.Authentication, e.Count)
		}
	}
}

func TestDemoEdgesMatchTruth(t *testing.T) {
	c := demoCase(t)
	res, err := Analyze(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	checkTruth(t, res, "../../testdata/cases/3cx/truth.json")
	// Identity: 10.10.20.57 changes holder with the lease.
	for _, c := range []struct {
		at   string
		want string
	}{{"2023-03-06T12:00:00Z", "WS-TRADER01"}, {"2023-03-07T07:00:00Z", "WS-TRADER01"}, {"2023-03-08T13:00:00Z", "WS-DEV02"}, {"2023-03-14T00:00:00Z", "WS-DEV02"}} {
		at, _ := time.Parse(time.RFC3339, c.at)
		if h, conf := res.Identity.Resolve("10.10.20.57", fileTimeOf(at)); h != c.want {
			t.Errorf("Resolve(10.10.20.57, %s) = %s (%s), want %s", c.at, h, conf, c.want)
		}
	}
	// Storage round trip.
	if err := Save(context.Background(), c, res); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.DB.QueryRow(`SELECT COUNT(*) FROM edges`).Scan(&n); err != nil || n != len(res.Edges) {
		t.Errorf("stored %d edges (%v), want %d", n, err, len(res.Edges))
	}
}

func TestLabEdgesMatchTruth(t *testing.T) {
	if err := disk.Available(); err != nil {
		t.Skipf("image tools not installed or not permitted (root, /dev/fuse): %v", err)
	}
	dir := t.TempDir()
	run(t, "forge", "../../testdata/cases/lab/scenario.yaml", "-o", dir)
	images, err := filepath.Glob(filepath.Join(dir, "images", "*", "*"))
	if err != nil || len(images) == 0 {
		t.Fatalf("no forged images in %s (%v)", dir, err)
	}
	db := filepath.Join(t.TempDir(), "lab.db")
	run(t, append([]string{"ingest", "-c", db}, images...)...)
	lab := openCase(t, db)
	res, err := Analyze(context.Background(), lab)
	if err != nil {
		t.Fatal(err)
	}
	checkTruth(t, res, filepath.Join(dir, "truth.json"))
	checkTrace(t, lab, res, filepath.Join(dir, "truth.json"))
	seed, err := AutoSeed(context.Background(), lab)
	if err != nil {
		t.Fatal(err)
	}
	checkArrivals(t, lab, res, TraceFrom(res, *seed), filepath.Join(dir, "truth.json"))
}

// checkClocks: every collected host's estimated offset, relative to the
// estimate's reference host, is within 2 s of the truth's (also taken
// relative to that host), with at least one pair behind it.
func checkClocks(t *testing.T, res *Result, truth truthFile, offset map[string]int64) {
	t.Helper()
	est := EstimateClocks(res)
	got := map[string]Offset{}
	for _, o := range est {
		got[o.Host] = o
	}
	if len(est) == 0 {
		t.Fatal("no clock offsets estimated")
	}
	ref := est[0].Reference
	for _, h := range truth.Hosts {
		if !h.Collected {
			continue
		}
		o, ok := got[h.Name]
		want := float64(offset[h.Name] - offset[ref])
		if !ok || o.Pairs == 0 {
			t.Errorf("%s: no clock estimate", h.Name)
			continue
		}
		if d := o.Seconds - want; d > 2 || d < -2 {
			t.Errorf("%s: clock offset %.3f s (%d pairs, spread %.3f), truth %.0f s relative to %s", h.Name, o.Seconds, o.Pairs, o.Spread, want, ref)
		}
	}
}

// The trace from `auto` on the demo case: the installer's execution is
// the seed; the hosts fall in the truth's order at the truth's times
// (within 2 s after clock correction); the path holds E0-E7b and none of
// the benign edges.
func TestTraceDemo(t *testing.T) {
	c := demoCase(t)
	res, err := Analyze(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	checkTrace(t, c, res, "../../testdata/cases/3cx/truth.json")
	// Rule 1 chose the installer; rule 2a still names the unsigned
	// TpmVscMgrSvr.exe dropped beside System32's, in the explanation.
	seed, err := AutoSeed(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if seed.Rule != "1" || !strings.Contains(seed.Why, `\ProgramData\TPM\TpmVscMgrSvr.exe on WS-TRADER01 (rule 2a`) {
		t.Errorf("seed rule %q, why %q: want rule 1 and TpmVscMgrSvr.exe flagged by rule 2a", seed.Rule, seed.Why)
	}
}

// checkTrace: `auto` picks the truth's seed, compromises follow the
// truth's order and times (±2 s on the reference clock), and exactly the
// attack edges are on the path.
func checkTrace(t *testing.T, c *timeline.Case, res *Result, truthPath string) {
	t.Helper()
	seed, err := AutoSeed(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(truthPath)
	var truth struct {
		Compromise []struct {
			Host string    `json:"host"`
			Time time.Time `json:"time"`
		} `json:"compromise"`
		Seed struct {
			Host, Path string
		} `json:"seed_event"`
		Edges []struct {
			ID, Source, Destination, Technique string
			Attack                             bool `json:"attack"`
		} `json:"edges"`
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	if seed.Host != truth.Seed.Host || !strings.EqualFold(event.NormalizePath(seed.Path), event.NormalizePath(truth.Seed.Path)) {
		t.Fatalf("seed %+v, truth %+v", seed, truth.Seed)
	}
	tr := TraceFrom(res, *seed)
	if len(truth.Compromise) == 0 {
		t.Fatal("truth has no compromise times")
	}
	ref := res.Clocks[0].Reference
	var refOff int64
	var tf truthFile
	json.Unmarshal(b, &tf)
	for _, h := range tf.Hosts {
		if h.Name == ref {
			refOff = h.ClockOffset
		}
	}
	var order []string
	for _, cmp := range truth.Compromise {
		order = append(order, cmp.Host)
		got, ok := tr.Compromised[cmp.Host]
		if !ok {
			t.Errorf("%s not reached", cmp.Host)
			continue
		}
		// Corrected times are on the reference host's clock.
		want := fileTimeOf(cmp.Time.Add(time.Duration(refOff) * time.Second))
		if d := int64(got) - int64(want); d > 2e7 || d < -2e7 {
			t.Errorf("%s compromised %s, truth %s (±2 s)", cmp.Host, got, want)
		}
	}
	if strings.Join(tr.Order, ",") != strings.Join(order, ",") {
		t.Errorf("order %v, truth %v", tr.Order, order)
	}
	onPath := map[string]bool{}
	for _, h := range tr.Hops {
		src := h.Source
		if hh := res.Identity.Hosts[src]; hh != nil && hh.Unknown {
			src = "unknown"
		}
		onPath[src+">"+h.Destination+">"+h.Technique] = true
	}
	for _, e := range truth.Edges {
		k := e.Source + ">" + e.Destination + ">" + e.Technique
		if e.Attack != onPath[k] {
			t.Errorf("%s %s: attack %v, on path %v", e.ID, k, e.Attack, onPath[k])
		}
	}
	if dot := tr.DOT(); !strings.Contains(dot, "digraph") || !strings.Contains(dot, seed.Host) {
		t.Errorf("dot output:\n%s", dot)
	}
	if _, err := Arrivals(context.Background(), c, res, tr); err != nil {
		t.Error(err)
	}
}
