package movement

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// Technique names (issue 6): the only values Edge.Technique takes.
const (
	PsExec        = "psexec"
	RemoteService = "remote-service"
	WMI           = "wmi"
	WinRM         = "winrm"
	RDP           = "rdp"
	ScheduledTask = "scheduled-task"
	AdminShare    = "admin-share"
	DCOM          = "dcom"
)

// Authentication values; "" when one-sided evidence does not tell.
const (
	NTLM                = "ntlm"
	Kerberos            = "kerberos"
	PassTheHash         = "pass-the-hash"
	OverpassTheHash     = "overpass-the-hash"
	ExplicitCredentials = "explicit-credentials"
)

// Ref is one supporting event.
type Ref struct {
	EventID int64          `json:"event_id"`
	Side    string         `json:"side"` // destination, source, dc
	Host    string         `json:"host"`
	Type    string         `json:"type"`
	Time    event.FileTime `json:"time"` // raw, on that host's clock
	Rule    string         `json:"rule"`
}

// Occurrence is one connection (one destination logon session, or one
// source-side action when the destination is not in the case). Times are
// raw: DestTime on the destination's clock, SourceTime on the source's,
// so a later pass can estimate clock offsets from paired occurrences.
type Occurrence struct {
	DestTime      event.FileTime `json:"dest_time,omitempty"`
	SourceTime    event.FileTime `json:"source_time,omitempty"`
	SourceAddress string         `json:"source_address,omitempty"`
	LogonID       string         `json:"logon_id,omitempty"`
	Confidence    string         `json:"confidence"`
	Evidence      []Ref          `json:"evidence"`
}

// Edge is an aggregated remote access.
type Edge struct {
	Source         string         `json:"source"`
	Destination    string         `json:"destination"`
	Technique      string         `json:"technique"`
	Account        string         `json:"account"`
	Authentication string         `json:"authentication"`
	First          event.FileTime `json:"first"` // earliest occurrence (destination raw time when observed there)
	Last           event.FileTime `json:"last"`
	Count          int            `json:"count"`
	Confidence     string         `json:"confidence"`
	Flags          []string       `json:"flags,omitempty"`
	Occurrences    []Occurrence   `json:"occurrences"`
}

// Result is the analysis of a case.
type Result struct {
	Identity   *Identity
	Edges      []*Edge
	Indicators []Indicator // every one-sided technique observation, edge or not
	Clocks     []Offset    // estimated clock offsets of the collected hosts

	runs map[string]map[string]execution // earliest run of each program (AutoSeedFrom)
}

// Analyze reads a case and returns identities and edges.
func Analyze(ctx context.Context, c *timeline.Case) (*Result, error) {
	hosts, evs, err := load(ctx, c)
	if err != nil {
		return nil, err
	}
	res := analyze(hosts, evs)
	res.Clocks = EstimateClocks(res)
	return res, nil
}

// session is one destination network/interactive logon and what hung off it.
type session struct {
	host, logonID, account, ip, ws, pkg, logonGUID string
	ltype, port                                    int64
	ts                                             event.FileTime
	logon                                          *ev
	refs                                           []Ref
	tech                                           map[string]bool
	nla                                            *session
	absorbed                                       bool
	orphan                                         bool // no logon event: built from an artifact
}

func (s *session) add(e *ev, side, rule string) {
	s.refs = append(s.refs, Ref{EventID: e.ID, Side: side, Host: e.Host, Type: e.Artifact + "/" + e.Type, Time: e.TS, Rule: rule})
}

// indicator is source-side evidence of an access to dest.
type indicator struct {
	host, dest, tech, account string
	explicit                  bool
	e                         *ev
	rule                      string
	timeless                  bool // registry/jump list: the time is not the connection's
	used                      bool
	conn                      *conn // a network connection: pairs by address and port
}

const window = 10 * 60 * second // source↔destination pairing window, before skew is known

func analyze(hosts []hostInfo, evs []*ev) *Result {
	id := buildIdentity(hosts, evs)
	px := indexProcesses(evs)
	sessions := destSessions(id, evs, px)
	inds := sourceIndicators(id, evs)
	keys := indexPairingKeys(evs)
	var type9 []*ev
	var tgs []*ev
	// RC4 TGTs by client address and account: the overpass-the-hash check
	// looks up each Kerberos session here instead of scanning every 4768.
	rc4 := map[string][]*ev{}
	for _, e := range evs {
		if e.Artifact != "evtx" {
			continue
		}
		switch e.Type {
		case "4624":
			if e.n("logon_type") == 9 {
				type9 = append(type9, e)
			}
		case "4768":
			if e.n("data.TicketEncryptionType") == 0x17 {
				if ip := normIP(e.s("src_ip")); ip != "" {
					k := ip + "\x00" + accountKey(e.s("target_user"))
					rc4[k] = append(rc4[k], e)
				}
			}
		case "4769":
			tgs = append(tgs, e)
		}
	}
	agg := map[string]*Edge{}
	var order []string
	addOcc := func(src, dst, tech, acct, auth string, o Occurrence, flags ...string) {
		k := strings.Join([]string{src, dst, tech, strings.ToLower(acct), auth}, "\x00")
		e := agg[k]
		if e == nil {
			e = &Edge{Source: src, Destination: dst, Technique: tech, Account: acct, Authentication: auth}
			agg[k] = e
			order = append(order, k)
		}
		for _, f := range flags {
			e.Flags = addSource(e.Flags, f)
		}
		e.Occurrences = append(e.Occurrences, o)
	}

	for _, s := range sessions {
		tech := technique(s)
		if tech == "" || s.absorbed {
			continue
		}
		dst := id.host(s.host).Name
		var src, conf string
		var flags []string
		switch {
		case s.ip != "" && isLoopback(s.ip):
			src, conf = id.unknownTunnel(dst), Medium
			flags = append(flags, "tunnelled")
		case s.ip != "":
			src, conf = id.lookup(s.ip, s.ts)
		case s.ws != "":
			src, conf = id.Name(s.ws), Low
		}
		auth := baseAuth(s)
		var dcRefs []Ref
		if s.orphan {
			auth = ""
			// The DC's service ticket for the destination names the client
			// address; NTLM validation names no address.
			for _, k := range tgs {
				if absDiff(k.TS, s.ts) > window || accountKey(k.s("target_user")) != accountKey(s.account) ||
					hostKey(strings.TrimSuffix(strings.TrimSpace(k.s("service_name")), "$")) != dst {
					continue
				}
				if ip := normIP(k.s("src_ip")); ip != "" && !isLoopback(ip) {
					src, conf = id.lookup(ip, k.TS)
					s.ip = ip
					auth = Kerberos
					dcRefs = []Ref{{EventID: k.ID, Side: "dc", Host: k.Host, Type: "evtx/4769", Time: k.TS, Rule: "service ticket for destination"}}
				}
			}
			if src == "" {
				// Source-side evidence naming this destination.
				var best *indicator
				for _, in := range inds {
					if in.dest == dst && (in.tech == "" || in.tech == tech) && !in.timeless && absDiff(in.e.TS, s.ts) <= window {
						if best == nil || absDiff(in.e.TS, s.ts) < absDiff(best.e.TS, s.ts) {
							best = in
						}
					}
				}
				if best != nil {
					src, conf = best.host, Low
				}
			}
			if conf == High {
				conf = Medium
			}
		}
		// Keys both sides share name the source outright: the Kerberos
		// LogonGuid (DC 4769, source 4648) and the client's address and
		// port (source Sysmon 3 / 5156).
		var kp keyPair
		if !s.orphan && !(s.ip != "" && isLoopback(s.ip)) {
			kp = keys.pair(id, s, dst)
			if kp.source != "" {
				src, conf = kp.source, kp.conf
			}
			if s.ip == "" && kp.ip != "" {
				s.ip = kp.ip
			}
		}
		if src == "" {
			src, conf = id.host("unknown").Name, Low
		}
		o := Occurrence{DestTime: s.ts, SourceAddress: s.ip, LogonID: s.logonID, Confidence: conf, Evidence: append(s.refs, dcRefs...)}
		for _, r := range kp.refs {
			o.Evidence = appendRef(o.Evidence, r)
		}
		o.SourceTime = kp.sourceTime
		if s.nla != nil {
			// The connection starts with the NLA network logon.
			o.DestTime = s.nla.ts
			o.Evidence = append(o.Evidence, s.nla.refs...)
		}
		explicit := kp.explicit
		// Pair with the source side when the source is in the case.
		if h := id.Hosts[src]; h != nil && h.Collected {
			best := map[string]*indicator{}
			for _, in := range inds {
				if in.host != src || in.dest != dst || (in.tech != "" && in.tech != tech) {
					continue
				}
				if in.conn != nil && in.tech == "" {
					continue // a bare connection pairs by its port, above
				}
				if !in.timeless && absDiff(in.e.TS, s.ts) > window {
					continue
				}
				if in.account != "" && in.explicit && accountKey(in.account) != accountKey(s.account) {
					continue
				}
				in.used = true // every matching indicator belongs to this connection
				k := in.rule
				if b := best[k]; b == nil || absDiff(in.e.TS, s.ts) < absDiff(b.e.TS, s.ts) {
					best[k] = in
				}
			}
			for _, in := range best {
				o.Evidence = appendRef(o.Evidence, Ref{EventID: in.e.ID, Side: "source", Host: in.host, Type: in.e.Artifact + "/" + in.e.Type, Time: in.e.TS, Rule: in.rule})
				// A keyed event is the connection itself; otherwise the
				// earliest source action stands for it.
				if !in.timeless && kp.sourceTime == 0 && (o.SourceTime == 0 || in.e.TS < o.SourceTime) {
					o.SourceTime = in.e.TS
				}
				explicit = explicit || in.explicit
			}
			if len(best) > 0 || kp.conf == High {
				o.Confidence = High
			}
			// Credential material prepared on the source: a type-9 logon
			// whose outbound account is the one used at the destination.
			for _, t9 := range type9 {
				if t9.Host != src || accountKey(t9.s("data.TargetOutboundUserName")) != accountKey(s.account) {
					continue
				}
				// "Shortly before" the connection (§3); the window absorbs skew.
				if absDiff(t9.TS, s.ts) > window {
					continue
				}
				o.Evidence = append(o.Evidence, Ref{EventID: t9.ID, Side: "source", Host: src, Type: "evtx/4624", Time: t9.TS, Rule: "type-9 logon with outbound credentials"})
				if auth == Kerberos {
					auth = OverpassTheHash
				} else if auth == NTLM {
					auth = PassTheHash
				}
				break
			}
		}
		// DC: an RC4 TGT for the account from the source's address.
		if auth == Kerberos && s.ip != "" {
			for _, t := range rc4[s.ip+"\x00"+accountKey(s.account)] {
				if absDiff(t.TS, s.ts) <= window {
					o.Evidence = append(o.Evidence, Ref{EventID: t.ID, Side: "dc", Host: t.Host, Type: "evtx/4768", Time: t.TS, Rule: "RC4 TGT from source address"})
					auth = OverpassTheHash
					break
				}
			}
		}
		if explicit && auth != PassTheHash && auth != OverpassTheHash {
			auth = ExplicitCredentials
		}
		addOcc(src, dst, tech, s.account, auth, o, flags...)
	}

	// Source-side evidence with no destination session: one-sided edges.
	for _, in := range inds {
		if in.used || in.tech == "" || in.dest == "" || in.dest == in.host {
			continue
		}
		if h := id.Hosts[in.dest]; in.conn != nil && h != nil && h.Collected {
			// A connection the collected destination shows no logon for
			// reached no one: context, not an access.
			continue
		}
		auth := ""
		if in.explicit {
			auth = ExplicitCredentials
		}
		o := Occurrence{SourceTime: in.e.TS, Confidence: Low,
			Evidence: []Ref{{EventID: in.e.ID, Side: "source", Host: in.host, Type: in.e.Artifact + "/" + in.e.Type, Time: in.e.TS, Rule: in.rule}}}
		addOcc(in.host, in.dest, in.tech, in.account, auth, o, "one-sided")
	}

	res := &Result{Identity: id, Indicators: indicatorsOf(evs, inds, px), runs: firstRuns(evs)}
	for _, k := range order {
		e := agg[k]
		e.Count = len(e.Occurrences)
		rank := map[string]int{Low: 0, Medium: 1, High: 2}
		e.Confidence = Low
		for _, o := range e.Occurrences {
			t := o.DestTime
			if t == 0 {
				t = o.SourceTime
			}
			if e.First == 0 || t < e.First {
				e.First = t
			}
			if t > e.Last {
				e.Last = t
			}
			if rank[o.Confidence] > rank[e.Confidence] {
				e.Confidence = o.Confidence
			}
		}
		res.Edges = append(res.Edges, e)
	}
	sort.SliceStable(res.Edges, func(i, j int) bool { return res.Edges[i].First < res.Edges[j].First })
	return res
}

// appendRef adds r unless the same event already supports the occurrence.
func appendRef(refs []Ref, r Ref) []Ref {
	for _, x := range refs {
		if x.EventID == r.EventID && x.Side == r.Side {
			return refs
		}
	}
	return append(refs, r)
}

// pairingKeys index the events that carry a key the other side of a
// connection repeats.
type pairingKeys struct {
	byGUID  map[string][]*ev   // DC 4769 and source 4648 by LogonGuid
	byAddr  map[addrPort][]*ev // outbound connections by their local (client) end
	inbound map[hostAddr][]*ev // inbound connections by recording host and client address
}

type hostAddr struct{ host, ip string }

// acceptToLogon bounds the time between a destination's inbound
// connection record and the logon it carries (same clock).
const acceptToLogon = 5 * second

type addrPort struct {
	ip   string
	port int64
}

// guidKey is the comparison form of a GUID; "" for the empty GUID.
func guidKey(g string) string {
	g = strings.ToLower(strings.Trim(strings.TrimSpace(g), "{}"))
	if g == "" || g == "-" || strings.Trim(g, "0-") == "" {
		return ""
	}
	return g
}

func indexPairingKeys(evs []*ev) *pairingKeys {
	k := &pairingKeys{byGUID: map[string][]*ev{}, byAddr: map[addrPort][]*ev{}, inbound: map[hostAddr][]*ev{}}
	for _, e := range evs {
		if e.Artifact != "evtx" {
			continue
		}
		switch e.Type {
		case "4769", "4648":
			if g := guidKey(e.s("data.LogonGuid")); g != "" {
				k.byGUID[g] = append(k.byGUID[g], e)
			}
		case "3", "5156":
			c, ok := connOf(e)
			switch {
			case ok && c.outbound && c.localPort > 0 && !isLoopback(c.localIP):
				a := addrPort{c.localIP, c.localPort}
				k.byAddr[a] = append(k.byAddr[a], e)
			case ok && !c.outbound && c.remotePort > 0 && !isLoopback(c.remoteIP):
				a := hostAddr{e.Host, c.remoteIP}
				k.inbound[a] = append(k.inbound[a], e)
			}
		}
	}
	return k
}

// keyPair is what the keys say about one destination session.
type keyPair struct {
	source     string // host that made the connection, "" when no key matched
	conf       string // how sure source is: high from the source's own event
	ip         string // client address from the DC's ticket
	refs       []Ref
	sourceTime event.FileTime // earliest keyed source-side event, raw
	explicit   bool           // the keyed 4648 used other credentials
}

// pair matches a destination session to the DC's ticket and the source's
// events by key, within the pairing window (clock skew is not known yet;
// the key, not the time, makes the match).
func (k *pairingKeys) pair(id *Identity, s *session, dst string) keyPair {
	var p keyPair
	srcEvent := func(x *ev, rule string) {
		p.source, p.conf = id.host(x.Host).Name, High
		p.refs = append(p.refs, Ref{EventID: x.ID, Side: "source", Host: x.Host, Type: x.Artifact + "/" + x.Type, Time: x.TS, Rule: rule})
		if p.sourceTime == 0 || x.TS < p.sourceTime {
			p.sourceTime = x.TS
		}
	}
	if g := guidKey(s.logonGUID); g != "" {
		for _, x := range k.byGUID[g] {
			if absDiff(x.TS, s.ts) > window {
				continue
			}
			switch x.Type {
			case "4769":
				p.refs = append(p.refs, Ref{EventID: x.ID, Side: "dc", Host: x.Host, Type: "evtx/4769", Time: x.TS, Rule: "service ticket with the logon's LogonGuid"})
				if a := normIP(x.s("src_ip")); a != "" && !isLoopback(a) && p.ip == "" {
					p.ip = a
					if p.source == "" {
						// The ticket is this logon's; the address still
						// needs resolving to a host.
						p.source, p.conf = id.lookup(a, x.TS)
					}
				}
			case "4648":
				if x.Host == s.host {
					continue
				}
				srcEvent(x, "explicit logon with the logon's LogonGuid")
				p.explicit = p.explicit || accountKey(x.s("target_user")) != accountKey(x.s("subject_user"))
			}
		}
	}
	port := s.port
	if s.ip != "" && port == 0 {
		// A logon without IpPort: the destination's own record of the
		// accepted connection from that address, just before, has it.
		var best *ev
		for _, x := range k.inbound[hostAddr{s.host, s.ip}] {
			if x.TS <= s.ts+second && s.ts-x.TS <= acceptToLogon && (best == nil || x.TS > best.TS) {
				best = x
			}
		}
		if best != nil {
			c, _ := connOf(best)
			port = c.remotePort
			p.refs = append(p.refs, Ref{EventID: best.ID, Side: "destination", Host: best.Host, Type: best.Artifact + "/" + best.Type,
				Time: best.TS, Rule: fmt.Sprintf("inbound connection from %s:%d", c.remoteIP, c.remotePort)})
		}
	}
	if s.ip != "" && port > 0 {
		for _, x := range k.byAddr[addrPort{s.ip, port}] {
			if x.Host == s.host || absDiff(x.TS, s.ts) > window {
				continue
			}
			c, _ := connOf(x)
			if h, _ := id.Resolve(c.remoteIP, x.TS); h != "" && h != dst {
				continue // the same client port, to another server
			}
			srcEvent(x, fmt.Sprintf("connection from %s:%d is the logon's address and port", c.localIP, c.localPort))
		}
	}
	return p
}

func absDiff(a, b event.FileTime) event.FileTime {
	if a > b {
		return a - b
	}
	return b - a
}

func baseAuth(s *session) string {
	pkg := strings.ToLower(s.pkg)
	if s.nla != nil && (pkg == "negotiate" || pkg == "") {
		pkg = strings.ToLower(s.nla.pkg)
	}
	switch {
	case strings.Contains(pkg, "kerberos"):
		return Kerberos
	case strings.Contains(pkg, "ntlm"):
		return NTLM
	}
	if g := s.logonGUID; g != "" && g != "{00000000-0000-0000-0000-000000000000}" {
		return Kerberos
	}
	return NTLM
}

// technique applies the precedence of lateral-movement.md §8.
func technique(s *session) string {
	t := s.tech
	switch {
	case t["psexec"]:
		return PsExec
	case t["service"]:
		return RemoteService
	case t["task"]:
		return ScheduledTask
	case t["wmi"]:
		return WMI
	case t["winrm"]:
		return WinRM
	case t["dcom"]:
		return DCOM
	case s.ltype == 10 || s.ltype == 12:
		return RDP
	case t["share"]:
		return AdminShare
	}
	return ""
}

var psexecName = regexp.MustCompile(`(?i)(psexesvc|remcom|^%systemroot%\\[a-z]{8}\.exe$)`)

// destSessions builds the destination-side logon sessions and hangs every
// technique artifact on the session it belongs to (by logon id, else by
// account and time).
func destSessions(id *Identity, evs []*ev, px *procIndex) []*session {
	var all []*session
	byLogon := map[string]*session{}
	byHost := map[string][]*session{}
	for _, e := range evs {
		if e.Artifact != "evtx" || e.Type != "4624" {
			continue
		}
		lt := e.n("logon_type")
		if lt != 3 && lt != 10 && lt != 12 && lt != 8 {
			continue
		}
		acct := e.s("target_user")
		if isMachineOrSystem(acct) {
			continue
		}
		ip, ws := normIP(e.s("src_ip")), e.s("workstation")
		if ip == "" && (ws == "" || ws == "-") {
			continue
		}
		s := &session{host: e.Host, logonID: strings.ToLower(e.s("target_logon_id")), account: acct, ip: ip, ws: ws,
			pkg: e.s("auth_package"), logonGUID: e.s("data.LogonGuid"), ltype: lt, port: e.n("src_port"), ts: e.TS, logon: e, tech: map[string]bool{}}
		s.add(e, "destination", fmt.Sprintf("logon type %d", lt))
		if lt == 10 || lt == 12 {
			// The NLA network logon just before belongs to this RDP session.
			hs := byHost[e.Host]
			for i := len(hs) - 1; i >= 0 && e.TS-hs[i].ts <= 30*second; i-- {
				p := hs[i]
				if p.ltype == 3 && accountKey(p.account) == accountKey(acct) && (p.ip == ip || p.ip == "") && len(p.tech) == 0 {
					p.absorbed = true
					s.nla = p
					break
				}
			}
		}
		all = append(all, s)
		byLogon[e.Host+"/"+s.logonID] = s
		byHost[e.Host] = append(byHost[e.Host], s)
	}
	// near finds the latest session on host for the account within d before t.
	near := func(host, acct string, t event.FileTime, d event.FileTime, rdp bool) *session {
		hs := byHost[host]
		for i := len(hs) - 1; i >= 0; i-- {
			s := hs[i]
			if s.ts > t+2*second {
				continue
			}
			if s.ts < t && t-s.ts > d {
				break
			}
			if acct != "" && accountKey(s.account) != accountKey(acct) {
				continue
			}
			if rdp && s.ltype != 10 && s.ltype != 12 {
				continue
			}
			return s
		}
		return nil
	}
	sidAccount := map[string]string{}
	for sid, a := range id.Accounts {
		if len(a.Names) > 0 {
			sidAccount[sid] = a.Names[0]
		}
	}
	// orphan makes a session for a technique artifact no logon explains
	// (Security auditing off, or the log rolled): the source is then found
	// from the DC's service tickets or the source side.
	orphan := func(e *ev, acct string) *session {
		if acct == "" || isMachineOrSystem(acct) || e.Host == "" {
			return nil
		}
		s := &session{host: e.Host, logonID: strings.ToLower(e.s("logon_id")), account: acct, ts: e.TS, tech: map[string]bool{}, orphan: true}
		all = append(all, s)
		if s.logonID != "" && s.logonID != "0x0" && s.logonID != "0x3e7" {
			byLogon[e.Host+"/"+s.logonID] = s
		}
		hs := append(byHost[e.Host], s)
		sort.SliceStable(hs, func(i, j int) bool { return hs[i].ts < hs[j].ts })
		byHost[e.Host] = hs
		return s
	}
	for _, e := range evs {
		if e.Artifact != "evtx" {
			continue
		}
		logon := byLogon[e.Host+"/"+strings.ToLower(e.s("logon_id"))]
		switch e.Type {
		case "5140", "5145":
			if logon == nil {
				continue
			}
			share := strings.ToUpper(e.s("share_name"))
			rel := e.s("relative_target")
			switch {
			case strings.HasSuffix(share, `\IPC$`):
				if strings.EqualFold(rel, "svcctl") {
					logon.add(e, "destination", "IPC$ svcctl")
				} else if psexecPipe.MatchString(rel) {
					logon.add(e, "destination", "psexec pipe")
					logon.tech["psexecpipe"] = true
				} else if strings.EqualFold(rel, "atsvc") {
					logon.add(e, "destination", "IPC$ atsvc")
				}
			case strings.HasSuffix(share, `$`):
				logon.tech["share"] = true
				logon.add(e, "destination", "admin share "+share)
				if strings.HasSuffix(strings.ToLower(rel), ".exe") && strings.HasSuffix(share, `\ADMIN$`) {
					logon.tech["exe-to-admin"] = true
				}
			}
		case "4697", "7045":
			s := logon
			if s == nil {
				s = near(e.Host, sidAccount[e.s("user_sid")], e.TS, 60*second, false)
			}
			if s == nil {
				acct := e.s("subject_user")
				if acct == "" {
					acct = sidAccount[e.s("user_sid")]
				}
				s = orphan(e, acct)
			}
			if s == nil {
				continue
			}
			img := e.s("image_path")
			if img == "" {
				img = e.s("data.ServiceFileName")
			}
			if psexecName.MatchString(e.s("service_name")) || psexecName.MatchString(img) || s.tech["exe-to-admin"] || s.tech["psexecpipe"] {
				s.tech["psexec"] = true
			} else {
				s.tech["service"] = true
			}
			s.add(e, "destination", "service installed "+e.s("service_name"))
		case "4698":
			if logon == nil {
				logon = orphan(e, e.s("subject_user"))
			}
			if logon != nil {
				logon.tech["task"] = true
				logon.add(e, "destination", "task registered "+e.s("task_name"))
			}
		case "106":
			acct := e.s("data.UserContext")
			s := near(e.Host, acct, e.TS, 60*second, false)
			if s == nil {
				s = orphan(e, acct)
			}
			if s != nil {
				s.tech["task"] = true
				s.add(e, "destination", "task registered "+e.s("task_name"))
			}
		case "4688", "1":
			if e.Type == "1" && !fromProvider(e, "sysmon") {
				continue
			}
			proc := strings.ToLower(e.s("process"))
			parent := strings.ToLower(px.parentOf(e))
			cmd := strings.ToLower(e.s("command_line"))
			s := logon
			if s == nil && !isMachineOrSystem(e.s("subject_user")) {
				s = near(e.Host, e.s("subject_user"), e.TS, 60*second, false)
			}
			remote := strings.HasSuffix(parent, `\wmiprvse.exe`) || strings.HasSuffix(proc, `\wsmprovhost.exe`) ||
				strings.HasSuffix(proc, `\winrshost.exe`) || dcomLaunch(proc, cmd)
			if s == nil && remote {
				s = orphan(e, e.s("subject_user"))
			}
			if s == nil {
				continue
			}
			switch {
			case strings.HasSuffix(parent, `\wmiprvse.exe`):
				s.tech["wmi"] = true
				s.add(e, "destination", "child of WmiPrvSE")
			case strings.HasSuffix(proc, `\wsmprovhost.exe`) || strings.HasSuffix(proc, `\winrshost.exe`):
				s.tech["winrm"] = true
				s.add(e, "destination", "WinRM host process")
			case dcomLaunch(proc, cmd):
				s.tech["dcom"] = true
				s.add(e, "destination", "DCOM server process")
			case strings.HasSuffix(parent, `\mmc.exe`):
				s.add(e, "destination", "child of mmc")
			}
		case "91":
			acct := sidAccount[e.s("user_sid")]
			s := near(e.Host, acct, e.TS, 60*second, false)
			if s == nil {
				s = orphan(e, acct)
			}
			if s != nil {
				s.tech["winrm"] = true
				s.add(e, "destination", "WinRM shell created")
			}
		case "21", "22", "24", "25", "1149", "4778", "4779":
			if fromProvider(e, "sysmon") {
				continue // Sysmon 21 is a WMI binding
			}
			acct := e.s("target_user")
			if s := near(e.Host, acct, e.TS, 60*second, true); s != nil && (normIP(e.s("src_ip")) == s.ip || s.ip == "") {
				s.add(e, "destination", "RDP session")
			}
		case "5857":
			// provider loads carry no session: context only
		}
	}
	return all
}

var (
	reUNCHost   = regexp.MustCompile(`\\\\([A-Za-z0-9_.\-]+)`)
	rePsexec    = regexp.MustCompile(`(?i)psexec(64)?(\.exe)?["']?\s.*?\\\\([A-Za-z0-9_.\-]+)`)
	reWmicNode  = regexp.MustCompile(`(?i)wmic(\.exe)?["']?\s.*?/node:\s*["']?([A-Za-z0-9_.\-]+)`)
	reSchtasks  = regexp.MustCompile(`(?i)schtasks(\.exe)?["']?\s.*?/s\s+["']?([A-Za-z0-9_.\-]+)`)
	reSc        = regexp.MustCompile(`(?i)(^|[\\\s"])sc(\.exe)?["']?\s+\\\\([A-Za-z0-9_.\-]+)\s+(create|start|config|delete)`)
	reInvoke    = regexp.MustCompile(`(?i)(invoke-command|enter-pssession|new-pssession)\b.*?-computername\s+["']?([A-Za-z0-9_.\-]+)`)
	reWinrs     = regexp.MustCompile(`(?i)winrs(\.exe)?["']?\s.*?-r(emote)?:\s*["']?(https?://)?([A-Za-z0-9_.\-]+)`)
	reMstsc     = regexp.MustCompile(`(?i)mstsc(\.exe)?["']?\s.*?/v:\s*["']?([A-Za-z0-9_.\-]+)`)
	reSharpRDP  = regexp.MustCompile(`(?i)sharprdp(\.exe)?["']?\s.*?computername=\s*["']?([A-Za-z0-9_.\-]+)`)
	reNetUse    = regexp.MustCompile(`(?i)net1?(\.exe)?["']?\s+use\s+.*?\\\\([A-Za-z0-9_.\-]+)\\(c|admin|[a-z])\$`)
	reCopyTo    = regexp.MustCompile(`(?i)\b(copy|xcopy|move|robocopy)\b.*\s"?\\\\([A-Za-z0-9_.\-]+)\\[a-z]+\$[^\s"]*"?\s*$`)
	reDCOMPS    = regexp.MustCompile(`(?i)GetTypeFromProgID\(\s*["'][^"']+["']\s*,\s*["']([A-Za-z0-9_.\-]+)["']|GetTypeFromCLSID\(\s*["'][^"']+["']\s*,\s*["']([A-Za-z0-9_.\-]+)["']`)
	reWmiPS     = regexp.MustCompile(`(?i)(invoke-wmimethod|invoke-cimmethod|get-wmiobject)\b.*?-computername\s+["']?([A-Za-z0-9_.\-]+)`)
	reUserFlag  = regexp.MustCompile(`(?i)(\s/u(ser)?[:\s]+|\s-u\s+|-credential\s+)["']?([^\s"']+)`)
	reTargetSPN = regexp.MustCompile(`(?i)^(TERMSRV|HTTP|WSMAN|RPCSS|HOST|CIFS)/([A-Za-z0-9_.\-]+)`)
)

// commandTarget reads a command line for a remote-execution tool and its
// target, in precedence order (an sc binPath may itself name a UNC path).
func commandTarget(cmd string) (tech, host string) {
	if m := rePsexec.FindStringSubmatch(cmd); m != nil {
		return PsExec, m[3]
	}
	if m := reWmicNode.FindStringSubmatch(cmd); m != nil {
		return WMI, m[2]
	}
	if m := reSchtasks.FindStringSubmatch(cmd); m != nil {
		return ScheduledTask, m[2]
	}
	if m := reSc.FindStringSubmatch(cmd); m != nil {
		return RemoteService, m[3]
	}
	if m := reInvoke.FindStringSubmatch(cmd); m != nil {
		return WinRM, m[2]
	}
	if m := reWinrs.FindStringSubmatch(cmd); m != nil {
		return WinRM, m[4]
	}
	if m := reWmiPS.FindStringSubmatch(cmd); m != nil {
		return WMI, m[2]
	}
	if m := reDCOMPS.FindStringSubmatch(cmd); m != nil {
		if m[1] != "" {
			return DCOM, m[1]
		}
		return DCOM, m[2]
	}
	if m := reMstsc.FindStringSubmatch(cmd); m != nil {
		return RDP, m[2]
	}
	if m := reSharpRDP.FindStringSubmatch(cmd); m != nil {
		return RDP, m[2]
	}
	if m := reNetUse.FindStringSubmatch(cmd); m != nil {
		return AdminShare, m[2]
	}
	if m := reCopyTo.FindStringSubmatch(cmd); m != nil {
		return AdminShare, m[2]
	}
	return "", ""
}

// targetHints are substrings (lower case), one of which every
// commandTarget pattern needs besides a UNC path: a cheap test that spares
// the regular expressions the millions of command lines that name no
// remote host.
var targetHints = [][]byte{[]byte("/node:"), []byte("/s "), []byte("/s\t"), []byte("/s\n"), []byte("/s\r"), []byte("/s\f"),
	[]byte("-computername"), []byte("computername="), []byte("-r:"), []byte("-remote:"), []byte("/v:"), []byte("gettypefrom")}

// mayTarget reports whether cmd can name a remote target at all.
func mayTarget(cmd string) bool {
	if strings.Contains(cmd, `\\`) {
		return true
	}
	var buf [512]byte
	low := buf[:0]
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		if c >= 0x80 {
			// (?i) folds ſ to s and K (Kelvin) to k: leave such text to
			// the expressions.
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low = append(low, c)
	}
	for _, h := range targetHints {
		if bytes.Contains(low, h) {
			return true
		}
	}
	return false
}

// sourceIndicators collects source-side evidence of remote access.
func sourceIndicators(id *Identity, evs []*ev) []*indicator {
	var out []*indicator
	add := func(e *ev, target, tech, acct, rule string, explicit, timeless bool) *indicator {
		if e.Host == "" {
			return nil
		}
		dest, _ := id.lookup(target, e.TS)
		if dest == "" {
			return nil
		}
		src := id.host(e.Host).Name
		if dest == src {
			return nil
		}
		in := &indicator{host: src, dest: dest, tech: tech, account: acct, explicit: explicit, e: e, rule: rule, timeless: timeless}
		out = append(out, in)
		return in
	}
	for _, e := range evs {
		switch {
		case e.Artifact == "evtx" && (e.Type == "4688" || e.Type == "1"):
			cmd := e.s("command_line")
			if !mayTarget(cmd) {
				continue
			}
			tech, host := commandTarget(cmd)
			if tech == "" {
				continue
			}
			acct, explicit := e.s("subject_user"), false
			if a, ok := explicitUser(cmd); ok && tech != RDP {
				acct, explicit = a, true
			}
			add(e, host, tech, acct, "command line "+tech, explicit, false)
		case e.Artifact == "evtx" && e.Type == "4104":
			text := e.s("data.ScriptBlockText")
			if !mayTarget(text) {
				continue
			}
			tech, host := commandTarget(text)
			if tech != "" {
				acct, explicit := explicitUser(text)
				add(e, host, tech, acct, "script block "+tech, explicit, false)
			}
		case e.Artifact == "evtx" && e.Type == "4648":
			server := e.s("target_server")
			if server == "" {
				server = e.s("data.TargetServerName")
			}
			l := strings.ToLower(server)
			if server == "" || l == "localhost" || l == "-" || isLoopback(normIP(server)) {
				continue
			}
			tech := ""
			info := e.s("data.TargetInfo")
			if m := reTargetSPN.FindStringSubmatch(info); m != nil {
				switch strings.ToUpper(m[1]) {
				case "TERMSRV":
					tech = RDP
				case "HTTP", "WSMAN":
					tech = WinRM
				}
			}
			p := strings.ToLower(e.s("process"))
			switch {
			case strings.HasSuffix(p, `\schtasks.exe`):
				tech = ScheduledTask
			case strings.HasSuffix(p, `\sc.exe`):
				tech = RemoteService
			case strings.HasSuffix(p, `\wmic.exe`):
				tech = WMI
			case strings.HasSuffix(p, `\mstsc.exe`):
				tech = RDP
			case strings.Contains(p, `psexec`):
				tech = PsExec
			}
			target := e.s("target_user")
			explicit := accountKey(target) != accountKey(e.s("subject_user"))
			// One-sided 4648 edges need a technique; pairing does not.
			add(e, server, tech, target, "4648 explicit logon to "+server, explicit, false)
		case e.Artifact == "evtx" && (e.Type == "3" || e.Type == "5156"):
			c, ok := connOf(e)
			if !ok || !c.outbound || isLoopback(c.remoteIP) {
				continue
			}
			tech := ""
			switch c.remotePort {
			case 3389:
				tech = RDP
			case 5985, 5986:
				tech = WinRM
			}
			// 445, 135 and dynamic RPC ports name no technique: pairing only.
			name := "sysmon 3"
			if e.Type == "5156" {
				name = "5156"
			}
			if in := add(e, c.remoteIP, tech, e.s("subject_user"), fmt.Sprintf("%s to port %d", name, c.remotePort), false, false); in != nil {
				in.conn = &c
			}
		case e.Artifact == "evtx" && e.Type == "1024":
			add(e, e.s("data.Value"), RDP, "", "RDPClient 1024", false, false)
		case e.Artifact == "evtx" && e.Type == "6" && strings.Contains(strings.ToLower(e.s("provider")), "winrm"):
			c := e.s("data.connection")
			if i := strings.IndexAny(c, ":/"); i > 0 {
				c = c[:i]
			}
			add(e, c, WinRM, "", "WinRM 6 connection", false, false)
		case e.Artifact == "registry" && (e.Type == "rdp-mru" || e.Type == "rdp-server"):
			add(e, e.s("target_server"), RDP, e.s("username_hint"), "Terminal Server Client "+e.Type, false, true)
		case e.Artifact == "jumplist" || e.Artifact == "lnk":
			if m := reMstsc.FindStringSubmatch("mstsc " + e.s("arguments")); m != nil && strings.HasSuffix(strings.ToLower(e.s("target_path")), `mstsc.exe`) {
				add(e, m[2], RDP, "", "mstsc jump list /v:", false, true)
			}
			if h := e.s("unc_host"); h != "" {
				add(e, h, "", "", "LNK/jump list UNC target", false, true)
			} else if m := reUNCHost.FindStringSubmatch(e.s("target_path")); m != nil {
				add(e, m[1], "", "", "LNK/jump list UNC target", false, true)
			}
		}
	}
	return out
}

// explicitUser reports whether a command passes credentials (/u, /user:,
// -u, -Credential) and the account when it is spelled out (a PowerShell
// variable is not).
func explicitUser(cmd string) (string, bool) {
	m := reUserFlag.FindStringSubmatch(cmd)
	if m == nil {
		return "", false
	}
	if strings.HasPrefix(m[3], "$") || strings.HasPrefix(m[3], "(") {
		return "", true
	}
	return m[3], true
}
