package movement

import (
	"sort"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Host is one host entity: a collected host (an image in the case) or a
// node seen only from others' events (Unknown: no image).
type Host struct {
	Name      string    `json:"name"`
	Names     []string  `json:"names"` // every spelling seen: registry, FQDN, Computer field
	Collected bool      `json:"collected"`
	Unknown   bool      `json:"unknown"`        // not collected; known only from other hosts' events
	Note      string    `json:"note,omitempty"` // why the node exists (e.g. tunnel origin)
	Addresses []Binding `json:"addresses"`
}

// Binding is an address held by a host over [First, Last] (raw times of
// the observing hosts), with the evidence kinds that showed it.
type Binding struct {
	IP      string         `json:"ip"`
	Host    string         `json:"host"`
	First   event.FileTime `json:"first"`
	Last    event.FileTime `json:"last"`
	Open    bool           `json:"open"` // the registry says the lease was still held at collection
	Sources []string       `json:"sources"`
	Count   int            `json:"count"`
}

// Account is one SID ↔ DOMAIN\name binding.
type Account struct {
	SID   string   `json:"sid"`
	Names []string `json:"names"`
}

// Identity resolves names and addresses to hosts, at a time.
type Identity struct {
	Hosts    map[string]*Host
	Accounts map[string]*Account  // by SID
	byIP     map[string][]Binding // each sorted by First; one run per consecutive holder
	alias    map[string]string    // any spelling (upper) → host name
}

type addrObs struct {
	ip, host, source string
	ts               event.FileTime
	open             bool
}

// Confidence values used for resolution and edges.
const (
	High   = "high"
	Medium = "medium"
	Low    = "low"
)

func buildIdentity(hosts []hostInfo, evs []*ev) *Identity {
	id := &Identity{Hosts: map[string]*Host{}, Accounts: map[string]*Account{}, byIP: map[string][]Binding{}, alias: map[string]string{}}
	var obs []addrObs
	for _, h := range hosts {
		key := hostKey(h.Name)
		if key == "" {
			continue
		}
		hh := id.host(key)
		hh.Collected, hh.Unknown = true, false
		hh.addName(h.Name)
		if hn, _ := h.Details["hostname"].(string); hn != "" {
			hh.addName(hn)
		}
		if m, ok := h.Details["computers_in_event_logs"].(map[string]any); ok {
			for n := range m {
				hh.addName(n)
				id.alias[strings.ToUpper(n)] = key
			}
		}
		ifs, _ := h.Details["interfaces"].([]any)
		for _, x := range ifs {
			m, _ := x.(map[string]any)
			ip := normIP(str(m["IP"]))
			if ip == "" {
				continue
			}
			lease, _ := m["LeaseObtained"].(float64)
			obs = append(obs, addrObs{ip: ip, host: key, source: "registry", ts: event.FileTime(lease), open: true})
		}
	}
	for _, e := range evs {
		if e.Artifact != "evtx" {
			continue
		}
		switch e.Type {
		case "4624":
			ip, ws := normIP(e.s("src_ip")), hostKey(e.s("workstation"))
			// Only a network logon's WorkstationName is the client's name; on
			// an RDP logon it repeats the destination's own name.
			if e.n("logon_type") == 3 && ip != "" && !isLoopback(ip) && ws != "" && normIP(ws) == "" && ws != e.Host {
				obs = append(obs, addrObs{ip: ip, host: id.host(ws).Name, source: "4624 " + e.Host, ts: e.TS})
			}
		case "4768", "4769":
			ip := normIP(e.s("src_ip"))
			_, u := splitAccount(e.s("target_user"))
			if ip != "" && !isLoopback(ip) && strings.HasSuffix(u, "$") {
				obs = append(obs, addrObs{ip: ip, host: id.host(hostKey(strings.TrimSuffix(u, "$"))).Name, source: e.Type + " " + e.Host, ts: e.TS})
			}
		case "3":
			if strings.EqualFold(e.s("data.Initiated"), "true") && e.Host != "" {
				if ip := normIP(e.s("src_ip")); ip != "" && !isLoopback(ip) {
					obs = append(obs, addrObs{ip: ip, host: e.Host, source: "sysmon3", ts: e.TS})
				}
			}
		}
		id.noteAccount(e)
	}
	for _, e := range evs {
		if e.Host != "" {
			id.host(e.Host)
		}
	}
	id.bind(obs)
	return id
}

func str(v any) string { s, _ := v.(string); return s }

func (id *Identity) host(key string) *Host {
	if n, ok := id.alias[strings.ToUpper(key)]; ok {
		key = n
	}
	if h, ok := id.Hosts[key]; ok {
		return h
	}
	h := &Host{Name: key, Names: []string{key}, Unknown: true}
	id.Hosts[key] = h
	id.alias[key] = key
	return h
}

func (h *Host) addName(n string) {
	for _, x := range h.Names {
		if strings.EqualFold(x, n) {
			return
		}
	}
	h.Names = append(h.Names, n)
}

// noteAccount records SID ↔ name pairs that an event states.
func (id *Identity) noteAccount(e *ev) {
	pairs := [][3]string{
		{"data.TargetUserSid", "data.TargetDomainName", "data.TargetUserName"},
		{"data.SubjectUserSid", "data.SubjectDomainName", "data.SubjectUserName"},
		{"data.TargetSid", "data.TargetDomainName", "data.TargetUserName"},
	}
	for _, p := range pairs {
		sid, dom, name := e.s(p[0]), e.s(p[1]), e.s(p[2])
		if !strings.HasPrefix(sid, "S-1-5-21-") || name == "" || name == "-" {
			continue
		}
		a := id.Accounts[sid]
		if a == nil {
			a = &Account{SID: sid}
			id.Accounts[sid] = a
		}
		full := name
		if dom != "" && dom != "-" {
			full = strings.ToUpper(dom) + `\` + name
		}
		found := false
		for _, n := range a.Names {
			if strings.EqualFold(n, full) {
				found = true
			}
		}
		if !found {
			a.Names = append(a.Names, full)
		}
	}
}

// bind turns address observations into runs: per address, consecutive
// observations of the same holder form one binding [first, last].
func (id *Identity) bind(obs []addrObs) {
	sort.SliceStable(obs, func(i, j int) bool {
		if obs[i].ip != obs[j].ip {
			return obs[i].ip < obs[j].ip
		}
		return obs[i].ts < obs[j].ts
	})
	for _, o := range obs {
		runs := id.byIP[o.ip]
		if n := len(runs); n > 0 && runs[n-1].Host == o.host {
			r := &runs[n-1]
			if o.ts > r.Last {
				r.Last = o.ts
			}
			r.Open = r.Open || o.open
			r.Count++
			r.Sources = addSource(r.Sources, o.source)
			continue
		}
		id.byIP[o.ip] = append(runs, Binding{IP: o.ip, Host: o.host, First: o.ts, Last: o.ts, Open: o.open, Count: 1, Sources: []string{o.source}})
	}
	for ip, runs := range id.byIP {
		for i := range runs {
			// A lease the registry still held is the host's until collection
			// unless someone else was seen on the address later.
			if runs[i].Open && i+1 < len(runs) {
				runs[i].Open = false
			}
		}
		id.byIP[ip] = runs
		for _, r := range runs {
			h := id.host(r.Host)
			h.Addresses = append(h.Addresses, r)
		}
	}
}

func addSource(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// Resolve names the host holding address at time t, and how sure that is:
// high inside a binding, medium before the first or after the last one,
// low in a gap between two holders (the nearer one is chosen). "" when the
// address was never bound.
func (id *Identity) Resolve(address string, t event.FileTime) (string, string) {
	ip := normIP(address)
	runs := id.byIP[ip]
	if len(runs) == 0 {
		return "", ""
	}
	for _, r := range runs {
		if t >= r.First && (t <= r.Last || r.Open) {
			return r.Host, High
		}
	}
	if t < runs[0].First {
		return runs[0].Host, Medium
	}
	for i := 0; i+1 < len(runs); i++ {
		if t > runs[i].Last && t < runs[i+1].First {
			if t-runs[i].Last <= runs[i+1].First-t {
				return runs[i].Host, Low
			}
			return runs[i+1].Host, Low
		}
	}
	return runs[len(runs)-1].Host, Medium
}

// Name resolves a host name in any spelling (FQDN, NetBIOS, lower case) to
// the host entity's name, creating an unknown node for a new name.
func (id *Identity) Name(s string) string {
	k := hostKey(s)
	if k == "" {
		return ""
	}
	if normIP(k) != "" {
		return ""
	}
	return id.host(k).Name
}

// lookup resolves a name or an address (at t) to a host name.
func (id *Identity) lookup(s string, t event.FileTime) (string, string) {
	if ip := normIP(s); ip != "" {
		if isLoopback(ip) {
			return "", ""
		}
		h, c := id.Resolve(ip, t)
		if h == "" {
			return id.unknownAddress(ip), Low
		}
		return h, c
	}
	n := id.Name(s)
	if n == "" {
		return "", ""
	}
	return n, High
}

// unknownAddress is the node of an address no evidence binds to a host.
func (id *Identity) unknownAddress(ip string) string {
	h := id.host("unknown@" + ip)
	h.Note = "address " + ip + " not bound to any host"
	return h.Name
}

// unknownTunnel is the node behind a loopback connection into dest: the
// real origin sits at the far end of a tunnel or port forward on dest.
func (id *Identity) unknownTunnel(dest string) string {
	h := id.host("unknown@tunnel:" + dest)
	h.Note = "loopback connection into " + dest + ": origin behind a tunnel or port forward on " + dest
	return h.Name
}
