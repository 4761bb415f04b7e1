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
	// Rule is which rule of `auto` chose the seed: "1" (arrived from the
	// internet), "2a" (unsigned, with a system binary's name) or "2b"
	// (Authenticode digest mismatch); "" for a seed the user named.
	Rule string `json:"rule,omitempty"`
	// Suspects are every file rule 2 flags in the case, seed or not.
	Suspects []Suspect `json:"suspects,omitempty"`
}

// Suspect is a file rule 2 of `auto` flags.
type Suspect struct {
	Host string `json:"host"`
	Path string `json:"path"`
	Rule string `json:"rule"` // 2a or 2b
	Why  string `json:"why"`
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

// internetFiles are the files that arrived from the internet: they have a
// Zone.Identifier or a browser download row. Keyed host|normalised path.
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
		k = hostKey(r.Host) + "|" + k
		if _, seen := files[k]; !seen {
			files[k] = fmt.Sprintf("%s: %s", r.Artifact, r.Message)
		}
		return nil
	})
	return files, err
}

// systemDir reports whether a normalised path is where Windows keeps its
// own binaries.
func systemDir(norm string) bool {
	for _, d := range []string{`\windows\system32\`, `\windows\syswow64\`, `\windows\sysnative\`} {
		if strings.HasPrefix(norm, d) && !strings.Contains(norm[len(d):], `\`) {
			return true
		}
	}
	return strings.HasPrefix(norm, `\windows\`) && strings.Count(norm, `\`) == 2
}

// maxNameChecks bounds the $MFT look-ups for unsigned programs whose
// system namesake has no PE description.
const maxNameChecks = 2000

// SuspiciousFiles applies rule 2 of `auto` to the PE descriptions in the
// case: (a) an unsigned program outside the system directories whose file
// name is that of a program in one on the same host (a signed one by
// preference; else one the $MFT shows there, whose signature was not
// examined), and (b) a program whose Authenticode digest does not match
// its content (changed after signing).
func SuspiciousFiles(ctx context.Context, c *timeline.Case) ([]Suspect, error) {
	type pe struct {
		host, path, norm, status, signer string
	}
	seen := map[string]bool{}
	var unsigned []pe
	var out []Suspect
	signedSys := map[string]pe{} // host|base name -> signed system binary
	err := c.Events(ctx, timeline.Filter{Artifacts: []string{"pe"}}, func(r *timeline.Row) error {
		var f map[string]any
		json.Unmarshal([]byte(r.Fields), &f)
		p := str(f["target_path"])
		if p == "" {
			p = r.Path
		}
		x := pe{host: r.Host, path: p, norm: event.NormalizePath(p), status: str(f["signature_status"]), signer: str(f["signer_subject"])}
		if x.norm == "" || seen[x.host+"|"+x.norm] {
			return nil
		}
		seen[x.host+"|"+x.norm] = true
		switch {
		case x.status == "valid" && systemDir(x.norm):
			signedSys[x.host+"|"+baseName(x.norm)] = x
		case x.status == "unsigned" && !systemDir(x.norm):
			unsigned = append(unsigned, x)
		case x.status == "digest_mismatch":
			why := "Authenticode digest mismatch: the content changed after signing"
			if x.signer != "" {
				why += " (signed by " + x.signer + ")"
			}
			out = append(out, Suspect{Host: x.host, Path: x.path, Rule: "2b", Why: why})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	checks := 0
	for _, u := range unsigned {
		base := baseName(u.norm)
		if s, ok := signedSys[u.host+"|"+base]; ok {
			out = append(out, Suspect{Host: u.host, Path: u.path, Rule: "2a",
				Why: fmt.Sprintf("unsigned, and %s on the same host, of the same name, is signed by %s", s.path, s.signer)})
			continue
		}
		if checks >= maxNameChecks {
			continue
		}
		checks++
		namesake := ""
		err := c.Events(ctx, timeline.Filter{Artifacts: []string{"mft"}, Hosts: []string{u.host}, Query: timeline.Literal(base)}, func(r *timeline.Row) error {
			if n := event.NormalizePath(r.Path); namesake == "" && systemDir(n) && baseName(n) == base {
				namesake = r.Path
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if namesake != "" {
			out = append(out, Suspect{Host: u.host, Path: u.path, Rule: "2a",
				Why: fmt.Sprintf("unsigned, and the same host has a system binary of the same name, %s ($MFT; Windows signs its own binaries, this copy's signature was not examined)", namesake)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].Path < out[j].Path
	})
	return out, nil
}

// execution is the earliest run of a file.
type execution struct {
	id   int64
	ts   event.FileTime
	host string // host key
	path string
	kind string
}

// firstRuns indexes the earliest process creation (4688, Sysmon 1) of
// every program on every host: host key → normalised path → run. evs are
// in time order, so the first one seen is the earliest. Strings are
// copied out of the load's buffers so the index does not pin them.
func firstRuns(evs []*ev) map[string]map[string]execution {
	out := map[string]map[string]execution{}
	norm := map[string]string{}
	for _, e := range evs {
		if e.Artifact != "evtx" || (e.Type != "4688" && e.Type != "1") {
			continue
		}
		p := e.s("process")
		if p == "" {
			continue
		}
		n, ok := norm[p]
		if !ok {
			n = event.NormalizePath(p)
			norm[p] = n
		}
		if n == "" {
			continue
		}
		runs := out[e.Host]
		if runs == nil {
			runs = map[string]execution{}
			out[strings.Clone(e.Host)] = runs
		}
		if _, seen := runs[n]; !seen {
			runs[n] = execution{id: e.ID, ts: e.TS, host: strings.Clone(e.Host), path: strings.Clone(p), kind: "process creation " + e.Type}
		}
	}
	return out
}

// earliestExecutions finds, for every host key|normalised path in want,
// its earliest execution: process creation (4688, Sysmon 1) — from the
// analysis' index when there is one, else read — or a Prefetch run.
func earliestExecutions(ctx context.Context, c *timeline.Case, want map[string]bool, runs map[string]map[string]execution) (map[string]*execution, error) {
	best := map[string]*execution{}
	consider := func(x execution) {
		k := x.host + "|" + event.NormalizePath(x.path)
		if !want[k] {
			return
		}
		if b := best[k]; b == nil || x.ts < b.ts || (x.ts == b.ts && x.id < b.id) {
			best[k] = &x
		}
	}
	// Only rows whose text holds a wanted file's name can be its run:
	// SQLite tests that, sparing the decoding of every other row.
	if runs == nil {
		names, args := nameFilter(want, timeline.FieldsSQL)
		err := eachEvent(ctx, c, `artifact = 'evtx' AND type IN ('4688', '1')`+names, args, func(e *ev) error {
			if p := e.s("process"); p != "" {
				consider(execution{id: e.ID, ts: e.TS, host: e.Host, path: strings.Clone(p), kind: "process creation " + e.Type})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		for k := range want {
			host, path, _ := strings.Cut(k, "|")
			if x, ok := runs[host][path]; ok {
				consider(x)
			}
		}
	}
	// A Prefetch row's path column is the program's path: shorter to test.
	names, args := nameFilter(want, "path")
	err := eachEvent(ctx, c, `artifact = 'prefetch' AND type = 'run'`+names, args, func(e *ev) error {
		if p := e.s("target_path"); p != "" {
			consider(execution{id: e.ID, ts: e.TS, host: e.Host, path: strings.Clone(p), kind: "Prefetch run"})
		}
		return nil
	})
	return best, err
}

// maxNameFilter bounds the names nameFilter puts in one query.
const maxNameFilter = 200

// nameFilter is an SQL condition (with its arguments) that a row's
// column (fields or path) contains, ASCII case folded, the base name of one of the
// wanted host|path keys; "" (no filter) when a name could be spelled
// otherwise in JSON (non-ASCII, or characters encoding/json escapes) or
// there are too many.
func nameFilter(want map[string]bool, column string) (string, []any) {
	seen := map[string]bool{}
	var conds []string
	var args []any
	for k := range want {
		b := baseName(k)
		if b == "" || seen[b] {
			continue
		}
		seen[b] = true
		for _, r := range b {
			if r >= 0x80 || r < 0x20 || strings.ContainsRune(`<>&"\`, r) {
				return "", nil
			}
		}
		conds = append(conds, "instr(lower("+column+"), ?) > 0")
		args = append(args, b)
	}
	if len(conds) == 0 {
		return " AND 0", nil
	}
	if len(conds) > maxNameFilter {
		return "", nil
	}
	return " AND (" + strings.Join(conds, " OR ") + ")", args
}

// AutoSeed picks where the attack started, and says why. Rule 1: the
// earliest execution of a file that came from the internet. Rule 2, when
// no such file ran: the earliest execution of a file flagged suspicious
// (2a unsigned with a system binary's name, 2b digest mismatch). Files
// rule 2 flags are listed as further reasons either way.
func AutoSeed(ctx context.Context, c *timeline.Case) (*Seed, error) {
	return autoSeed(ctx, c, nil)
}

// AutoSeedFrom is AutoSeed using the process creations res already read
// (Analyze's), instead of reading them again.
func AutoSeedFrom(ctx context.Context, c *timeline.Case, res *Result) (*Seed, error) {
	return autoSeed(ctx, c, res.runs)
}

func autoSeed(ctx context.Context, c *timeline.Case, runIndex map[string]map[string]execution) (*Seed, error) {
	files, err := internetFiles(ctx, c)
	if err != nil {
		return nil, err
	}
	suspects, err := SuspiciousFiles(ctx, c)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for k := range files {
		want[k] = true
	}
	flagged := map[string]Suspect{}
	for _, s := range suspects {
		k := hostKey(s.Host) + "|" + event.NormalizePath(s.Path)
		want[k] = true
		if _, ok := flagged[k]; !ok {
			flagged[k] = s
		}
	}
	runs, err := earliestExecutions(ctx, c, want, runIndex)
	if err != nil {
		return nil, err
	}
	pick := func(keys func(string) bool) *execution {
		var b *execution
		for k, x := range runs {
			if keys(k) && (b == nil || x.ts < b.ts || (x.ts == b.ts && x.id < b.id)) {
				b = x
			}
		}
		return b
	}
	var seed *Seed
	if x := pick(func(k string) bool { _, ok := files[k]; return ok }); x != nil {
		k := x.host + "|" + event.NormalizePath(x.path)
		seed = &Seed{Host: x.host, Time: x.ts, Path: x.path, EventID: x.id, Rule: "1",
			Why: fmt.Sprintf("rule 1: earliest execution (%s) of a file from the internet (%s)", x.kind, files[k])}
	} else if x := pick(func(k string) bool { _, ok := flagged[k]; return ok }); x != nil {
		s := flagged[x.host+"|"+event.NormalizePath(x.path)]
		seed = &Seed{Host: x.host, Time: x.ts, Path: x.path, EventID: x.id, Rule: s.Rule,
			Why: fmt.Sprintf("rule %s: earliest execution (%s) of a suspicious file: %s", s.Rule, x.kind, s.Why)}
		if len(files) == 0 {
			seed.Why += " (no file in the case came from the internet)"
		} else {
			seed.Why += " (no file from the internet ran)"
		}
	}
	if seed == nil {
		switch {
		case len(files) == 0 && len(suspects) == 0:
			return nil, fmt.Errorf("trace --from auto: no file in the case came from the internet (no Zone.Identifier, no browser download) and none is flagged suspicious (unsigned with a system binary's name, or a digest mismatch)")
		default:
			return nil, fmt.Errorf("trace --from auto: %d files came from the internet and %d are flagged suspicious, but none of them ran", len(files), len(suspects))
		}
	}
	seed.Suspects = suspects
	var also []string
	for _, s := range suspects {
		also = append(also, fmt.Sprintf("%s on %s (rule %s: %s)", s.Path, s.Host, s.Rule, s.Why))
	}
	if len(also) > 0 {
		const show = 5
		more := ""
		if len(also) > show {
			more = fmt.Sprintf("; and %d more", len(also)-show)
			also = also[:show]
		}
		seed.Why += "; flagged by rule 2: " + strings.Join(also, "; ") + more
	}
	return seed, nil
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
