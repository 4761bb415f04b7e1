package prefetch

import (
	"bytes"
	"context"
	"testing"

	"github.com/foothold/foothold/forge/prefetch"
	"github.com/foothold/foothold/parsers/event"
	goprefetch "www.velocidex.com/golang/go-prefetch"
)

// TestGoPrefetchDefects documents why run times are read here and not
// taken from go-prefetch (D16): on a forged file, go-prefetch drops the
// run time later than now and truncates the others to whole seconds,
// while Decode returns every slot to 100 ns.
func TestGoPrefetchDefects(t *testing.T) {
	f := forged(t)
	var buf bytes.Buffer
	if err := prefetch.Write(&buf, f, true); err != nil {
		t.Fatal(err)
	}
	gp, err := goprefetch.LoadPrefetch(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(gp.LastRunTimes) != len(f.RunTimes)-1 {
		t.Errorf("go-prefetch returned %d run times; the defect (future time dropped) is gone?", len(gp.LastRunTimes))
	}
	for i, tm := range gp.LastRunTimes {
		if got, want := event.FromTime(tm), f.RunTimes[i+1]; got == want || uint64(got)%10_000_000 != 0 {
			t.Errorf("go-prefetch run time %d = %v; the defect (seconds only) is gone?", i, got)
		}
	}
	info, err := Decode(context.Background(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.RunTimes) != len(f.RunTimes) {
		t.Fatalf("Decode: %d run times", len(info.RunTimes))
	}
	for i := range f.RunTimes {
		if info.RunTimes[i] != f.RunTimes[i] {
			t.Errorf("run time %d = %v, want %v", i, info.RunTimes[i], f.RunTimes[i])
		}
	}
}
