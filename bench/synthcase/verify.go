package synthcase

import (
	"errors"
	"fmt"
	"strings"

	"github.com/foothold/foothold/forge/scenario"
	"github.com/foothold/foothold/timeline/movement"
)

// Verify checks a movement analysis of the case against its truth: every
// attack edge is found with its source, destination, technique, account
// and authentication; the automatic seed is the downloaded installer's
// first run; the trace reaches exactly the attacked hosts, in order.
func Verify(truth *scenario.Truth, res *movement.Result, seed *movement.Seed, tr *movement.Trace) error {
	var errs []error
	for _, te := range truth.Edges {
		if !te.Attack {
			continue
		}
		found := false
		for _, e := range res.Edges {
			src := e.Source
			if h := res.Identity.Hosts[src]; te.Source == scenario.Unknown && h != nil && h.Unknown && !h.Collected {
				src = scenario.Unknown
			}
			if src == te.Source && e.Destination == te.Destination && e.Technique == te.Technique &&
				strings.EqualFold(e.Account, te.Account) && e.Authentication == te.Authentication {
				found = true
				break
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("attack edge %s %s -> %s %s %s %s not found", te.ID, te.Source, te.Destination,
				te.Technique, te.Account, te.Authentication))
		}
	}
	if truth.SeedEvent != nil && (seed == nil || seed.Host != truth.SeedEvent.Host || !strings.EqualFold(seed.Path, truth.SeedEvent.Path)) {
		errs = append(errs, fmt.Errorf("auto seed %+v, want %s on %s", seed, truth.SeedEvent.Path, truth.SeedEvent.Host))
	}
	var want []string
	for _, c := range truth.Compromise {
		want = append(want, c.Host)
	}
	if tr == nil || strings.Join(tr.Order, " ") != strings.Join(want, " ") {
		var got []string
		if tr != nil {
			got = tr.Order
		}
		errs = append(errs, fmt.Errorf("trace reaches %v, want %v", got, want))
	}
	return errors.Join(errs...)
}
