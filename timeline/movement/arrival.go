package movement

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// Arrival is what the attacker did on a host after arriving: the processes
// it started, the files they dropped and their persistence, and the
// accounts used or exposed there. Only what links to the attacker is
// listed (the seed's process tree, each hop's session and what it
// created); the rest of the host's activity stays in the timeline.
type Arrival struct {
	Host  string         `json:"host"`
	Since event.FileTime `json:"since"` // raw, on the host's clock
	// Processes the attacker started: descendants of the seed (seed host)
	// or of each arrival (the hop's logon session, the service or task it
	// created, the remote-execution host serving it), source-side commands
	// of the hops that leave the host, and credential theft.
	Processes []Fact `json:"processes"`
	// Others are processes outside that tree that ran a file the attacker
	// dropped (a Run key at the next logon, a user double-clicking it).
	Others      []Fact `json:"other_processes"`
	Files       []Fact `json:"files"`
	Persistence []Fact `json:"persistence"`
	// Credentials: credential access, accounts used (type-9 logons,
	// explicit credentials, the hops' accounts), and accounts whose
	// credentials are in memory (interactive, RDP, batch and service logons
	// of real accounts since the last boot before the compromise). Logons
	// of an account that recurs daily before the compromise are Routine and
	// come last, one line per account.
	Credentials []Fact `json:"credentials"`
}

// Fact is one thing the summary says, with the event that shows it.
type Fact struct {
	Time    event.FileTime `json:"time"`
	Text    string         `json:"text"`
	EventID int64          `json:"event_id"`
	Also    []int64        `json:"also,omitempty"` // other events of the same fact (Sysmon twin, 4697 of a 7045…)
	// Subject names what the fact is about: the command line of a process,
	// the normalised path of a file, "service NAME", "task NAME", "run
	// NAME" or a registry value for persistence, the account for
	// credentials ("" for credential access).
	Subject string `json:"subject"`
	Why     string `json:"why,omitempty"` // what ties it to the attacker
	Routine bool   `json:"routine,omitempty"`
}

// maxFacts keeps each list readable; the CSV and the case hold the rest.
const maxFacts = 40

const (
	// dropWindow: files created this soon after an attacker process starts,
	// in a staging place, are taken as its drops.
	dropWindow = 10 * second
	// programWindow: the same for files created in the folder of a program
	// the attacker brought (an installer's payload).
	programWindow = 60 * second
	// serveWindow: a remote-execution host process (WmiPrvSE, wsmprovhost,
	// mmc -Embedding…) started this close to a hop's logon serves the hop.
	serveWindow = 60 * second
	// hopArtifactWindow: how long after a hop its service or task starts
	// the payload, or PsExec writes its key file.
	hopArtifactWindow = 10 * 60 * second
	// routineDays: an account that logged on this way on at least this
	// many distinct days before the compromise does so as a habit.
	routineDays = 3
)

// Arrivals summarises every compromised host after its compromise time.
func Arrivals(ctx context.Context, c *timeline.Case, res *Result, tr *Trace) (out []Arrival, err error) {
	defer func() {
		// A malformed event must not take the trace down with it.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("movement: arrival summary: %v", r)
		}
	}()
	off := map[string]float64{}
	for _, o := range res.Clocks {
		off[o.Host] = o.Seconds
	}
	ids, err := hostIDsByKey(ctx, c)
	if err != nil {
		return nil, err
	}
	hosts := map[string]*arrivalHost{}
	for _, host := range tr.Order {
		since := event.FileTime(int64(tr.Compromised[host]) + int64(off[host]*1e7))
		if host == tr.Seed.Host {
			since = tr.Seed.Time
		}
		evs, paths, err := arrivalEvents(ctx, c, host, ids[host])
		if err != nil {
			return nil, err
		}
		hosts[host] = newArrivalHost(host, since, evs, res.Identity)
		hosts[host].paths = paths
	}
	for _, host := range tr.Order {
		hosts[host].linkHops(tr)
	}
	for _, host := range tr.Order {
		hosts[host].markProcesses(tr)
	}
	// Commands on one host name files on another (wmic /node, sc \\host,
	// copy to \\host\C$): every host's attacker commands first.
	for _, host := range tr.Order {
		hosts[host].nameFromCommands(hosts)
	}
	for _, host := range tr.Order {
		out = append(out, hosts[host].summary())
	}
	sort.SliceStable(out, func(i, j int) bool { return tr.Compromised[out[i].Host] < tr.Compromised[out[j].Host] })
	return out, nil
}

// hostIDsByKey maps each host key to its rows in the hosts table.
func hostIDsByKey(ctx context.Context, c *timeline.Case) (map[string][]int64, error) {
	rows, err := c.DB.QueryContext(ctx, `SELECT id, name FROM hosts`)
	if err != nil {
		return nil, fmt.Errorf("movement: hosts: %w", err)
	}
	defer rows.Close()
	out := map[string][]int64{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("movement: hosts: %w", err)
		}
		out[hostKey(name)] = append(out[hostKey(name)], id)
	}
	return out, rows.Err()
}

// arrivalTypes are the evtx events the summary reads.
var arrivalTypes = []string{
	"4688", "1", "11", "10", "13", "4657", "7045", "4697", "4698", "4702", "106", "4624", "4648", "5145", "4104",
	"4608", "6005", "6009", "12",
}

// arrivalEvents reads one host's events the summary needs, every field
// kept, in time order. Events of standalone logs (no host row) are kept
// when their Computer field names the host.
func arrivalEvents(ctx context.Context, c *timeline.Case, host string, ids []int64) ([]*ev, map[int64]string, error) {
	kinds := `((artifact = 'evtx' AND type IN ('` + strings.Join(arrivalTypes, "','") + `'))
   OR (artifact = 'registry' AND type IN ('run', 'service'))
   OR artifact = 'task'
   OR (artifact = 'mft' AND type = 'si' AND macb LIKE '%B%')
   OR (artifact = 'usn'))`
	where := "host_id IS NULL AND " + kinds
	if len(ids) > 0 {
		var in []string
		for _, id := range ids {
			in = append(in, strconv.FormatInt(id, 10))
		}
		where = "(host_id IN (" + strings.Join(in, ",") + ") OR host_id IS NULL) AND " + kinds
	}
	byID := map[int64]string{}
	for _, id := range ids {
		byID[id] = host
	}
	rows, err := c.DB.QueryContext(ctx, `SELECT id, ts, COALESCE(host_id, 0), artifact, type, `+timeline.FieldsSQL+`, path FROM events e WHERE `+where)
	if err != nil {
		return nil, nil, fmt.Errorf("movement: arrival on %s: %w", host, err)
	}
	defer rows.Close()
	d := &decoder{keys: map[string]string{}}
	var out []*ev
	paths := map[int64]string{}
	b := &batch{}
	for rows.Next() {
		var r rawRow
		var path string
		if err := rows.Scan(&r.id, &r.ts, &r.host, &r.artifact, &r.typ, &r.fjs, &path); err != nil {
			return nil, nil, fmt.Errorf("movement: arrival on %s: %w", host, err)
		}
		if path != "" && r.artifact != "evtx" {
			paths[r.id] = path
		}
		b.rows = append(b.rows, r)
		if len(b.rows) == loadBatch {
			out = append(out, decodeAll(d, b, byID, host)...)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("movement: arrival on %s: %w", host, err)
	}
	out = append(out, decodeAll(d, b, byID, host)...)
	slices.SortFunc(out, func(a, b *ev) int {
		if a.TS != b.TS {
			return cmp.Compare(a.TS, b.TS)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, paths, nil
}

// decodeAll decodes a batch keeping every field and returns the events of
// host; the batch is emptied.
func decodeAll(d *decoder, b *batch, byID map[int64]string, host string) []*ev {
	d.vals, d.refs = d.vals[:0], make([]fieldRef, 0, 24*len(b.rows))
	var out []*ev
	type span struct{ from, to int }
	var spans []span
	var evs []ev
	for _, r := range b.rows {
		from, to, ok := d.decode(r.fjs, nil, true)
		if !ok {
			continue
		}
		spans = append(spans, span{from, to})
		evs = append(evs, ev{ID: r.id, TS: event.FileTime(r.ts), Host: byID[r.host], Artifact: r.artifact, Type: r.typ})
	}
	vals := string(d.vals)
	for i := range evs {
		e := &evs[i]
		e.f = fields{vals: vals, refs: d.refs[spans[i].from:spans[i].to:spans[i].to]}
		if e.Host == "" {
			e.Host = hostKey(e.s("computer"))
		}
		if e.Host == host {
			out = append(out, e)
		}
	}
	b.rows = b.rows[:0]
	return out
}

// proc is one process creation (4688 and its Sysmon 1 twin are one).
type proc struct {
	e                  *ev
	ids                []int64
	ts                 event.FileTime
	pid, ppid          int64
	guid, pguid        string
	image, parentImage string // normalised
	cmd, user, sid     string
	logon              uint64
	parent             *proc
	ours, quiet        bool
	why                string
}

func (p *proc) text() string {
	if p.cmd != "" {
		return p.cmd
	}
	return p.e.s("process")
}

// session is a logon session the attacker owns on the host.
type attackerSession struct {
	why string
	ts  event.FileTime
}

// hopService and hopTask are what an arriving hop created.
type hopService struct {
	name, image string
	ts          event.FileTime
	why         string
}

type hopTask struct {
	name, command string
	ts            event.FileTime
	why           string
}

// arrivalHost is one compromised host being summarised.
type arrivalHost struct {
	host  string
	since event.FileTime
	id    *Identity
	evs   []*ev
	paths map[int64]string // the path column of non-evtx events
	byID  map[int64]*ev
	procs []*proc
	byPID map[int64][]*proc // built on first use
	ofEv  map[int64]*proc   // event id → process
	// boots are the host's recorded boot times (raw).
	boots []event.FileTime
	// logons are every 4624 session id seen on the host.
	logons map[uint64]*ev

	sessions map[uint64]attackerSession
	roots    map[*proc]string
	services []hopService
	tasks    []hopTask
	inHops   []*Hop
	outHops  []*Hop
	// named are files the attacker's commands, persistence or hops name
	// on this host: normalised path → why.
	named map[string]string
	// programDirs are the folders of programs the attacker brought:
	// folder (with its trailing backslash) → program name.
	programDirs map[string]string
}

func newArrivalHost(host string, since event.FileTime, evs []*ev, id *Identity) *arrivalHost {
	a := &arrivalHost{host: host, since: since, id: id, evs: evs, byID: map[int64]*ev{}, ofEv: map[int64]*proc{},
		logons: map[uint64]*ev{}, sessions: map[uint64]attackerSession{}, roots: map[*proc]string{}, named: map[string]string{}, programDirs: map[string]string{}}
	byGUID := map[string]*proc{}
	byPID := map[int64]*proc{}
	byImage := map[string]*proc{} // base name|logon → latest
	var recent []*proc            // for twin merging
	for _, e := range evs {
		a.byID[e.ID] = e
		if e.Artifact != "evtx" {
			continue
		}
		switch e.Type {
		case "4608", "6005", "6009", "12":
			if e.Type == "4608" && fromProvider(e, "security") || (e.Type == "6005" || e.Type == "6009") && fromProvider(e, "eventlog") ||
				e.Type == "12" && fromProvider(e, "kernel-general") {
				a.boots = append(a.boots, e.TS)
				clear(byPID)
				clear(byImage)
			}
		case "4624":
			if l := logonID(e.s("target_logon_id")); l != 0 {
				a.logons[l] = e
			}
		case "4688", "1":
			if e.Type == "1" && !fromProvider(e, "sysmon") {
				continue
			}
			p := &proc{e: e, ids: []int64{e.ID}, ts: e.TS, pid: e.n("process_id"), image: event.NormalizePath(e.s("process")),
				parentImage: event.NormalizePath(e.s("parent_process")), cmd: e.s("command_line"), user: e.s("subject_user")}
			if e.Type == "4688" {
				p.ppid = e.n("data.ProcessId")
				p.logon = logonID(e.s("target_logon_id"))
				if p.logon == 0 {
					p.logon = logonID(e.s("logon_id"))
				}
				p.sid = e.s("data.SubjectUserSid")
				if u := e.s("data.TargetUserName"); u != "" && u != "-" {
					p.user = e.s("data.TargetDomainName") + `\` + u
					p.sid = e.s("data.TargetUserSid")
				}
			} else {
				p.ppid = e.n("data.ParentProcessId")
				p.guid, p.pguid = guidKey(e.s("data.ProcessGuid")), guidKey(e.s("data.ParentProcessGuid"))
				p.logon = logonID(e.s("logon_id"))
				if u := e.s("data.User"); u != "" {
					p.user = u // the event's own user id is Sysmon's (SYSTEM)
				}
			}
			if p.pid == 0 {
				p.pid = e.n("data.ProcessId")
			}
			// The same process in Security and Sysmon: same id and image,
			// within a second or two.
			var twin *proc
			for i := len(recent) - 1; i >= 0 && e.TS-recent[i].ts <= 2*second; i-- {
				q := recent[i]
				if q.pid == p.pid && q.image == p.image && q.e.Type != e.Type && len(q.ids) == 1 {
					twin = q
					break
				}
			}
			if twin != nil {
				twin.ids = append(twin.ids, e.ID)
				a.ofEv[e.ID] = twin
				if twin.guid == "" {
					twin.guid, twin.pguid = p.guid, p.pguid
					if p.guid != "" {
						byGUID[p.guid] = twin
					}
				}
				if twin.parent == nil {
					twin.parent = a.resolveParent(p, byGUID, byPID, byImage)
				}
				continue
			}
			p.parent = a.resolveParent(p, byGUID, byPID, byImage)
			a.procs = append(a.procs, p)
			a.ofEv[e.ID] = p
			if p.guid != "" {
				byGUID[p.guid] = p
			}
			if p.pid != 0 {
				byPID[p.pid] = p
			}
			byImage[baseName(p.image)+"|"+strconv.FormatUint(p.logon, 16)] = p
			recent = append(recent, p)
			if len(recent) > 64 {
				recent = recent[len(recent)-32:]
			}
		}
	}
	return a
}

// resolveParent finds a process's parent: by Sysmon's parent GUID, else by
// the creator's process id (the latest earlier creation of that id since
// boot, when its image is the parent image the event names), else — when
// the ids do not chain, as in logs whose ids were not kept — the latest
// earlier process of the parent's image in the same logon session.
func (a *arrivalHost) resolveParent(p *proc, byGUID map[string]*proc, byPID map[int64]*proc, byImage map[string]*proc) *proc {
	if p.pguid != "" {
		if q := byGUID[p.pguid]; q != nil {
			return q
		}
	}
	pb := baseName(p.parentImage)
	if q := byPID[p.ppid]; q != nil && p.ppid != 0 && (pb == "" || baseName(q.image) == pb) {
		return q
	}
	if pb == "" {
		return nil
	}
	if q := byImage[pb+"|"+strconv.FormatUint(p.logon, 16)]; q != nil && (!strings.Contains(p.parentImage, `\`) || q.image == p.parentImage) {
		return q
	}
	return nil
}

// logonID parses a logon id (hex, any padding); 0 when absent.
func logonID(s string) uint64 {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		v, _ := strconv.ParseUint(s[2:], 16, 64)
		return v
	}
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}

// systemLogons are the sessions of SYSTEM, LOCAL SERVICE, NETWORK SERVICE
// and IUSR: shared by every service, never one user's.
var systemLogons = map[uint64]bool{0: true, 0x3e7: true, 0x3e5: true, 0x3e4: true, 0x3e3: true}

// sideEvents are a hop's events on one side (destination, source) that
// this host's evidence holds.
func (a *arrivalHost) sideEvents(h *Hop, side string) []*ev {
	var out []*ev
	for _, r := range h.Evidence {
		if e := a.byID[r.EventID]; e != nil && r.Side == side {
			out = append(out, e)
		}
	}
	return out
}

// linkHops collects what each hop into or out of this host brought: the
// logon sessions it opened, the processes, services and tasks of its
// destination evidence, and the source-side events on this host.
func (a *arrivalHost) linkHops(tr *Trace) {
	for i := range tr.Hops {
		h := &tr.Hops[i]
		label := fmt.Sprintf("%s from %s as %s", h.Technique, h.Source, h.Account)
		if h.Destination == a.host {
			a.inHops = append(a.inHops, h)
			for _, e := range a.sideEvents(h, "destination") {
				switch e.Type {
				case "4624":
					if l := logonID(e.s("target_logon_id")); l != 0 && !systemLogons[l] {
						a.addSession(l, "in the logon session of the hop ("+label+")", e.TS)
					}
				case "4688", "1":
					if p := a.ofEv[e.ID]; p != nil {
						a.root(p, "started by the hop ("+label+")")
					}
				case "7045", "4697":
					img := e.s("image_path")
					if img == "" {
						img = e.s("data.ServiceFileName")
					}
					a.services = append(a.services, hopService{name: e.s("service_name"), image: img, ts: e.TS, why: "installed by the hop (" + label + ")"})
				case "4698", "4702", "106":
					a.tasks = append(a.tasks, hopTask{name: e.s("task_name"), command: taskCommand(e), ts: e.TS, why: "registered by the hop (" + label + ")"})
				}
			}
		}
		if h.Source == a.host {
			a.outHops = append(a.outHops, h)
			for _, e := range a.sideEvents(h, "source") {
				switch e.Type {
				case "4624":
					if l := logonID(e.s("target_logon_id")); l != 0 && !systemLogons[l] {
						a.addSession(l, fmt.Sprintf("in the type-%s logon that prepared the hop to %s", e.s("logon_type"), h.Destination), e.TS)
					}
				case "4688", "1":
					if p := a.ofEv[e.ID]; p != nil {
						a.root(p, fmt.Sprintf("source of the hop to %s (%s)", h.Destination, h.Technique))
					}
				case "4104":
					if p := a.scriptHost(e); p != nil {
						a.root(p, fmt.Sprintf("ran the script block of the hop to %s (%s)", h.Destination, h.Technique))
					}
				}
			}
		}
	}
	// A hop's task or service names what it runs; its XML and binary are
	// the hop's files.
	for _, t := range a.tasks {
		if t.name != "" {
			a.name(`\windows\system32\tasks\`+strings.TrimLeft(strings.ToLower(t.name), `\`), "the task file of "+strings.TrimLeft(t.name, `\`))
		}
		a.nameCommand(t.command, "run by the task "+t.name)
	}
	for _, s := range a.services {
		a.nameCommand(s.image, "run by the service "+s.name)
	}
	// Files written over an admin share in a hop's session.
	for _, e := range a.evs {
		if e.Artifact != "evtx" || e.Type != "5145" || e.TS < a.since {
			continue
		}
		if _, ok := a.sessions[logonID(e.s("logon_id"))]; !ok || !shareWrite(e) {
			continue
		}
		local := event.NormalizePath(e.s("data.ShareLocalPath"))
		rel := strings.TrimLeft(event.NormalizePath(e.s("relative_target")), `\`)
		if rel == "" || strings.HasSuffix(strings.ToUpper(e.s("share_name")), `\IPC$`) {
			continue
		}
		a.name(strings.TrimRight(local, `\`)+`\`+rel, "written over "+strings.TrimLeft(e.s("share_name"), `\*`)+" in the hop's session")
	}
}

// scriptHost is the PowerShell process that logged a script block: the
// process id the event records, else the latest PowerShell started
// before it by the same user.
func (a *arrivalHost) scriptHost(e *ev) *proc {
	if pid := e.n("exec_process_id"); pid != 0 {
		if p := a.latestProc(pid, "", e.TS); p != nil {
			return p
		}
	}
	sid := e.s("user_sid")
	var best *proc
	for _, p := range a.procs {
		if p.ts > e.TS {
			break
		}
		switch baseName(p.image) {
		case "powershell.exe", "pwsh.exe", "powershell_ise.exe":
			if sid == "" || p.sid == "" || strings.EqualFold(p.sid, sid) {
				best = p
			}
		}
	}
	return best
}

func (a *arrivalHost) addSession(l uint64, why string, ts event.FileTime) {
	if _, ok := a.sessions[l]; !ok {
		a.sessions[l] = attackerSession{why: why, ts: ts}
	}
}

func (a *arrivalHost) root(p *proc, why string) {
	if _, ok := a.roots[p]; !ok {
		a.roots[p] = why
	}
}

// shareWrite: a 5145 that wrote or appended data.
func shareWrite(e *ev) bool {
	list := e.s("data.AccessList")
	if strings.Contains(list, "%%4417") || strings.Contains(list, "%%4418") {
		return true
	}
	return e.n("access_mask")&0x6 != 0 || e.n("data.AccessMask")&0x6 != 0
}

var reTaskCommand = regexp.MustCompile(`(?is)<Command>(.*?)</Command>(?:\s*<Arguments>(.*?)</Arguments>)?`)

// taskCommand is the command line a task runs (4698/4702 XML), "" when
// the event does not carry it.
func taskCommand(e *ev) string {
	x := e.s("task_content")
	if x == "" {
		x = e.s("data.TaskContent")
	}
	if x == "" {
		x = e.s("data.TaskContentNew")
	}
	m := reTaskCommand.FindStringSubmatch(x)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(xmlText(m[1]) + " " + xmlText(m[2]))
}

func xmlText(s string) string {
	return strings.TrimSpace(strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&apos;", "'").Replace(s))
}

// remoteHosts are the images that run code for a remote caller.
func remoteHost(p *proc) bool {
	b := baseName(p.image)
	switch b {
	case "wmiprvse.exe", "wsmprovhost.exe", "winrshost.exe":
		return true
	}
	return psexecName.MatchString(b) || dcomLaunch(p.image, p.cmd)
}

// quietImages are started by Windows for every session (the RDP clipboard,
// the shell, the console host): in the attacker's session they are not its
// choice, so the list leaves them out, though they still chain.
var quietImages = map[string]bool{
	"rdpclip.exe": true, "userinit.exe": true, "sihost.exe": true, "ctfmon.exe": true, "taskhostw.exe": true,
	"dwm.exe": true, "fontdrvhost.exe": true, "runtimebroker.exe": true, "conhost.exe": true, "explorer.exe": true,
	"smartscreen.exe": true, "textinputhost.exe": true, "startmenuexperiencehost.exe": true, "shellexperiencehost.exe": true,
	"searchapp.exe": true, "searchui.exe": true, "securityhealthsystray.exe": true, "onedrive.exe": true, "dllhost.exe": true,
}

// credentialAccess are command lines that read credentials: LSASS dumps
// (comsvcs MiniDump, procdump, mimikatz), the AD database (ntdsutil ifm)
// and the SAM/SECURITY hives.
var credentialAccess = regexp.MustCompile(`(?i)(comsvcs(\.dll)?["']?\s*,?\s*#?(minidump|#24)|sekurlsa::|lsadump::|procdump(64)?(\.exe)?["']?\s.*\blsass|ntdsutil.*["'\s]ifm\b|reg(\.exe)?["']?\s+save\s+hklm\\(sam|security|system)\b|out-minidump|\\lsass\.dmp\b)`)

// markProcesses finds the attacker's processes: the seed, the hops' roots,
// the remote-execution hosts serving them, the payloads of the hops'
// services and tasks, processes in the attacker's sessions, remote
// commands aimed at a host the path reaches from here, credential theft;
// then every descendant.
func (a *arrivalHost) markProcesses(tr *Trace) {
	if a.host == tr.Seed.Host {
		seed := event.NormalizePath(tr.Seed.Path)
		var first *proc
		for _, p := range a.procs {
			if slices.Contains(p.ids, tr.Seed.EventID) {
				first = p
				break
			}
			if first == nil && p.image == seed && p.ts >= a.since-second {
				first = p
			}
		}
		if first != nil {
			a.root(first, "the seed")
		}
	}
	destOf := map[string]bool{} // hosts the path reaches from here
	for _, h := range a.outHops {
		destOf[h.Destination] = true
	}
	for _, p := range a.procs {
		if p.ts < a.since {
			continue
		}
		if s, ok := a.sessions[p.logon]; ok && p.ts >= s.ts-second {
			a.root(p, s.why)
		}
		for _, s := range a.services {
			if p.ts >= s.ts-second && p.ts-s.ts <= hopArtifactWindow && baseName(p.parentImage) == "services.exe" && sameCommand(p, s.image) {
				a.root(p, "the service "+s.name+" "+s.why)
			}
		}
		for _, t := range a.tasks {
			if p.ts >= t.ts && t.command != "" && sameCommand(p, t.command) {
				a.root(p, "the task "+strings.TrimLeft(t.name, `\`)+" "+t.why)
			}
		}
		if mayTarget(p.cmd) {
			if tech, target := commandTarget(p.cmd); tech != "" {
				if d := a.id.find(target, p.ts); d != "" && destOf[d] {
					a.root(p, fmt.Sprintf("%s command to %s, which the path reaches from here", tech, d))
				}
			}
		}
		if credentialAccess.MatchString(p.cmd) {
			a.root(p, "credential access after the compromise")
		}
	}
	a.orphanSessions()
	// The remote-execution host that serves a hop (WmiPrvSE for wmic,
	// wsmprovhost, mmc -Embedding, PSEXESVC) is part of the arrival.
	for p := range a.roots {
		q := p.parent
		if q == nil || q.ts < a.since || !remoteHost(q) {
			continue
		}
		for _, h := range a.inHops {
			if q.ts >= h.Time-5*second && q.ts-h.Time <= serveWindow {
				a.root(q, "serves the hop ("+h.Technique+" from "+h.Source+")")
			}
		}
	}
	for _, p := range a.procs {
		if why, ok := a.roots[p]; ok {
			p.ours, p.why = true, why
		} else if p.parent != nil && p.parent.ours && p.ts >= a.since {
			p.ours, p.why = true, "child of "+baseName(p.parent.image)
		}
		if p.ours {
			_, root := a.roots[p]
			p.quiet = quietImages[baseName(p.image)] && !(root && !strings.HasPrefix(p.why, "in the "))
		}
	}
}

// orphanSessions attributes sessions no logon event records (their 4624
// was not kept) to the interactive hop of the same account: an RDP
// attacker's programs run in a session whose logon id only they show.
func (a *arrivalHost) orphanSessions() {
	type rdp struct {
		account string
		ts      event.FileTime
		why     string
	}
	var hops []rdp
	for _, h := range a.inHops {
		for _, r := range h.Evidence {
			if e := a.byID[r.EventID]; e != nil && e.Type == "4624" {
				if lt := e.n("logon_type"); lt == 10 || lt == 12 || lt == 2 {
					hops = append(hops, rdp{accountKey(e.s("target_user")), e.TS, "in the interactive session of the hop (" + h.Technique + " from " + h.Source + " as " + h.Account + ")"})
				}
			}
		}
	}
	if len(hops) == 0 {
		return
	}
	// latest interactive logon of a hop's account before t
	interactive := map[string][]event.FileTime{}
	for _, h := range hops {
		interactive[h.account] = nil
	}
	for _, e := range a.evs {
		if e.Type == "4624" && e.Artifact == "evtx" {
			if lt := e.n("logon_type"); lt == 2 || lt == 10 || lt == 11 || lt == 12 {
				if k := accountKey(e.s("target_user")); k != "" {
					if ts, ok := interactive[k]; ok {
						interactive[k] = append(ts, e.TS)
					}
				}
			}
		}
	}
	latest := func(acct string, t event.FileTime) event.FileTime {
		ts := interactive[acct]
		i := sort.Search(len(ts), func(i int) bool { return ts[i] > t })
		if i == 0 {
			return 0
		}
		return ts[i-1]
	}
	check := func(l uint64, user string, t event.FileTime) {
		if l == 0 || systemLogons[l] || a.logons[l] != nil || t < a.since {
			return
		}
		if _, ok := a.sessions[l]; ok {
			return
		}
		acct := accountKey(user)
		if _, ok := interactive[acct]; !ok {
			return
		}
		for _, h := range hops {
			if h.account == acct && h.ts <= t && latest(acct, t) == h.ts {
				a.addSession(l, h.why, h.ts)
				return
			}
		}
	}
	for _, p := range a.procs {
		check(p.logon, p.user, p.ts)
		if s, ok := a.sessions[p.logon]; ok && p.ts >= s.ts {
			a.root(p, s.why)
		}
	}
	for _, e := range a.evs {
		if e.Artifact == "evtx" && (e.Type == "4657" || e.Type == "4648") {
			check(logonID(e.s("logon_id")), e.s("subject_user"), e.TS)
		}
	}
}

// sameCommand: the process runs cmd (a service ImagePath or a task's
// command): the same executable and, when cmd has arguments, the same
// arguments.
func sameCommand(p *proc, cmd string) bool {
	exe, args := splitCommand(cmd)
	if exe == "" {
		return false
	}
	if strings.Contains(exe, `\`) && p.image != exe || baseName(p.image) != baseName(exe) {
		return false
	}
	if args == "" {
		return true
	}
	_, pargs := splitCommand(p.cmd)
	return strings.EqualFold(strings.Join(strings.Fields(args), " "), strings.Join(strings.Fields(pargs), " "))
}

// splitCommand splits a command line into its normalised executable and
// its arguments.
func splitCommand(cmd string) (string, string) {
	cmd = strings.TrimSpace(cmd)
	if cmd == "" {
		return "", ""
	}
	var exe, rest string
	if cmd[0] == '"' {
		if i := strings.IndexByte(cmd[1:], '"'); i >= 0 {
			exe, rest = cmd[1:i+1], cmd[i+2:]
		} else {
			exe = cmd[1:]
		}
	} else if i := strings.IndexAny(cmd, " \t"); i >= 0 {
		exe, rest = cmd[:i], cmd[i+1:]
	} else {
		exe = cmd
	}
	return expandEnv(event.NormalizePath(exe)), strings.TrimSpace(rest)
}

// expandEnv expands what NormalizePath leaves: %COMSPEC%.
func expandEnv(p string) string {
	if strings.HasPrefix(p, `%comspec%`) {
		return `\windows\system32\cmd.exe` + p[len(`%comspec%`):]
	}
	return p
}

// find resolves a host name or address at t to a host, without creating
// nodes; "" when unknown.
func (id *Identity) find(s string, t event.FileTime) string {
	if ip := normIP(s); ip != "" {
		if isLoopback(ip) {
			return ""
		}
		h, _ := id.Resolve(ip, t)
		return h
	}
	k := hostKey(s)
	if n, ok := id.alias[strings.ToUpper(k)]; ok {
		return n
	}
	if _, ok := id.Hosts[k]; ok {
		return k
	}
	return ""
}

var (
	// rePathQuoted and rePathBare find file paths in a command line: a
	// drive path, an environment-variable path or a UNC path.
	rePathQuoted = regexp.MustCompile(`"((?:[A-Za-z]:|%[A-Za-z_()]+%)\\[^"]+|\\\\[^"\\]+\\[^"]+)"`)
	rePathBare   = regexp.MustCompile(`(?:^|[\s=,(])((?:[A-Za-z]:|%[A-Za-z_()]+%)\\[^\s"',;|<>]+|\\\\[A-Za-z0-9_.\-]+\\[^\s"',;|<>]+)`)
	reAdminUNC   = regexp.MustCompile(`(?i)^\\\\([^\\]+)\\([a-z]\$|admin\$)(\\.*)?$`)
)

// commandPaths are the file paths a command line names.
func commandPaths(cmd string) []string {
	var out []string
	for _, m := range rePathQuoted.FindAllStringSubmatch(cmd, -1) {
		out = append(out, m[1])
	}
	for _, m := range rePathBare.FindAllStringSubmatch(cmd, -1) {
		out = append(out, m[1])
	}
	return out
}

// remoteExecution are the techniques whose command runs on the target:
// the local-looking paths in it are the target's.
var remoteExecution = map[string]bool{PsExec: true, WMI: true, ScheduledTask: true, RemoteService: true, WinRM: true, DCOM: true}

func (a *arrivalHost) name(norm, why string) {
	norm = strings.TrimRight(norm, `\`)
	if norm == "" || !strings.HasPrefix(norm, `\`) || strings.HasPrefix(norm, `\\`) {
		return
	}
	if _, ok := a.named[norm]; !ok {
		a.named[norm] = why
	}
}

// nameCommand names the files of a command that runs here (a service's
// image, a task's command).
func (a *arrivalHost) nameCommand(cmd, why string) {
	if cmd == "" {
		return
	}
	if exe, _ := splitCommand(cmd); strings.Contains(exe, `\`) {
		a.name(exe, why)
	}
	for _, p := range commandPaths(cmd) {
		if n := expandEnv(event.NormalizePath(p)); !strings.HasPrefix(n, `\\`) {
			a.name(n, why)
		}
	}
}

// nameFromCommands names the files the attacker's commands on this host
// mention, on the host each names them on, and its programs' own images.
func (a *arrivalHost) nameFromCommands(hosts map[string]*arrivalHost) {
	for _, p := range a.procs {
		if !p.ours {
			continue
		}
		a.name(p.image, "the program of an attacker process")
		tech, target := commandTarget(p.cmd)
		remote := ""
		if remoteExecution[tech] {
			remote = a.id.find(target, p.ts)
		}
		// The program runs here; its arguments may name the target's files.
		exe, args := splitCommand(p.cmd)
		if strings.Contains(exe, `\`) {
			a.name(exe, "the program of an attacker process")
		}
		for _, raw := range commandPaths(args) {
			n := expandEnv(event.NormalizePath(raw))
			why := "named by " + baseName(p.image) + " (" + a.host + ")"
			if strings.HasPrefix(n, `\\`) {
				m := reAdminUNC.FindStringSubmatch(n)
				if m == nil {
					continue
				}
				h := a.id.find(m[1], p.ts)
				if m[1] == "127.0.0.1" || strings.EqualFold(m[1], "localhost") {
					h = a.host
				}
				rest := m[3]
				if strings.EqualFold(m[2], "admin$") {
					rest = `\windows` + rest
				}
				if t := hosts[h]; t != nil {
					t.name(rest, why)
				}
				continue
			}
			if remote != "" {
				if t := hosts[remote]; t != nil {
					t.name(n, why)
				}
				continue
			}
			a.name(n, why)
		}
	}
}

// fileEvent is one creation of a file.
type fileEvent struct {
	e    *ev
	path string // normalised
	raw  string
	by   *proc // Sysmon 11's creator, when known
}

// summary builds the host's lists.
func (a *arrivalHost) summary() Arrival {
	ar := Arrival{Host: a.host, Since: a.since}
	attackerImages := map[string]bool{}
	for _, p := range a.procs {
		if p.ours && !p.quiet && p.ts >= a.since {
			ar.Processes = appendFact(ar.Processes, Fact{Time: p.ts, Text: p.text(), EventID: p.ids[0], Also: p.ids[1:], Subject: p.text(), Why: p.why})
		}
		// Programs the attacker brought, not Windows' or installed ones
		// it merely ran.
		if p.ours && !strings.HasPrefix(p.image, `\windows\`) && !strings.HasPrefix(p.image, `\program files`) && strings.HasPrefix(p.image, `\`) {
			attackerImages[p.image] = true
			a.programDirs[p.image[:strings.LastIndexByte(p.image, '\\')+1]] = baseName(p.image)
		}
	}
	persist := a.persistence(attackerImages, nil)
	for _, f := range persist {
		for _, n := range f.names {
			a.name(n, "named by the persistence "+f.Subject)
		}
	}
	files := a.files()
	dropped := map[string]bool{}
	for _, f := range files {
		dropped[f.Subject] = true
		ar.Files = appendFact(ar.Files, f)
	}
	for _, f := range a.persistence(attackerImages, dropped) {
		ar.Persistence = appendFact(ar.Persistence, f.Fact)
	}
	for _, p := range a.procs {
		if !p.ours && p.ts >= a.since && dropped[p.image] {
			ar.Others = appendFact(ar.Others, Fact{Time: p.ts, Text: p.text(), EventID: p.ids[0], Also: p.ids[1:], Subject: p.text(),
				Why: "runs " + p.image + ", which the attacker dropped"})
		}
	}
	ar.Credentials = a.credentials(dropped)
	return ar
}

func appendFact(list []Fact, f Fact) []Fact {
	if len(list) >= maxFacts {
		return list
	}
	if len(f.Also) > 8 {
		f.Also = f.Also[:8]
	}
	return append(list, f)
}

// files lists the files the attacker dropped: created after the
// compromise by an attacker process (Sysmon 11), named by its commands,
// persistence or hops, or created in a staging place or the process
// user's profile within a minute of an attacker process starting.
func (a *arrivalHost) files() []Fact {
	var creations []fileEvent
	byGUID := map[string]*proc{}
	for _, p := range a.procs {
		if p.guid != "" {
			byGUID[p.guid] = p
		}
	}
	for _, e := range a.evs {
		if e.TS < a.since {
			continue
		}
		var raw string
		var by *proc
		switch {
		case e.Artifact == "mft":
			if e.s("dir") == "true" || !strings.Contains(e.s("attr"), "SI") && e.s("attr") != "" {
				continue
			}
			raw = a.pathOf(e)
		case e.Artifact == "usn":
			if !strings.Contains(e.s("reasons"), "FILE_CREATE") || strings.Contains(e.s("attributes"), "directory") {
				continue
			}
			raw = a.pathOf(e)
		case e.Artifact == "evtx" && e.Type == "11" && fromProvider(e, "sysmon"):
			raw = e.s("data.TargetFilename")
			by = byGUID[guidKey(e.s("data.ProcessGuid"))]
			if by == nil {
				by = a.latestProc(e.n("process_id"), event.NormalizePath(e.s("process")), e.TS)
			}
		default:
			continue
		}
		if raw == "" {
			raw = a.pathOf(e)
		}
		if n := event.NormalizePath(raw); n != "" && !strings.HasPrefix(n, `\windows\prefetch\`) {
			creations = append(creations, fileEvent{e: e, path: n, raw: raw, by: by})
		}
	}
	// One fact per file, at its first creation since the compromise; the
	// strongest tie wins: its creator (Sysmon 11), a name, the time.
	var order []string
	byPath := map[string][]fileEvent{}
	for _, c := range creations {
		if _, ok := byPath[c.path]; !ok {
			order = append(order, c.path)
		}
		byPath[c.path] = append(byPath[c.path], c)
	}
	var out []Fact
	for _, path := range order {
		cs := byPath[path]
		why := ""
		for _, c := range cs {
			if c.by != nil && c.by.ours {
				why = "created by the attacker's " + baseName(c.by.image) + " (Sysmon 11)"
				break
			}
		}
		if why == "" {
			why = a.named[path]
		}
		if why == "" {
			why = a.droppedNear(cs[0])
		}
		if why == "" && psexecKey.MatchString(path) {
			for _, h := range a.inHops {
				if h.Technique == PsExec && cs[0].e.TS >= h.Time && cs[0].e.TS-h.Time <= hopArtifactWindow {
					why = "PsExec's key file, written for the hop from " + h.Source
				}
			}
		}
		if why == "" {
			continue
		}
		f := Fact{Time: cs[0].e.TS, Text: cs[0].raw, EventID: cs[0].e.ID, Subject: path, Why: why}
		for _, c := range cs[1:] {
			f.Also = append(f.Also, c.e.ID)
		}
		out = append(out, f)
	}
	return out
}

// pathOf is an event's path column, which the fields may not repeat.
func (a *arrivalHost) pathOf(e *ev) string {
	if p := a.paths[e.ID]; p != "" {
		return p
	}
	for _, k := range []string{"path", "full_path", "target_path"} {
		if v := e.s(k); v != "" {
			return v
		}
	}
	return ""
}

// latestProc is the latest process with that id and image started
// before t.
func (a *arrivalHost) latestProc(pid int64, image string, t event.FileTime) *proc {
	if a.byPID == nil {
		a.byPID = map[int64][]*proc{}
		for _, p := range a.procs {
			a.byPID[p.pid] = append(a.byPID[p.pid], p)
		}
	}
	var best *proc
	for _, p := range a.byPID[pid] {
		if p.ts > t {
			break
		}
		if image == "" || p.image == image {
			best = p
		}
	}
	return best
}

// droppedNear: a file created in a staging place within dropWindow after
// an attacker process started, or within programWindow in the folder of
// a program the attacker brought (the installer's payload beside it).
func (a *arrivalHost) droppedNear(c fileEvent) string {
	dir := c.path[:strings.LastIndexByte(c.path, '\\')+1]
	for _, p := range a.procs {
		if p.ts > c.e.TS+second {
			break
		}
		if !p.ours || p.quiet || p.ts < a.since || c.e.TS-p.ts > programWindow {
			continue
		}
		near := fmt.Sprintf("created %.0f s after %s started", float64(c.e.TS-p.ts)/1e7, baseName(p.image))
		if c.e.TS-p.ts <= dropWindow && stagingPath(c.path) && !strings.HasPrefix(c.path, `\programdata\microsoft\`) {
			return near + ", in a staging folder"
		}
		if prog := a.programDirs[dir]; prog != "" {
			return near + ", beside the attacker's " + prog
		}
	}
	return ""
}

// persistFact is a persistence item and the files its command names.
type persistFact struct {
	Fact
	names []string
}

var reServiceKey = regexp.MustCompile(`(?i)\\services\\([^\\]+)(\\|$)`)

// persistence lists Run keys, services and tasks the attacker set: made
// in its sessions or by its processes or hops, or whose command names a
// program it ran or a file it dropped (dropped nil: the first pass, before
// files are known). A service key's last-write time alone is not enough.
func (a *arrivalHost) persistence(images, dropped map[string]bool) []persistFact {
	var out []persistFact
	idx := map[string]int{}
	names := func(cmd string) ([]string, []string) {
		var ns []string
		exe, _ := splitCommand(cmd)
		cands := []string{exe}
		for _, p := range commandPaths(cmd) {
			cands = append(cands, expandEnv(event.NormalizePath(p)))
		}
		if n := expandEnv(event.NormalizePath(cmd)); strings.HasPrefix(n, `\`) && !strings.Contains(n, " ") {
			cands = append(cands, n)
		}
		var hits []string
		for _, n := range cands {
			if n == "" || !strings.HasPrefix(n, `\`) || strings.HasPrefix(n, `\\`) || slices.Contains(ns, n) {
				continue
			}
			ns = append(ns, n)
			if images[n] || dropped[n] {
				hits = append(hits, n)
			}
		}
		return hits, ns
	}
	add := func(e *ev, subject, text, value, why string, linked bool) {
		hits, ns := names(value)
		if i, ok := idx[strings.ToLower(subject)]; ok {
			f := &out[i]
			if len(f.Also) < 8 && f.EventID != e.ID {
				f.Also = append(f.Also, e.ID)
			}
			f.names = append(f.names, ns...)
			return
		}
		if !linked && len(hits) > 0 {
			linked, why = true, "names the attacker's "+strings.Join(hits, ", ")
		}
		if !linked {
			return
		}
		idx[strings.ToLower(subject)] = len(out)
		out = append(out, persistFact{Fact: Fact{Time: e.TS, Text: text, EventID: e.ID, Subject: subject, Why: why}, names: ns})
	}
	hopRef := map[int64]string{}
	for _, h := range a.inHops {
		for _, r := range h.Evidence {
			hopRef[r.EventID] = "created by the hop (" + h.Technique + " from " + h.Source + " as " + h.Account + ")"
		}
	}
	inSession := func(e *ev) (bool, string) {
		if w, ok := hopRef[e.ID]; ok {
			return true, w
		}
		if s, ok := a.sessions[logonID(e.s("logon_id"))]; ok && e.TS >= s.ts-second {
			return true, "made " + s.why
		}
		if p := a.latestProc(e.n("process_id"), event.NormalizePath(e.s("process")), e.TS); p != nil && p.ours && e.n("process_id") != 0 {
			return true, "made by the attacker's " + baseName(p.image)
		}
		return false, ""
	}
	// Linked items first, so that later events of the same key merge.
	for pass := 0; pass < 2; pass++ {
		for _, e := range a.evs {
			if e.TS < a.since || !persistenceEvent(e) {
				continue
			}
			linked, why := inSession(e)
			if pass == 0 && !linked {
				continue
			}
			switch {
			case e.Artifact == "registry" && e.Type == "run":
				n := e.s("name")
				add(e, "run "+n, fmt.Sprintf("Run key value %q: %s", n, e.s("command")), e.s("command"), why, linked)
			case e.Artifact == "registry" && e.Type == "service":
				n := e.s("service_name")
				v := e.s("image_path")
				if d := e.s("service_dll"); d != "" {
					v += " " + d
				}
				// A key's last write names no writer: it only joins an item
				// found otherwise, or one whose files are the attacker's.
				add(e, "service "+n, fmt.Sprintf("service %s: %s %s", n, e.s("image_path"), e.s("service_dll")), v, "its ImagePath or ServiceDll names the attacker's file", false)
			case e.Artifact == "evtx" && (e.Type == "7045" || e.Type == "4697"):
				n := e.s("service_name")
				img := e.s("image_path")
				if img == "" {
					img = e.s("data.ServiceFileName")
				}
				add(e, "service "+n, fmt.Sprintf("service %s installed: %s", n, img), img, why, linked)
			case e.Artifact == "evtx" && (e.Type == "4698" || e.Type == "4702" || e.Type == "106"):
				n := strings.TrimLeft(e.s("task_name"), `\`)
				cmd := taskCommand(e)
				add(e, "task "+n, fmt.Sprintf("scheduled task %s: %s", n, cmd), cmd, why, linked)
			case e.Artifact == "task":
				n := strings.TrimLeft(e.s("task_name"), `\`)
				cmd := strings.TrimSpace(e.s("command") + " " + e.s("arguments"))
				add(e, "task "+n, fmt.Sprintf("scheduled task %s: %s", n, cmd), cmd, why, linked)
			case e.Artifact == "evtx" && (e.Type == "4657" || e.Type == "13"):
				obj, val, data := e.s("data.ObjectName"), e.s("data.ObjectValueName"), e.s("data.NewValue")
				if e.Type == "13" {
					if !fromProvider(e, "sysmon") {
						continue
					}
					obj, data = e.s("data.TargetObject"), e.s("data.Details")
					if i := strings.LastIndexByte(obj, '\\'); i >= 0 {
						obj, val = obj[:i], obj[i+1:]
					}
				}
				subject, text := "", ""
				if m := reServiceKey.FindStringSubmatch(obj); m != nil {
					subject = "service " + m[1]
					text = fmt.Sprintf("service %s: %s set to %s", m[1], val, data)
				} else if strings.HasSuffix(strings.ToLower(obj), `\currentversion\run`) || strings.HasSuffix(strings.ToLower(obj), `\currentversion\runonce`) {
					subject = "run " + val
					text = fmt.Sprintf("Run key value %q set to %s", val, data)
				}
				if subject == "" {
					continue
				}
				add(e, subject, text, data, why, linked)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	return out
}

// persistenceEvent: an event persistence() reads.
func persistenceEvent(e *ev) bool {
	switch e.Artifact {
	case "registry":
		return e.Type == "run" || e.Type == "service"
	case "task":
		return true
	case "evtx":
		switch e.Type {
		case "7045", "4697", "4698", "4702", "106", "4657", "13":
			return true
		}
	}
	return false
}

// credentials lists credential access, the accounts used after the
// compromise, and those whose credentials sit in memory.
func (a *arrivalHost) credentials(dropped map[string]bool) []Fact {
	var out, routine []Fact
	for _, p := range a.procs {
		if p.ours && p.ts >= a.since && credentialAccess.MatchString(p.cmd) {
			out = append(out, Fact{Time: p.ts, Text: "credential access: " + p.text(), EventID: p.ids[0], Also: p.ids[1:], Why: p.why})
		}
	}
	used := map[string]bool{}
	for _, e := range a.evs {
		if e.TS < a.since || e.Artifact != "evtx" {
			continue
		}
		switch e.Type {
		case "10":
			if !fromProvider(e, "sysmon") || baseName(e.s("data.TargetImage")) != "lsass.exe" {
				continue
			}
			img := event.NormalizePath(e.s("data.SourceImage"))
			src := a.latestProc(e.n("data.SourceProcessId"), img, e.TS)
			why := ""
			switch {
			case src != nil && src.ours:
				why = "the attacker's " + baseName(src.image)
			case dropped[img]:
				why = "a program the attacker dropped"
			default:
				continue
			}
			out = append(out, Fact{Time: e.TS, Text: fmt.Sprintf("LSASS memory opened by %s (access %s)", e.s("data.SourceImage"), e.s("data.GrantedAccess")),
				EventID: e.ID, Why: why})
		case "4624":
			if e.n("logon_type") != 9 {
				continue
			}
			acct := e.s("data.TargetOutboundDomainName") + `\` + e.s("data.TargetOutboundUserName")
			if e.s("data.TargetOutboundUserName") == "" || isMachineOrSystem(acct) || used["9|"+accountKey(acct)] {
				continue
			}
			used["9|"+accountKey(acct)] = true
			out = append(out, Fact{Time: e.TS, Text: fmt.Sprintf("%s: credentials used through a NewCredentials logon (type 9) of %s", acct, e.s("target_user")),
				EventID: e.ID, Subject: acct, Why: "type-9 logon after the compromise"})
		case "4648":
			server := e.s("target_server")
			if server == "" {
				server = e.s("data.TargetServerName")
			}
			acct := e.s("target_user")
			if d := e.s("data.TargetDomainName"); d != "" && !strings.Contains(acct, `\`) {
				acct = d + `\` + acct
			}
			l := strings.ToLower(server)
			if server == "" || l == "localhost" || l == "-" || isLoopback(normIP(server)) || isMachineOrSystem(acct) || used["4648|"+accountKey(acct)+"|"+l] {
				continue
			}
			used["4648|"+accountKey(acct)+"|"+l] = true
			out = append(out, Fact{Time: e.TS, Text: fmt.Sprintf("%s: explicit credentials (4648) to %s by %s", acct, server, e.s("process")),
				EventID: e.ID, Subject: acct, Why: "explicit credentials after the compromise"})
		}
	}
	// One fact per account, technique and other end of the path's hops.
	hopFact := func(h *Hop, k, text, why string) {
		if used[k] || h.Account == "" {
			return
		}
		used[k] = true
		out = append(out, Fact{Time: h.Time, Text: text, EventID: firstRef(h), Subject: h.Account, Why: why})
	}
	for _, h := range a.outHops {
		hopFact(h, "hop|"+accountKey(h.Account)+"|"+h.Technique+"|"+h.Destination,
			fmt.Sprintf("%s: used for %s to %s (%s)", h.Account, h.Technique, h.Destination, h.Authentication),
			"a hop of the path leaves from here")
	}
	for _, h := range a.inHops {
		hopFact(h, "in|"+accountKey(h.Account)+"|"+h.Technique+"|"+h.Source,
			fmt.Sprintf("%s: the attacker arrived with it (%s from %s, %s)", h.Account, h.Technique, h.Source, h.Authentication),
			"a hop of the path arrives here")
	}
	// Logons that leave reusable credentials, since the last boot before
	// the compromise.
	boot := event.FileTime(0)
	for _, b := range a.boots {
		if b <= a.since {
			boot = b
		}
	}
	// One group per account: whether it recurs is the account's habit,
	// whatever the kind of logon.
	type group struct {
		acct          string
		kinds         []string
		before, after *ev
		nAfter        int
		days          map[int64]bool // days (UTC, host clock) with such a logon before the compromise
	}
	groups := map[string]*group{}
	var order []string
	for _, e := range a.evs {
		if e.Artifact != "evtx" || e.Type != "4624" {
			continue
		}
		kind := exposingLogon(e)
		if kind == "" {
			continue
		}
		acct := e.s("target_user")
		k := accountKey(acct)
		g := groups[k]
		if g == nil {
			g = &group{acct: acct, days: map[int64]bool{}}
			groups[k] = g
			order = append(order, k)
		}
		if !slices.Contains(g.kinds, kind) {
			g.kinds = append(g.kinds, kind)
		}
		if e.TS < a.since {
			g.days[int64(e.TS)/int64(24*3600*second)] = true
			if e.TS >= boot {
				g.before = e
			}
		} else {
			if g.after == nil {
				g.after = e
			}
			g.nAfter++
		}
	}
	for _, k := range order {
		g := groups[k]
		if g.before == nil && g.after == nil {
			continue
		}
		kinds := strings.Join(g.kinds, ", ")
		if len(g.days) >= routineDays {
			e := g.after
			if e == nil {
				e = g.before
			}
			routine = append(routine, Fact{Time: e.TS, EventID: e.ID, Subject: g.acct, Routine: true,
				Text: fmt.Sprintf("%s: %s logons on %d days before the compromise (routine), %d after", g.acct, kinds, len(g.days), g.nAfter)})
			continue
		}
		if g.before != nil {
			e := g.before
			out = append(out, Fact{Time: e.TS, EventID: e.ID, Subject: g.acct, Why: "in memory when the attacker arrived",
				Text: fmt.Sprintf("%s: credentials in memory since a %s logon before the compromise%s (%s)", g.acct, exposingLogon(e), noReboot(a.boots, e.TS), logonText(e))})
		}
		if g.after != nil {
			e := g.after
			out = append(out, Fact{Time: e.TS, EventID: e.ID, Subject: g.acct, Why: "logged on after the compromise",
				Text: fmt.Sprintf("%s: credentials in memory from %s after the compromise, the first %s (%s)", g.acct, event.Count(int64(g.nAfter), "logon"), exposingLogon(e), logonText(e))})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	sort.SliceStable(routine, func(i, j int) bool { return routine[i].Subject < routine[j].Subject })
	var list []Fact
	for _, f := range append(out, routine...) {
		list = appendFact(list, f)
	}
	return list
}

func firstRef(h *Hop) int64 {
	if len(h.Evidence) > 0 {
		return h.Evidence[0].EventID
	}
	return 0
}

func noReboot(boots []event.FileTime, t event.FileTime) string {
	for _, b := range boots {
		if b > t {
			return ""
		}
	}
	return ", no reboot recorded since"
}

func logonText(e *ev) string {
	s := fmt.Sprintf("logon type %s at %s", e.s("logon_type"), e.TS)
	if ip := normIP(e.s("src_ip")); ip != "" && !isLoopback(ip) {
		s += " from " + ip
	}
	return s
}

// exposingLogon names the kind of a logon that leaves reusable
// credentials in memory (lateral-movement.md §2), "" for one that does
// not or for an account that is not a person's or a service's: virtual
// accounts (Window Manager, Font Driver Host), SYSTEM, the service
// accounts, machine accounts.
func exposingLogon(e *ev) string {
	kind := ""
	switch e.n("logon_type") {
	case 2:
		kind = "interactive"
	case 10, 12:
		kind = "remote interactive"
		if strings.EqualFold(e.s("data.RestrictedAdminMode"), "%%1842") || strings.EqualFold(e.s("data.RestrictedAdminMode"), "yes") {
			return ""
		}
	case 11:
		kind = "cached interactive"
	case 4:
		kind = "batch"
	case 5:
		kind = "service"
	case 8:
		kind = "cleartext network"
	default:
		return ""
	}
	acct := e.s("target_user")
	d, _ := splitAccount(acct)
	if isMachineOrSystem(acct) || d == "WINDOW MANAGER" || d == "FONT DRIVER HOST" || d == "NT AUTHORITY" || d == "NT SERVICE" ||
		e.s("data.VirtualAccount") == "%%1842" {
		return ""
	}
	sid := e.s("data.TargetUserSid")
	if strings.HasPrefix(sid, "S-1-5-90-") || strings.HasPrefix(sid, "S-1-5-96-") || sid == "S-1-5-18" || sid == "S-1-5-19" || sid == "S-1-5-20" {
		return ""
	}
	return kind
}

// stagingPath: where dropped tools and payloads land: ProgramData,
// Windows\Temp, Public, PerfLogs, and in a profile Temp, Downloads and
// AppData (not Microsoft's and the apps' own caches there).
func stagingPath(p string) bool {
	lp := strings.ToLower(event.NormalizePath(p))
	for _, pre := range []string{`\programdata\`, `\windows\temp\`, `\users\public\`, `\perflogs\`} {
		if strings.HasPrefix(lp, pre) {
			return true
		}
	}
	if !strings.HasPrefix(lp, `\users\`) {
		return false
	}
	for _, cache := range []string{`\appdata\local\microsoft\`, `\appdata\roaming\microsoft\`, `\appdata\local\packages\`, `\appdata\locallow\microsoft\`} {
		if strings.Contains(lp, cache) {
			return false
		}
	}
	return strings.Contains(lp, `\appdata\`) || strings.Contains(lp, `\downloads\`)
}
