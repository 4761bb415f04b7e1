package scenario

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/foothold/foothold/parsers/event"
)

// Truth is the ground truth a forged case carries (truth.json).
type Truth struct {
	Scenario     string              `json:"scenario"`
	Seed         string              `json:"seed"`
	CollectedAt  time.Time           `json:"collected_at"`
	Organisation Organisation        `json:"organisation"`
	Hosts        []TruthHost         `json:"hosts"`
	Accounts     []TruthAccount      `json:"accounts"`
	Edges        []TruthEdge         `json:"edges"`
	Compromise   []Compromise        `json:"compromise"`
	SeedEvent    *TruthSeed          `json:"seed_event,omitempty"`
	KeyEvents    []KeyEvent          `json:"key_events"`
	Images       map[string][]string `json:"images,omitempty"` // host → container files, set by the forge
}

// TruthHost is a host's identity.
type TruthHost struct {
	Name               string    `json:"name"`
	FQDN               string    `json:"fqdn"`
	Role               string    `json:"role"`
	OS                 string    `json:"os,omitempty"`
	Build              int       `json:"build,omitempty"`
	TimeZone           string    `json:"time_zone,omitempty"`
	ClockOffsetSeconds float64   `json:"clock_offset_seconds"`
	Addresses          []Address `json:"addresses"`
	Sysmon             bool      `json:"sysmon"`
	Prefetch           bool      `json:"prefetch"`
	Collected          bool      `json:"collected"`
	Container          string    `json:"container,omitempty"`
	Scheme             string    `json:"partition_scheme,omitempty"`
}

// TruthAccount ties a SID to DOMAIN\name.
type TruthAccount struct {
	Account string   `json:"account"`
	SID     string   `json:"sid"`
	Roles   []string `json:"roles,omitempty"`
}

// TruthEdge is one aggregated movement edge.
type TruthEdge struct {
	ID             string    `json:"id"`
	Source         string    `json:"source"`
	SourceAddress  string    `json:"source_address,omitempty"`
	Via            string    `json:"via,omitempty"`
	Destination    string    `json:"destination"`
	Technique      string    `json:"technique"`
	Account        string    `json:"account"`
	Authentication string    `json:"authentication"`
	First          time.Time `json:"first"`
	Last           time.Time `json:"last"`
	Count          int       `json:"count"`
	Attack         bool      `json:"attack"`
	Note           string    `json:"note,omitempty"`
}

// Compromise is when a host fell, and by what.
type Compromise struct {
	Host string    `json:"host"`
	Time time.Time `json:"time"`
	By   string    `json:"by"`
}

// TruthSeed is the first compromising action.
type TruthSeed struct {
	Host string    `json:"host"`
	Time time.Time `json:"time"`
	ID   string    `json:"id,omitempty"`
	Path string    `json:"path,omitempty"`
}

// KeyEvent is one piece of evidence a step must leave: an event log record
// (Channel, EventID, RecordID) or a file or registry value (Path). Time is
// as the host recorded it (its clock offset applied).
type KeyEvent struct {
	Step     string         `json:"step"`
	Host     string         `json:"host"`
	Channel  string         `json:"channel,omitempty"`
	EventID  int            `json:"event_id,omitempty"`
	RecordID uint64         `json:"record_id,omitempty"`
	Path     string         `json:"path,omitempty"`
	Time     event.FileTime `json:"-"`
	What     string         `json:"what"`
}

// MarshalJSON writes Time as ISO 8601 with 100 ns.
func (k KeyEvent) MarshalJSON() ([]byte, error) {
	type plain KeyEvent
	return json.Marshal(struct {
		plain
		Time string `json:"time"`
	}{plain(k), k.Time.String()})
}

// Edges is the truth's edge table for the scenario.
func (s *Scenario) TruthEdges() []TruthEdge {
	var out []TruthEdge
	for _, e := range s.Edges {
		occ := e.Occurrences()
		src := e.Source
		if src != Unknown {
			src = s.Host(src).Name
		}
		out = append(out, TruthEdge{
			ID: e.ID, Source: src, SourceAddress: e.SourceAddress, Via: e.Via, Destination: s.Host(e.Destination).Name,
			Technique: e.Technique, Account: s.User(e.Account).Account, Authentication: e.Authentication,
			First: occ[0].UTC(), Last: occ[len(occ)-1].UTC(), Count: len(occ), Attack: e.Attack, Note: e.Note,
		})
	}
	return out
}

// Compromises are the times hosts fell: the seed action's host at the
// seed, every other host at the first attack edge that reaches it.
func (s *Scenario) Compromises() []Compromise {
	when := map[string]Compromise{}
	for _, a := range s.Actions {
		if a.Seed {
			h := s.Host(a.Host).Name
			if c, ok := when[h]; !ok || a.Time.Before(c.Time) {
				by := a.ID
				if by == "" {
					by = a.Kind + " " + a.Path
				}
				when[h] = Compromise{Host: h, Time: a.Time.UTC(), By: by}
			}
		}
	}
	for _, e := range s.Edges {
		if !e.Attack {
			continue
		}
		h := s.Host(e.Destination).Name
		if c, ok := when[h]; !ok || e.Time.Before(c.Time) {
			when[h] = Compromise{Host: h, Time: e.Time.UTC(), By: e.ID}
		}
	}
	out := make([]Compromise, 0, len(when))
	for _, c := range when {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func (g *gen) truth() *Truth {
	s := g.s
	t := &Truth{Scenario: s.Name, Seed: s.Seed, CollectedAt: s.CollectedAt.UTC(), Organisation: s.Organisation,
		Edges: s.TruthEdges(), Compromise: s.Compromises()}
	for _, h := range s.Hosts {
		th := TruthHost{Name: h.Name, FQDN: s.FQDN(&h), Role: h.Role, Build: h.OS.Build, TimeZone: h.TimeZone,
			ClockOffsetSeconds: time.Duration(h.ClockOffset).Seconds(), Addresses: h.Addresses, Sysmon: h.Sysmon, Prefetch: h.Prefetch, Collected: h.Collected}
		if h.OS.Product != "" {
			th.OS = strings.TrimSpace(h.OS.Product + " " + h.OS.Version)
		}
		if h.Image != nil {
			th.Container, th.Scheme = h.Image.Container, h.Image.Scheme
		}
		t.Hosts = append(t.Hosts, th)
	}
	for i := range s.Users {
		u := &s.Users[i]
		t.Accounts = append(t.Accounts, TruthAccount{Account: u.Account, SID: s.SID(u), Roles: u.Roles})
	}
	for _, a := range s.Actions {
		if a.Seed {
			t.SeedEvent = &TruthSeed{Host: s.Host(a.Host).Name, Time: a.Time.UTC(), ID: a.ID, Path: a.Path}
			break
		}
	}
	keys := append([]KeyEvent(nil), g.keys...)
	order := map[string]int{}
	for i, e := range s.Edges {
		order[e.ID] = i
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].Time != keys[j].Time {
			return keys[i].Time < keys[j].Time
		}
		return keys[i].Host < keys[j].Host
	})
	t.KeyEvents = keys
	return t
}
