package synthcase

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/foothold/foothold/timeline"
	"github.com/foothold/foothold/timeline/movement"
)

// TestSmallCase builds the estate with little background and filler and
// checks the analysis finds the story: the generator and the movement
// package agree at a size a unit test can afford (the benchmark does the
// same at ten million events).
func TestSmallCase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "small.db")
	info, err := Build(ctx, path, Options{Events: 200_000, Density: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if info.Events < 200_000 || info.Hosts != Workstations+Servers+1 {
		t.Fatalf("built %d events on %d hosts", info.Events, info.Hosts)
	}
	if info.EVTXEvents == 0 || info.EVTXEvents >= info.Events {
		t.Fatalf("%d evtx events of %d", info.EVTXEvents, info.Events)
	}
	want := slices.Clone(AttackOrder)
	var got []string
	for _, c := range info.Truth.Compromise {
		got = append(got, c.Host)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("truth compromise order %v, want %v", got, want)
	}
	c, err := timeline.OpenExisting(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int64
	if err := c.DB.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n != info.Events {
		t.Fatalf("case holds %d events (%v), Build said %d", n, err, info.Events)
	}
	res, err := movement.Analyze(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := movement.AutoSeedFrom(ctx, c, res)
	if err != nil {
		t.Fatal(err)
	}
	// The analysis' index of process creations gives the seed reading the
	// case gives.
	read, err := movement.AutoSeed(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if read.Host != seed.Host || read.EventID != seed.EventID || read.Time != seed.Time || read.Why != seed.Why {
		t.Errorf("AutoSeedFrom %+v, AutoSeed %+v", seed, read)
	}
	tr := movement.TraceFrom(res, *seed)
	if err := Verify(info.Truth, res, seed, tr); err != nil {
		t.Error(err)
	}
	// The per-host summary covers every compromised host.
	arrivals, err := movement.Arrivals(ctx, c, res, tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(arrivals) != len(tr.Order) {
		t.Errorf("%d arrival summaries for %d compromised hosts", len(arrivals), len(tr.Order))
	}
}

// TestDeterministic: the same version gives the same scenario.
func TestDeterministic(t *testing.T) {
	a, b := Scenario(1), Scenario(1)
	if len(a.Hosts) != Workstations+Servers+2 || len(a.Edges) != len(b.Edges) || a.Seed != b.Seed {
		t.Fatalf("scenario differs between calls or has %d hosts", len(a.Hosts))
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
}
