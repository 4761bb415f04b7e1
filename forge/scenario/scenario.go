// Package scenario is the forge's description of an incident: the
// organisation, its hosts and accounts, the movement edges between hosts
// and the host-local actions, all at true UTC times. Load reads and
// validates a scenario file (YAML or JSON, format in FORMAT.md); Generate
// turns it into per-host artifacts and the truth file.
package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is one case: everything the forge builds comes from here.
type Scenario struct {
	Name         string       `yaml:"name" json:"name"`
	Description  string       `yaml:"description,omitempty" json:"description,omitempty"`
	Seed         string       `yaml:"seed" json:"seed"`
	Start        time.Time    `yaml:"start" json:"start"`               // background activity starts here
	CollectedAt  time.Time    `yaml:"collected_at" json:"collected_at"` // images are taken (true UTC)
	Background   *Background  `yaml:"background,omitempty" json:"background,omitempty"`
	Organisation Organisation `yaml:"organisation" json:"organisation"`
	Hosts        []Host       `yaml:"hosts" json:"hosts"`
	Users        []User       `yaml:"users" json:"users"`
	Edges        []Edge       `yaml:"edges" json:"edges"`
	Actions      []Action     `yaml:"actions" json:"actions"`
}

// Background sets how much ordinary activity every collected host gets
// (forge/background): Density scales its routine rates, 1 by default.
type Background struct {
	Off     bool    `yaml:"off,omitempty" json:"off,omitempty"`
	Density float64 `yaml:"density,omitempty" json:"density,omitempty"`
}

// Organisation is the Active Directory domain all hosts and users belong to.
type Organisation struct {
	Domain string `yaml:"domain" json:"domain"` // NetBIOS name, e.g. CORP
	DNS    string `yaml:"dns" json:"dns"`       // corp.example
	SID    string `yaml:"sid" json:"sid"`       // S-1-5-21-a-b-c
}

// Host is one computer.
type Host struct {
	Name        string    `yaml:"name" json:"name"`
	Role        string    `yaml:"role" json:"role"` // workstation, server, dc
	Description string    `yaml:"description,omitempty" json:"description,omitempty"`
	OS          OS        `yaml:"os" json:"os"`
	TimeZone    string    `yaml:"timezone" json:"timezone"`                             // registry key name, e.g. "Eastern Standard Time"
	ClockOffset Duration  `yaml:"clock_offset,omitempty" json:"clock_offset,omitempty"` // host clock minus true time
	Addresses   []Address `yaml:"addresses" json:"addresses"`
	Sysmon      bool      `yaml:"sysmon,omitempty" json:"sysmon,omitempty"`
	Prefetch    bool      `yaml:"prefetch,omitempty" json:"prefetch,omitempty"`
	SRUM        bool      `yaml:"srum,omitempty" json:"srum,omitempty"` // Windows\System32\sru\SRUDB.dat is written
	Collected   bool      `yaml:"collected,omitempty" json:"collected,omitempty"`
	Installed   time.Time `yaml:"installed,omitempty" json:"installed,omitempty"` // volume formatted; default Start - 30 days
	Image       *Image    `yaml:"image,omitempty" json:"image,omitempty"`
	RID         int       `yaml:"rid,omitempty" json:"rid,omitempty"` // machine account RID; default derived
	// Audit lists audit subcategories enabled beyond the case's baseline
	// policy: AuditWFP (Security 5156) and AuditRegistry (4657).
	Audit []string `yaml:"audit,omitempty" json:"audit,omitempty"`
	// Shares are this host's file shares in ordinary use (background).
	Shares []Share `yaml:"shares,omitempty" json:"shares,omitempty"`
}

// Extra audit subcategories a host may enable.
const (
	AuditWFP      = "filtering-platform-connection" // Security 5156 for the story's connections
	AuditRegistry = "registry"                      // Security 4657 for registry actions (a SACL on the keys)
)

// Share is a file share users open from their home hosts on working days:
// ordinary access (Kerberos network logon, 5140/5145), never an edge.
type Share struct {
	Name  string   `yaml:"name" json:"name"`                       // share name, e.g. Projects
	Path  string   `yaml:"path" json:"path"`                       // local path, e.g. C:\Shares\Projects
	Users []string `yaml:"users" json:"users"`                     // DOMAIN\name; each opens it from its home host
	Files []string `yaml:"files,omitempty" json:"files,omitempty"` // relative paths read (and created on the volume)
}

// audits says whether the host enables an extra audit subcategory.
func (h *Host) audits(sub string) bool { return contains(h.Audit, sub) }

// OS is the Windows edition.
type OS struct {
	Product string `yaml:"product" json:"product"` // "Windows 10 Pro"
	Version string `yaml:"version" json:"version"` // "22H2", "1809"
	Build   int    `yaml:"build" json:"build"`     // 19045
}

// Address is an IPv4 address the host held until Until (zero: still holds).
type Address struct {
	IP     string    `yaml:"ip" json:"ip"`
	Until  time.Time `yaml:"until,omitempty" json:"until,omitempty"`
	Static bool      `yaml:"static,omitempty" json:"static,omitempty"`
}

// Image is how a collected host's disk is delivered.
type Image struct {
	Container string `yaml:"container" json:"container"` // e01, e01:N, vmdk, vhdx, raw, split[:SIZE]
	Scheme    string `yaml:"scheme" json:"scheme"`       // mbr or gpt
	Size      Size   `yaml:"size" json:"size"`           // volume bytes, e.g. 40MiB
}

// User is one domain account.
type User struct {
	Account string   `yaml:"account" json:"account"` // DOMAIN\name
	RID     int      `yaml:"rid" json:"rid"`
	Roles   []string `yaml:"roles,omitempty" json:"roles,omitempty"` // user, admin:HOST, workstation-admin, domain-admin, service
	Home    string   `yaml:"home,omitempty" json:"home,omitempty"`   // host where the user works interactively
	Note    string   `yaml:"note,omitempty" json:"note,omitempty"`
}

// Techniques is the contract set of movement techniques.
var Techniques = []string{"psexec", "remote-service", "wmi", "winrm", "rdp", "scheduled-task", "admin-share", "dcom"}

// Authentications is the contract set of authentication values.
var Authentications = []string{"ntlm", "kerberos", "pass-the-hash", "overpass-the-hash", "explicit-credentials"}

// Unknown is the source of an edge that starts outside the collected
// estate (a tunnel, an attacker box).
const Unknown = "unknown"

// Edge is one movement from source to destination (or a series of
// identical ones with Repeat or Times).
type Edge struct {
	ID             string      `yaml:"id" json:"id"`
	Time           time.Time   `yaml:"time" json:"time"`
	Times          []time.Time `yaml:"times,omitempty" json:"times,omitempty"` // further occurrences
	Repeat         *Repeat     `yaml:"repeat,omitempty" json:"repeat,omitempty"`
	Source         string      `yaml:"source" json:"source"` // host name or "unknown"
	SourceAddress  string      `yaml:"source_address,omitempty" json:"source_address,omitempty"`
	Via            string      `yaml:"via,omitempty" json:"via,omitempty"` // unknown source: what carried it ("tunnel to 203.0.113.50 from BUILD01")
	Destination    string      `yaml:"destination" json:"destination"`
	Technique      string      `yaml:"technique" json:"technique"`
	Account        string      `yaml:"account" json:"account"`
	Authentication string      `yaml:"authentication" json:"authentication"`
	Attack         bool        `yaml:"attack" json:"attack"`
	Note           string      `yaml:"note,omitempty" json:"note,omitempty"`
	SourceUser     string      `yaml:"source_user,omitempty" json:"source_user,omitempty"` // who runs the client on the source (default Account)
	Command        string      `yaml:"command,omitempty" json:"command,omitempty"`         // client command line on the source
	Payload        string      `yaml:"payload,omitempty" json:"payload,omitempty"`         // command run on the destination
	File           string      `yaml:"file,omitempty" json:"file,omitempty"`               // admin-share: path written on the destination
	Share          string      `yaml:"share,omitempty" json:"share,omitempty"`             // admin-share: C$ (default) or ADMIN$
	Service        *Service    `yaml:"service,omitempty" json:"service,omitempty"`         // remote-service, psexec
	Task           *Task       `yaml:"task,omitempty" json:"task,omitempty"`               // scheduled-task
	Target         string      `yaml:"target,omitempty" json:"target,omitempty"`           // rdp: name as typed; default destination name
	// Disconnect (rdp): the session disconnects this long after the logon
	// and reconnects a minute later. Default 40m for an unknown source,
	// otherwise none.
	Disconnect Duration `yaml:"disconnect,omitempty" json:"disconnect,omitempty"`
}

// Repeat is "every Every, Count times in all" starting at Edge.Time.
type Repeat struct {
	Every Duration `yaml:"every" json:"every"`
	Count int      `yaml:"count" json:"count"`
}

// Service is a service created on the destination.
type Service struct {
	Name      string `yaml:"name" json:"name"`
	ImagePath string `yaml:"image_path" json:"image_path"`
	Creates   string `yaml:"creates,omitempty" json:"creates,omitempty"` // file the service's command creates
}

// Task is a scheduled task registered on the destination.
type Task struct {
	Name    string `yaml:"name" json:"name"` // \Microsoft\Windows\...\Name
	Command string `yaml:"command" json:"command"`
	RunAs   string `yaml:"run_as,omitempty" json:"run_as,omitempty"`   // SYSTEM (default) or DOMAIN\user
	Trigger string `yaml:"trigger,omitempty" json:"trigger,omitempty"` // onstart (default), daily
}

// Action kinds.
var ActionKinds = []string{"download", "run", "file", "copy", "delete", "read", "registry", "lsass-dump", "log-clear", "tunnel"}

// Action is one timed thing that happens on one host.
type Action struct {
	ID          string    `yaml:"id,omitempty" json:"id,omitempty"`
	Time        time.Time `yaml:"time" json:"time"`
	Host        string    `yaml:"host" json:"host"`
	Kind        string    `yaml:"kind" json:"kind"`
	User        string    `yaml:"user,omitempty" json:"user,omitempty"` // DOMAIN\name or SYSTEM
	Note        string    `yaml:"note,omitempty" json:"note,omitempty"`
	Seed        bool      `yaml:"seed,omitempty" json:"seed,omitempty"` // the first compromise of the estate
	Path        string    `yaml:"path,omitempty" json:"path,omitempty"` // file, or the program for run
	From        string    `yaml:"from,omitempty" json:"from,omitempty"` // copy source
	Command     string    `yaml:"command,omitempty" json:"command,omitempty"`
	Parent      string    `yaml:"parent,omitempty" json:"parent,omitempty"` // parent image for run
	URL         string    `yaml:"url,omitempty" json:"url,omitempty"`
	Referrer    string    `yaml:"referrer,omitempty" json:"referrer,omitempty"`
	Zone        int       `yaml:"zone,omitempty" json:"zone,omitempty"`
	Size        Size      `yaml:"size,omitempty" json:"size,omitempty"`
	Content     string    `yaml:"content,omitempty" json:"content,omitempty"` // file text (otherwise generated bytes of Size)
	Signed      bool      `yaml:"signed,omitempty" json:"signed,omitempty"`
	Publisher   string    `yaml:"publisher,omitempty" json:"publisher,omitempty"`       // .exe/.dll: CompanyName and signer
	CertPadding bool      `yaml:"cert_padding,omitempty" json:"cert_padding,omitempty"` // signed, with bytes hidden in the certificate table (CVE-2013-3900)
	Key         string    `yaml:"key,omitempty" json:"key,omitempty"`                   // registry: HKLM\SYSTEM\..., HKLM\SOFTWARE\..., HKCU\...
	Value       string    `yaml:"value,omitempty" json:"value,omitempty"`
	Type        string    `yaml:"type,omitempty" json:"type,omitempty"` // REG_SZ, REG_EXPAND_SZ, REG_DWORD
	Data        string    `yaml:"data,omitempty" json:"data,omitempty"`
	Channel     string    `yaml:"channel,omitempty" json:"channel,omitempty"`         // log-clear
	Remote      string    `yaml:"remote,omitempty" json:"remote,omitempty"`           // tunnel: ip:port
	Creates     []string  `yaml:"creates,omitempty" json:"creates,omitempty"`         // run, lsass-dump: files the program creates
	Deletes     []string  `yaml:"deletes,omitempty" json:"deletes,omitempty"`         // files deleted afterwards
	Interactive bool      `yaml:"interactive,omitempty" json:"interactive,omitempty"` // run: started from Explorer (UserAssist)
	Network     bool      `yaml:"network,omitempty" json:"network,omitempty"`         // run: keeps talking to the network until collection (SRUM)
}

// Duration is a time.Duration written as "-41s", "24h".
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	return d.parse(s)
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return d.parse(s)
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(strings.ReplaceAll(strings.TrimSpace(s), "−", "-"))
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Size is a byte count written as 40MiB, 512KiB or a plain number.
type Size int64

func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	return z.parse(s)
}

func (z *Size) UnmarshalJSON(b []byte) error {
	var s any
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return z.parse(fmt.Sprint(s))
}

var sizeRe = regexp.MustCompile(`^(\d+)\s*(B|KiB|MiB|GiB)?$`)

func (z *Size) parse(s string) error {
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return fmt.Errorf("size %q: want a number with optional KiB, MiB or GiB", s)
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return fmt.Errorf("size %q: %w", s, err)
	}
	switch m[2] {
	case "KiB":
		v <<= 10
	case "MiB":
		v <<= 20
	case "GiB":
		v <<= 30
	}
	*z = Size(v)
	return nil
}

// Load reads and validates a scenario file; .json files are JSON, anything
// else YAML. Unknown fields are errors, so typos do not pass silently.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	s, err := Parse(b, strings.EqualFold(filepath.Ext(path), ".json"))
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return s, nil
}

// Parse decodes and validates a scenario.
func Parse(b []byte, isJSON bool) (*Scenario, error) {
	var s Scenario
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("yaml: empty document")
			}
			return nil, fmt.Errorf("yaml: %w", err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

var (
	sidRe     = regexp.MustCompile(`^S-1-5-21-\d+-\d+-\d+$`)
	hostRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,14}$`)
	accountRe = regexp.MustCompile(`^[A-Za-z0-9-]+\\[A-Za-z0-9._$-]+$`)
)

// Validate checks the scenario is complete and consistent; the error lists
// every problem found, each naming the item.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Name == "" {
		bad("name: missing")
	}
	if s.Seed == "" {
		bad("seed: missing")
	}
	if s.Start.IsZero() || s.CollectedAt.IsZero() {
		bad("start and collected_at: both required")
	} else if !s.Start.Before(s.CollectedAt) {
		bad("start %s is not before collected_at %s", s.Start, s.CollectedAt)
	} else if s.CollectedAt.Sub(s.Start) > 400*24*time.Hour {
		bad("start..collected_at spans more than 400 days")
	}
	if s.Background != nil && (s.Background.Density < 0 || s.Background.Density > 5) {
		bad("background.density %g: want 0..5", s.Background.Density)
	}
	o := s.Organisation
	if o.Domain == "" || o.DNS == "" {
		bad("organisation: domain and dns required")
	}
	if !sidRe.MatchString(o.SID) {
		bad("organisation.sid %q: want S-1-5-21-a-b-c", o.SID)
	}
	hosts := map[string]*Host{}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		where := fmt.Sprintf("hosts[%d] %s", i, h.Name)
		if !hostRe.MatchString(h.Name) {
			bad("%s: name must be a NetBIOS name (1-15 letters, digits, '-')", where)
		}
		if strings.EqualFold(h.Name, Unknown) {
			bad("%s: %q is reserved", where, Unknown)
		}
		if hosts[strings.ToUpper(h.Name)] != nil {
			bad("%s: duplicate host", where)
		}
		hosts[strings.ToUpper(h.Name)] = h
		switch h.Role {
		case "workstation", "server", "dc":
		default:
			bad("%s: role %q: want workstation, server or dc", where, h.Role)
		}
		if len(h.Addresses) == 0 {
			bad("%s: addresses: at least one", where)
		}
		for j, a := range h.Addresses {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil || !ip.Is4() {
				bad("%s: addresses[%d] %q: want an IPv4 address", where, j, a.IP)
			}
			last := j == len(h.Addresses)-1
			if !last && a.Until.IsZero() {
				bad("%s: addresses[%d]: every address but the last needs until", where, j)
			}
			if j > 0 && !a.Until.IsZero() && !a.Until.After(h.Addresses[j-1].Until) {
				bad("%s: addresses[%d]: until must increase", where, j)
			}
		}
		for _, a := range h.Audit {
			if a != AuditWFP && a != AuditRegistry {
				bad("%s: audit %q: want %s or %s", where, a, AuditWFP, AuditRegistry)
			}
		}
		for j, sh := range h.Shares {
			if sh.Name == "" || strings.ContainsAny(sh.Name, `\/$`) {
				bad("%s: shares[%d]: name %q: want a plain share name (admin shares are edges)", where, j, sh.Name)
			}
			if !winPathRe.MatchString(sh.Path) {
				bad("%s: shares[%d]: path %q: want an absolute C:\\ path", where, j, sh.Path)
			}
			if len(sh.Users) == 0 {
				bad("%s: shares[%d]: users: at least one", where, j)
			}
		}
		if !h.Collected {
			if h.Image != nil {
				bad("%s: image given for a host that is not collected", where)
			}
			continue
		}
		if h.OS.Product == "" || h.OS.Build <= 0 {
			bad("%s: os.product and os.build required for a collected host", where)
		}
		if _, ok := timeZones[h.TimeZone]; !ok {
			bad("%s: timezone %q: not one the forge knows (%s)", where, h.TimeZone, strings.Join(timeZoneNames(), ", "))
		}
		if h.Image == nil {
			bad("%s: image required for a collected host", where)
			continue
		}
		if !containerRe.MatchString(h.Image.Container) {
			bad("%s: image.container %q: want raw, e01, e01:N, vmdk, vhdx, split or split:SIZE", where, h.Image.Container)
		}
		if h.Image.Scheme != "mbr" && h.Image.Scheme != "gpt" {
			bad("%s: image.scheme %q: want mbr or gpt", where, h.Image.Scheme)
		}
		if h.Image.Size < 8<<20 || h.Image.Size%4096 != 0 || h.Image.Size > 1<<30 {
			bad("%s: image.size %d: want 8MiB..1GiB, a multiple of 4KiB", where, h.Image.Size)
		}
	}
	dcs := 0
	for _, h := range s.Hosts {
		if h.Role == "dc" {
			dcs++
		}
	}
	if dcs > 1 {
		bad("hosts: at most one dc")
	}
	users := map[string]bool{}
	rids := map[int]string{}
	for i, u := range s.Users {
		where := fmt.Sprintf("users[%d] %s", i, u.Account)
		if !accountRe.MatchString(u.Account) {
			bad("%s: account must be DOMAIN\\name", where)
			continue
		}
		if d, _, _ := strings.Cut(u.Account, `\`); !strings.EqualFold(d, o.Domain) {
			bad("%s: domain %q is not the organisation's %q", where, d, o.Domain)
		}
		if users[strings.ToLower(u.Account)] {
			bad("%s: duplicate account", where)
		}
		users[strings.ToLower(u.Account)] = true
		if u.RID < 1000 && u.RID != 500 {
			bad("%s: rid %d: want 500 or >= 1000", where, u.RID)
		}
		if prev, ok := rids[u.RID]; ok {
			bad("%s: rid %d already used by %s", where, u.RID, prev)
		}
		rids[u.RID] = u.Account
		if u.Home != "" && hosts[strings.ToUpper(u.Home)] == nil {
			bad("%s: home %q: no such host", where, u.Home)
		}
	}
	hostOK := func(name string) bool { return hosts[strings.ToUpper(name)] != nil }
	userOK := func(a string) bool { return users[strings.ToLower(a)] }
	inWindow := func(t time.Time) bool { return !t.Before(s.Start) && t.Before(s.CollectedAt) }
	for i := range s.Hosts {
		for j, sh := range s.Hosts[i].Shares {
			for _, a := range sh.Users {
				u := s.User(a)
				if u == nil || u.Home == "" {
					bad("hosts[%d] %s: shares[%d]: user %q: not in users, or without a home host to open it from", i, s.Hosts[i].Name, j, a)
				} else if strings.EqualFold(u.Home, s.Hosts[i].Name) {
					bad("hosts[%d] %s: shares[%d]: user %q works on this host: a share is opened from another", i, s.Hosts[i].Name, j, a)
				}
			}
		}
	}
	ids := map[string]bool{}
	for i := range s.Edges {
		e := &s.Edges[i]
		where := fmt.Sprintf("edges[%d] %s", i, e.ID)
		if e.ID == "" || ids[e.ID] {
			bad("%s: id missing or duplicate", where)
		}
		ids[e.ID] = true
		if e.Source == Unknown {
			if e.SourceAddress == "" {
				bad("%s: source unknown needs source_address (what the destination sees)", where)
			}
		} else if !hostOK(e.Source) {
			bad("%s: source %q: no such host", where, e.Source)
		}
		if e.SourceAddress != "" {
			if _, err := netip.ParseAddr(e.SourceAddress); err != nil {
				bad("%s: source_address %q: %v", where, e.SourceAddress, err)
			}
		}
		if !hostOK(e.Destination) {
			bad("%s: destination %q: no such host", where, e.Destination)
		} else if strings.EqualFold(e.Source, e.Destination) {
			bad("%s: source and destination are the same host", where)
		}
		if !contains(Techniques, e.Technique) {
			bad("%s: technique %q: want one of %s", where, e.Technique, strings.Join(Techniques, ", "))
		}
		if !contains(Authentications, e.Authentication) {
			bad("%s: authentication %q: want one of %s", where, e.Authentication, strings.Join(Authentications, ", "))
		}
		if !userOK(e.Account) {
			bad("%s: account %q: not in users", where, e.Account)
		}
		if e.SourceUser != "" && !userOK(e.SourceUser) {
			bad("%s: source_user %q: not in users", where, e.SourceUser)
		}
		if e.Repeat != nil && len(e.Times) > 0 {
			bad("%s: give repeat or times, not both", where)
		}
		if e.Repeat != nil && (e.Repeat.Count < 2 || e.Repeat.Count > 1000 || e.Repeat.Every <= 0) {
			bad("%s: repeat: count 2..1000 and a positive every", where)
		}
		for _, t := range e.Occurrences() {
			if !inWindow(t) {
				bad("%s: time %s outside start..collected_at", where, t.Format(time.RFC3339))
			}
		}
		switch e.Technique {
		case "remote-service":
			if e.Service == nil || e.Service.Name == "" || e.Service.ImagePath == "" {
				bad("%s: remote-service needs service.name and service.image_path", where)
			}
		case "scheduled-task":
			if e.Task == nil || e.Task.Name == "" || e.Task.Command == "" {
				bad("%s: scheduled-task needs task.name and task.command", where)
			} else if !strings.HasPrefix(e.Task.Name, `\`) {
				bad("%s: task.name %q must start with a backslash", where, e.Task.Name)
			}
		case "admin-share":
			if e.Share != "" && e.Share != "C$" && e.Share != "ADMIN$" {
				bad("%s: share %q: want C$ or ADMIN$", where, e.Share)
			}
		}
		if e.Disconnect != 0 && (e.Technique != "rdp" || e.Disconnect < 0) {
			bad("%s: disconnect: only for rdp, and positive", where)
		}
		if e.Authentication == "pass-the-hash" && e.Technique == "rdp" {
			bad("%s: pass-the-hash over rdp needs restricted admin mode, which the forge does not model", where)
		}
	}
	for i := range s.Actions {
		a := &s.Actions[i]
		where := fmt.Sprintf("actions[%d] %s %s", i, a.Kind, a.ID)
		if a.ID != "" {
			if ids[a.ID] {
				bad("%s: id duplicate", where)
			}
			ids[a.ID] = true
		}
		if !hostOK(a.Host) {
			bad("%s: host %q: no such host", where, a.Host)
		}
		if !inWindow(a.Time) {
			bad("%s: time %s outside start..collected_at", where, a.Time.Format(time.RFC3339))
		}
		if a.User != "" && a.User != "SYSTEM" && !userOK(a.User) {
			bad("%s: user %q: not in users (or SYSTEM)", where, a.User)
		}
		need := func(field, v string) {
			if v == "" {
				bad("%s: %s required", where, field)
			}
		}
		path := func(field, v string) {
			need(field, v)
			if v != "" && !winPathRe.MatchString(v) {
				bad("%s: %s %q: want an absolute C:\\ path", where, field, v)
			}
		}
		switch a.Kind {
		case "download":
			path("path", a.Path)
			need("url", a.URL)
			need("user", a.User)
		case "run":
			path("path", a.Path)
		case "lsass-dump":
			need("command", a.Command)
			if len(a.Creates) == 0 {
				bad("%s: creates: the dump file", where)
			}
		case "tunnel":
			path("path", a.Path)
			need("remote", a.Remote)
			if _, err := netip.ParseAddrPort(a.Remote); a.Remote != "" && err != nil {
				bad("%s: remote %q: want ip:port", where, a.Remote)
			}
		case "file", "delete", "read":
			path("path", a.Path)
		case "copy":
			path("path", a.Path)
			need("from", a.From)
		case "registry":
			need("key", a.Key)
			if !strings.HasPrefix(a.Key, `HKLM\SYSTEM\`) && !strings.HasPrefix(a.Key, `HKLM\SOFTWARE\`) && !strings.HasPrefix(a.Key, `HKCU\`) {
				bad("%s: key %q: want HKLM\\SYSTEM\\..., HKLM\\SOFTWARE\\... or HKCU\\...", where, a.Key)
			}
			if strings.HasPrefix(a.Key, `HKCU\`) && (a.User == "" || a.User == "SYSTEM") {
				bad("%s: HKCU needs a user", where)
			}
			switch a.Type {
			case "REG_SZ", "REG_EXPAND_SZ":
			case "REG_DWORD":
				if _, err := strconv.ParseUint(a.Data, 0, 32); err != nil {
					bad("%s: data %q: not a DWORD", where, a.Data)
				}
			default:
				bad("%s: type %q: want REG_SZ, REG_EXPAND_SZ or REG_DWORD", where, a.Type)
			}
		case "log-clear":
			if _, ok := channelFiles[a.Channel]; !ok {
				bad("%s: channel %q: not a channel the forge writes", where, a.Channel)
			}
		default:
			bad("%s: kind %q: want one of %s", where, a.Kind, strings.Join(ActionKinds, ", "))
		}
		for _, p := range append(append([]string{}, a.Creates...), a.Deletes...) {
			if !winPathRe.MatchString(p) {
				bad("%s: %q: want an absolute C:\\ path", where, p)
			}
		}
	}
	return errors.Join(errs...)
}

var (
	containerRe = regexp.MustCompile(`^(raw|e01|e01:\d+|vmdk|vhdx|split|split:\d+[KMG]?)$`)
	winPathRe   = regexp.MustCompile(`^[Cc]:\\[^<>"|?*]+$`)
)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Occurrences are the edge's times in order: Time, then Times or the
// repeats.
func (e *Edge) Occurrences() []time.Time {
	out := []time.Time{e.Time}
	out = append(out, e.Times...)
	if e.Repeat != nil {
		for i := 1; i < e.Repeat.Count; i++ {
			out = append(out, e.Time.Add(time.Duration(i)*time.Duration(e.Repeat.Every)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// Host returns the host called name (case-insensitive), or nil.
func (s *Scenario) Host(name string) *Host {
	for i := range s.Hosts {
		if strings.EqualFold(s.Hosts[i].Name, name) {
			return &s.Hosts[i]
		}
	}
	return nil
}

// User returns the account (case-insensitive), or nil.
func (s *Scenario) User(account string) *User {
	for i := range s.Users {
		if strings.EqualFold(s.Users[i].Account, account) {
			return &s.Users[i]
		}
	}
	return nil
}

// AddressAt is the host's address at true time t.
func (h *Host) AddressAt(t time.Time) string {
	for _, a := range h.Addresses {
		if a.Until.IsZero() || t.Before(a.Until) {
			return a.IP
		}
	}
	return h.Addresses[len(h.Addresses)-1].IP
}

// FQDN is the host's DNS name in the organisation.
func (s *Scenario) FQDN(h *Host) string { return h.Name + "." + s.Organisation.DNS }

// SID of an account.
func (s *Scenario) SID(u *User) string { return fmt.Sprintf("%s-%d", s.Organisation.SID, u.RID) }

// Name is the account without its domain.
func (u *User) Name() string { _, n, _ := strings.Cut(u.Account, `\`); return n }

// Domain is the account's domain.
func (u *User) Domain() string { d, _, _ := strings.Cut(u.Account, `\`); return d }
