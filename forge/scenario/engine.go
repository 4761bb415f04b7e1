package scenario

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/artifacts"
	fdisk "github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/parsers/event"
)

// Result is what Generate makes: per-host artifacts and the truth.
type Result struct {
	Hosts []*HostResult
	Truth *Truth
}

// HostResult is everything one host recorded.
type HostResult struct {
	Host *Host
	// Logs are the records per channel, in record-id order, as written.
	Logs map[string][]evtx.Record
	// Spec is the disk to build (nil for hosts that are not collected).
	Spec *fdisk.Spec
}

// rec is a record being generated, with the step it belongs to (for the
// truth file's key events).
type rec struct {
	r    evtx.Record
	step string
	what string
}

type fileKey struct {
	step, path, what string
	at               event.FileTime
}

type hostState struct {
	h         *Host
	recs      []*rec
	ops       []fdisk.Op
	files     []fileKey
	rng       *rand.Rand
	nextPID   uint32
	logonID   uint64
	runs      map[string]*progRun // upper-case path → runs
	reg       *hives
	cleared   map[string]event.FileTime
	jumps     []jumpEntry
	sessions  map[string]uint64
	downloads []Action
	regKeys   []regKey
	exists    map[string]bool
	data      map[string][]byte                    // upper-case path → content of files the scenario made
	bam       map[string]map[string]event.FileTime // SID → program path → last run (BAM)
	usage     []use                                // users' program runs (SRUM)
}

type progRun struct {
	path  string
	times []event.FileTime // recorded times
	user  string
	ui    bool
	data  []byte
	step  string
}

type gen struct {
	opts  Options
	s     *Scenario
	hosts map[string]*hostState
	dc    *Host
	keys  []KeyEvent
}

// Generate builds every host's records, files and hives and the truth.
// The same scenario always gives the same records.
func Generate(s *Scenario) (*Result, error) { return GenerateWith(s, Options{}) }

// GenerateWith is Generate with options (signing).
func GenerateWith(s *Scenario, opts Options) (*Result, error) {
	g := &gen{s: s, hosts: map[string]*hostState{}, opts: opts}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		hs := &hostState{h: h, rng: g.rng("host", h.Name), nextPID: 1000, logonID: 0x100000, runs: map[string]*progRun{}, cleared: map[string]event.FileTime{}}
		hs.reg = newHives(s, h)
		g.hosts[strings.ToUpper(h.Name)] = hs
		if h.Role == "dc" {
			g.dc = h
		}
	}
	for i := range s.Actions {
		if err := g.action(&s.Actions[i]); err != nil {
			return nil, fmt.Errorf("action %d (%s on %s): %w", i, s.Actions[i].Kind, s.Actions[i].Host, err)
		}
	}
	for i := range s.Edges {
		e := &s.Edges[i]
		for n, t := range e.Occurrences() {
			if err := g.edge(e, t, n); err != nil {
				return nil, fmt.Errorf("edge %s at %s: %w", e.ID, t.Format(time.RFC3339), err)
			}
		}
	}
	g.background()
	res := &Result{}
	for i := range s.Hosts {
		hs := g.hosts[strings.ToUpper(s.Hosts[i].Name)]
		hr, err := g.finish(hs)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", hs.h.Name, err)
		}
		res.Hosts = append(res.Hosts, hr)
	}
	res.Truth = g.truth()
	return res, nil
}

// rng is a generator for one part of the scenario, so that adding an edge
// does not change the identifiers of the others.
func (g *gen) rng(parts ...string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(g.s.Seed))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	v := h.Sum64()
	return rand.New(rand.NewPCG(v, v^0x9e3779b97f4a7c15))
}

func (g *gen) host(name string) *hostState { return g.hosts[strings.ToUpper(name)] }

// at is true time t plus ms milliseconds plus some sub-ms ticks, as the
// host records it (its clock offset applied).
func (hs *hostState) at(t time.Time, ms int) event.FileTime {
	rec := t.Add(time.Duration(hs.h.ClockOffset)).Add(time.Duration(ms) * time.Millisecond)
	return event.FromTime(rec) + event.FileTime(hs.rng.IntN(10_000))
}

// atExact is like at without the sub-ms jitter (file times the scenario names).
func (hs *hostState) atExact(t time.Time) event.FileTime {
	return event.FromTime(t.Add(time.Duration(hs.h.ClockOffset)))
}

func (hs *hostState) add(t event.FileTime, r evtx.Record, step, what string) *evtx.Record {
	r.Time = t
	r.Computer = hs.h.Name
	x := &rec{r: r, step: step, what: what}
	hs.recs = append(hs.recs, x)
	return &x.r
}

func (hs *hostState) pid() uint32 {
	hs.nextPID += uint32(4 + 4*hs.rng.IntN(200))
	return hs.nextPID
}

func (hs *hostState) newLogonID() uint64 {
	hs.logonID += uint64(0x100 + hs.rng.IntN(0x8000))
	return hs.logonID
}

func (hs *hostState) port() string { return fmt.Sprint(49152 + hs.rng.IntN(16000)) }

func randGUID(r *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("{%08X-%04X-%04X-%04X-%012X}", binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint16(b[4:6]),
		binary.BigEndian.Uint16(b[6:8]), binary.BigEndian.Uint16(b[8:10]), b[10:16])
}

// principals

func (g *gen) userPrincipal(u *User, logonID uint64) principal {
	return principal{sid: g.s.SID(u), name: u.Name(), domain: u.Domain(), logonID: logonID}
}

func (g *gen) machine(h *Host) principal {
	return principal{sid: sidSystem, name: strings.ToUpper(h.Name) + "$", domain: g.s.Organisation.Domain, logonID: 0x3e7}
}

func nullPrincipal() principal { return principal{sid: sidNull, name: "-", domain: "-"} }

func (g *gen) machineRID(h *Host) int {
	if h.RID != 0 {
		return h.RID
	}
	for i := range g.s.Hosts {
		if &g.s.Hosts[i] == h {
			return 1601 + i
		}
	}
	return 1600
}

// isAdmin says whether the account holds admin rights on host h.
func (g *gen) isAdmin(u *User, h *Host) bool {
	for _, r := range u.Roles {
		switch {
		case r == "domain-admin":
			return true
		case r == "workstation-admin" && h.Role == "workstation":
			return true
		case strings.EqualFold(r, "admin:"+h.Name):
			return true
		}
	}
	return false
}

// --- processes

type proc struct {
	who      principal
	image    string
	cmd      string
	parent   string
	ppid     uint32
	elevated bool
	step     string
	what     string
	ui       bool
}

// run records a process start on hs: 4688, Sysmon 1, and the program's
// execution traces (Prefetch, ShimCache, Amcache, UserAssist).
func (g *gen) run(hs *hostState, t event.FileTime, p proc) uint32 {
	pid := hs.pid()
	if p.ppid == 0 {
		p.ppid = hs.pid()
	}
	if p.parent == "" {
		p.parent = `C:\Windows\explorer.exe`
	}
	what := p.what
	if what == "" {
		what = "process " + path.Base(winSlash(p.image))
	}
	hs.add(t, sec4688(p.who, uint64(pid), p.image, p.cmd, uint64(p.ppid), p.parent, p.elevated), p.step, what)
	if hs.h.Sysmon {
		integrity := "Medium"
		if p.elevated || p.who.sid == sidSystem {
			integrity = "High"
		}
		if p.who.sid == sidSystem {
			integrity = "System"
		}
		user := p.who.qualified()
		if p.who.sid == sidSystem {
			user = `NT AUTHORITY\SYSTEM`
		}
		sum := sha256.Sum256([]byte(strings.ToUpper(p.image)))
		hs.add(t+event.FileTime(1000+hs.rng.IntN(5000)), sm1(t, randGUID(hs.rng), pid, p.image, p.cmd, `C:\Windows\system32\`, user, randGUID(hs.rng),
			p.who.logonID, 0, integrity, fmt.Sprintf("SHA256=%X", sum), randGUID(hs.rng), p.ppid, p.parent, p.parent), p.step, "sysmon "+what)
	}
	hs.noteRun(p.image, p.who.name, p.who.sid, t, p.ui, p.step)
	return pid
}

// noteRun records a program run for the execution traces written at the
// end (Prefetch, ShimCache, Amcache, UserAssist, BAM).
func (hs *hostState) noteRun(image, user, sid string, t event.FileTime, ui bool, step string) {
	key := strings.ToUpper(image)
	r := hs.runs[key]
	if r == nil {
		r = &progRun{path: image, user: user}
		hs.runs[key] = r
	}
	r.times = append(r.times, t)
	if ui && !r.ui {
		r.ui, r.user = true, user
	}
	if r.step == "" {
		r.step = step
	}
	if strings.HasPrefix(sid, "S-1-5-21-") {
		hs.usage = append(hs.usage, use{at: t, sid: sid, key: key})
	}
	// BAM keeps the programs of user sessions and of SYSTEM, not of the
	// service accounts.
	if sid == sidSystem || strings.HasPrefix(sid, "S-1-5-21-") {
		if hs.bam == nil {
			hs.bam = map[string]map[string]event.FileTime{}
		}
		if hs.bam[sid] == nil {
			hs.bam[sid] = map[string]event.FileTime{}
		}
		if t > hs.bam[sid][key] {
			hs.bam[sid][key] = t
		}
	}
}

func winSlash(p string) string { return strings.ReplaceAll(p, `\`, "/") }

// exeOf is the program of a command line: its first token, resolved
// against System32 when it has no directory.
func exeOf(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	var first string
	if strings.HasPrefix(cmd, `"`) {
		first, _, _ = strings.Cut(cmd[1:], `"`)
	} else {
		first, _, _ = strings.Cut(cmd, " ")
	}
	if !strings.Contains(first, `\`) {
		if !strings.Contains(first, ".") {
			first += ".exe"
		}
		switch strings.ToLower(first) {
		case "wmic.exe":
			return `C:\Windows\System32\wbem\WMIC.exe`
		case "powershell.exe":
			return `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
		}
		return `C:\Windows\System32\` + first
	}
	return first
}

// --- files

func (hs *hostState) file(kind, p string, at event.FileTime, data []byte, step, what string) {
	if hs.data == nil {
		hs.data = map[string][]byte{}
	}
	hs.data[strings.ToUpper(p)] = data
	hs.ops = append(hs.ops, fdisk.Op{Kind: kind, Path: ntPath(p), At: at, Data: data})
	if step != "" {
		hs.files = append(hs.files, fileKey{step: step, path: p, what: what, at: at})
	}
	switch kind {
	case fdisk.OpFile:
		hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpUSN, Path: ntPath(p), At: at, Reason: fdisk.ReasonFileCreate})
		hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpUSN, Path: ntPath(p), At: at, Reason: fdisk.ReasonFileCreate | fdisk.ReasonDataExtend | fdisk.ReasonClose})
	}
}

func (hs *hostState) deleteFile(p string, at event.FileTime, step string) {
	hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpUSN, Path: ntPath(p), At: at, Reason: fdisk.ReasonFileDelete | fdisk.ReasonClose})
	hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpDelete, Path: ntPath(p), At: at})
	if step != "" {
		hs.files = append(hs.files, fileKey{step: step, path: p, what: "deleted", at: at})
	}
}

// ntPath turns C:\x into the volume path \x.
func ntPath(p string) string {
	if len(p) >= 2 && p[1] == ':' {
		return p[2:]
	}
	return p
}

// content is deterministic file content: a valid (unsigned) PE image for
// executables, since a parser meets real executables on real disks, and
// SHA-256 counter-mode bytes otherwise.
func content(seed string, n int) []byte {
	if n <= 0 {
		n = 4096
	}
	low := strings.ToLower(seed)
	if isDLL := strings.HasSuffix(low, ".dll"); isDLL || strings.HasSuffix(low, ".exe") {
		fill := n - 4096
		if fill < 512 {
			fill = 512
		}
		if img, err := artifacts.BuildPE(artifacts.PE{DLL: isDLL, Linked: time.Date(2022, 9, 1, 0, 0, 0, 0, time.UTC),
			Data: stream(seed, fill)}); err == nil {
			return img
		}
	}
	return stream(seed, n)
}

// stream is n bytes of SHA-256 in counter mode over the seed.
func stream(seed string, n int) []byte {
	out := make([]byte, 0, n+32)
	for i := 0; len(out) < n; i++ {
		s := sha256.Sum256([]byte(fmt.Sprintf("%s:%d", seed, i)))
		out = append(out, s[:]...)
	}
	return out[:n]
}

func sha1hex(b []byte) string { s := sha1.Sum(b); return fmt.Sprintf("%x", s) }

// sorted returns the records of hs grouped per channel, each in time order.
func sortRecs(recs []*rec) {
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].r.Time < recs[j].r.Time })
}
