package movement

import (
	"math"
	"sort"

	"github.com/foothold/foothold/parsers/event"
)

// Offset is the estimated clock offset of one host: its clock minus the
// reference host's, in seconds, from paired events of the same connection.
// Raw times are never rewritten; a corrected time is raw minus Seconds.
type Offset struct {
	Host      string  `json:"host"`
	Seconds   float64 `json:"seconds"`
	Pairs     int     `json:"pairs"`          // paired observations behind the estimate
	Spread    float64 `json:"spread_seconds"` // max-min of those observations
	Reference string  `json:"reference"`      // host whose clock is taken as 0
}

// pair says: clock(a) - clock(b) ≈ d seconds, from one connection seen on
// both (a destination logon and the source action or the DC's ticket that
// caused it, a fraction of a second apart in true time).
type pair struct {
	a, b string
	d    float64
	dc   bool // b is the domain controller that issued the connection's ticket
}

// EstimateClocks estimates every collected host's offset reachable through
// paired events. The reference is the host that most often answers for the
// domain (the DC side of Kerberos pairs): domain members sync to it. Each
// other host gets the median over its pairs with already-placed hosts,
// placed outward from the reference; median, because one mis-paired
// occurrence must not move a host's clock.
func EstimateClocks(res *Result) []Offset {
	collected := map[string]bool{}
	for _, h := range res.Identity.SortedHosts() {
		if h.Collected {
			collected[h.Name] = true
		}
	}
	var pairs []pair
	dcVotes := map[string]int{}
	secs := func(a, b event.FileTime) float64 { return (float64(a) - float64(b)) / 1e7 }
	for _, e := range res.Edges {
		if !collected[e.Destination] {
			continue
		}
		for _, o := range e.Occurrences {
			if o.DestTime == 0 {
				continue
			}
			if o.SourceTime != 0 && collected[e.Source] && e.Source != e.Destination {
				pairs = append(pairs, pair{e.Destination, e.Source, secs(o.DestTime, o.SourceTime), false})
			}
			for _, r := range o.Evidence {
				if r.Side != "dc" || !collected[r.Host] || r.Time == 0 {
					continue
				}
				if r.Host != e.Destination {
					pairs = append(pairs, pair{e.Destination, r.Host, secs(o.DestTime, r.Time), true})
					dcVotes[r.Host]++
				}
				// The source asked for the ticket as it connected: its own
				// action and the DC's record are one moment too.
				if o.SourceTime != 0 && collected[e.Source] && r.Host != e.Source {
					pairs = append(pairs, pair{e.Source, r.Host, secs(o.SourceTime, r.Time), true})
				}
			}
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	ref, best := "", -1
	for h, n := range dcVotes {
		if n > best || (n == best && h < ref) {
			ref, best = h, n
		}
	}
	if ref == "" {
		count := map[string]int{}
		for _, p := range pairs {
			count[p.a]++
			count[p.b]++
		}
		for h, n := range count {
			if n > best || (n == best && h < ref) {
				ref, best = h, n
			}
		}
	}
	placed := map[string]Offset{ref: {Host: ref, Reference: ref}}
	// First every host the reference's tickets pair directly: the domain
	// controller is the domain's time source, and a direct pair carries
	// one connection's delay where a chain adds one per hop.
	direct := map[string][]float64{}
	for _, p := range pairs {
		if p.dc && p.b == ref && p.a != ref {
			direct[p.a] = append(direct[p.a], p.d)
		}
	}
	for h, v := range direct {
		sort.Float64s(v)
		placed[h] = Offset{Host: h, Seconds: median(v), Pairs: len(v), Spread: v[len(v)-1] - v[0], Reference: ref}
	}
	for {
		est := map[string][]float64{}
		for _, p := range pairs {
			pa, okA := placed[p.a]
			pb, okB := placed[p.b]
			switch {
			case okB && !okA:
				est[p.a] = append(est[p.a], pb.Seconds+p.d)
			case okA && !okB:
				est[p.b] = append(est[p.b], pa.Seconds-p.d)
			}
		}
		if len(est) == 0 {
			break
		}
		for h, v := range est {
			sort.Float64s(v)
			placed[h] = Offset{Host: h, Seconds: median(v), Pairs: len(v), Spread: v[len(v)-1] - v[0], Reference: ref}
		}
	}
	// The reference's own pairs say how consistent the whole is.
	var refPairs int
	for _, p := range pairs {
		if p.a == ref || p.b == ref {
			refPairs++
		}
	}
	r := placed[ref]
	r.Pairs = refPairs
	placed[ref] = r
	out := make([]Offset, 0, len(placed))
	for _, o := range placed {
		o.Seconds = math.Round(o.Seconds*1000) / 1000
		o.Spread = math.Round(o.Spread*1000) / 1000
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
