package movement

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// Seed is where a trace starts: one execution on one host.
type Seed struct {
	Host      string         `json:"host"`
	Time      event.FileTime `json:"time"`      // raw, on the host's clock
	Corrected event.FileTime `json:"corrected"` // on the reference clock
	Path      string         `json:"path"`
	EventID   int64          `json:"event_id"`
	Why       string         `json:"why"`
}

// Hop is one edge occurrence on the attack path.
type Hop struct {
	Source, Destination string
	Technique, Account  string
	Authentication      string
	Time                event.FileTime `json:"time"`      // raw, destination clock (source's if one-sided)
	Corrected           event.FileTime `json:"corrected"` // on the reference clock
	Confidence          string
	NewCompromise       bool  `json:"new_compromise"` // the hop is what compromised the destination
	Evidence            []Ref `json:"evidence"`
}

// Trace is the attack path from a seed.
type Trace struct {
	Seed        Seed                      `json:"seed"`
	Compromised map[string]event.FileTime `json:"compromised"` // host -> compromise time, reference clock
	Order       []string                  `json:"order"`       // hosts in compromise order
	Hops        []Hop                     `json:"hops"`
	Context     []*Edge                   `json:"context"` // edges not on the path
}

// internetFile is a file that arrived from the internet: it has a Zone
// Identifier or a browser download row.
func internetFiles(ctx context.Context, c *timeline.Case) (map[string]string, error) {
	files := map[string]string{} // normalised path -> why
	err := c.Events(ctx, timeline.Filter{Types: []string{"zone", "download"}}, func(r *timeline.Row) error {
		var f map[string]any
		json.Unmarshal([]byte(r.Fields), &f)
		p := r.Path
		if tp, ok := f["target_path"].(string); ok && tp != "" {
			p = tp
		}
		k := event.NormalizePath(p)
		if k == "" {
			return nil
		}
		k = r.Host + "|" + k
		if _, seen := files[k]; !seen {
			files[k] = fmt.Sprintf("%s: %s", r.Artifact, r.Message)
		}
		return nil
	})
	return files, err
}

// AutoSeed picks the earliest execution of a file that came from the
// internet, and says why. Executions are process starts (4688, Sysmon 1)
// and Prefetch runs naming the file.
func AutoSeed(ctx context.Context, c *timeline.Case) (*Seed, error) {
	files, err := internetFiles(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("trace --from auto: no file in the case came from the internet (no Zone.Identifier, no browser download)")
	}
	var best *Seed
	consider := func(r *timeline.Row, path, kind string) {
		k := r.Host + "|" + event.NormalizePath(path)
		why, ok := files[k]
		if !ok {
			return
		}
		if best == nil || r.Time < best.Time {
			best = &Seed{Host: r.Host, Time: r.Time, Path: path, EventID: r.ID,
				Why: fmt.Sprintf("earliest execution (%s) of a file from the internet (%s)", kind, why)}
		}
	}
	err = c.Events(ctx, timeline.Filter{Artifacts: []string{"evtx"}, Types: []string{"4688", "1"}}, func(r *timeline.Row) error {
		var f map[string]any
		json.Unmarshal([]byte(r.Fields), &f)
		if p, ok := f["process"].(string); ok {
			consider(r, p, "process creation "+r.Type)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = c.Events(ctx, timeline.Filter{Artifacts: []string{"prefetch"}, Types: []string{"run"}}, func(r *timeline.Row) error {
		var f map[string]any
		json.Unmarshal([]byte(r.Fields), &f)
		if p, ok := f["target_path"].(string); ok {
			consider(r, p, "Prefetch run")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, fmt.Errorf("trace --from auto: files came from the internet but none of them ran")
	}
	return best, nil
}

// TraceFrom follows the attack forward from the seed: every edge that
// leaves a compromised host after its compromise time is on the path and
// compromises its destination at that time, until nothing new is reached.
// An edge whose source, destination, technique and account already
// occurred before the source was compromised is routine (a nightly job),
// not attack, and stays context. A tunnelled connection into a
// compromised host comes from the attacker's side of the tunnel.
func TraceFrom(res *Result, seed Seed) *Trace {
	off := map[string]float64{}
	for _, o := range res.Clocks {
		off[o.Host] = o.Seconds
	}
	corr := func(host string, t event.FileTime) event.FileTime {
		if t == 0 {
			return 0
		}
		return event.FileTime(int64(t) - int64(off[host]*1e7))
	}
	seed.Corrected = corr(seed.Host, seed.Time)
	tr := &Trace{Seed: seed, Compromised: map[string]event.FileTime{seed.Host: seed.Corrected}, Order: []string{seed.Host}}

	type occ struct {
		e *Edge
		o Occurrence
		t event.FileTime // corrected
	}
	var occs []occ
	for _, e := range res.Edges {
		for _, o := range e.Occurrences {
			t := corr(e.Destination, o.DestTime)
			if o.DestTime == 0 {
				t = corr(e.Source, o.SourceTime)
			}
			occs = append(occs, occ{e, o, t})
		}
	}
	sort.SliceStable(occs, func(i, j int) bool { return occs[i].t < occs[j].t })
	onPath := map[*Edge]bool{}
	for _, x := range occs {
		e := x.e
		src := e.Source
		ct, compromised := tr.Compromised[src]
		tunnel := false
		if h := res.Identity.Hosts[src]; h != nil && h.Unknown && hasFlag(e.Flags, "tunnelled") {
			// The far end of a tunnel opened from a compromised host.
			ct, compromised = tr.Compromised[e.Destination]
			tunnel = true
		}
		if !compromised || x.t < ct {
			continue
		}
		if !tunnel && routine(e, ct, corr) {
			continue
		}
		hop := Hop{Source: src, Destination: e.Destination, Technique: e.Technique, Account: e.Account,
			Authentication: e.Authentication, Time: x.o.DestTime, Corrected: x.t, Confidence: x.o.Confidence, Evidence: x.o.Evidence}
		if hop.Time == 0 {
			hop.Time = x.o.SourceTime
		}
		if dt, ok := tr.Compromised[e.Destination]; !ok || x.t < dt {
			tr.Compromised[e.Destination] = x.t
			if !ok {
				tr.Order = append(tr.Order, e.Destination)
			}
			hop.NewCompromise = true
		}
		tr.Hops = append(tr.Hops, hop)
		onPath[e] = true
	}
	for _, e := range res.Edges {
		if !onPath[e] {
			tr.Context = append(tr.Context, e)
		}
	}
	sort.SliceStable(tr.Order, func(i, j int) bool { return tr.Compromised[tr.Order[i]] < tr.Compromised[tr.Order[j]] })
	return tr
}

// routine: the same access already happened before the source was
// compromised, so it is the network's habit, not the attacker's move.
func routine(e *Edge, compromised event.FileTime, corr func(string, event.FileTime) event.FileTime) bool {
	for _, o := range e.Occurrences {
		t := corr(e.Destination, o.DestTime)
		if o.DestTime == 0 {
			t = corr(e.Source, o.SourceTime)
		}
		if t < compromised {
			return true
		}
	}
	return false
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

// DOT renders the path as a Graphviz graph: hosts in compromise order,
// path hops solid and labelled, context edges dashed and grey.
func (tr *Trace) DOT() string {
	var b strings.Builder
	q := func(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }
	b.WriteString("digraph trace {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n")
	hosts := map[string]bool{}
	for _, h := range tr.Order {
		hosts[h] = true
		label := h + `\n` + "compromised " + tr.Compromised[h].String()
		if h == tr.Seed.Host {
			label += `\n` + "seed: " + tr.Seed.Path
		}
		fmt.Fprintf(&b, "  %s [label=%s, style=bold, color=red];\n", q(h), q(label))
	}
	for _, e := range tr.Context {
		for _, h := range []string{e.Source, e.Destination} {
			if !hosts[h] {
				hosts[h] = true
				fmt.Fprintf(&b, "  %s [color=grey];\n", q(h))
			}
		}
	}
	for _, h := range tr.Hops {
		fmt.Fprintf(&b, "  %s -> %s [label=%s, color=red];\n", q(h.Source), q(h.Destination),
			q(h.Technique+`\n`+h.Account+`\n`+h.Corrected.String()))
	}
	for _, e := range tr.Context {
		fmt.Fprintf(&b, "  %s -> %s [label=%s, style=dashed, color=grey];\n", q(e.Source), q(e.Destination), q(e.Technique))
	}
	b.WriteString("}\n")
	return b.String()
}
