// Package background forges the ordinary activity of a Windows host over a
// time range: interactive and service logons, the machine's and users'
// Kerberos traffic as the domain controller logs it, service starts and
// stops, Windows Update, scheduled maintenance tasks, process creation,
// Sysmon, PowerShell engine starts and, where the caller lists them,
// ordinary file-share sessions. It exists so that an attack in a forged
// case is not the only thing in the logs.
//
// What it never does: log a network (3) or remote-interactive (10) logon
// whose source is another host, unless the caller asked for that share use
// in Host.Shares; ask the DC for a service ticket to another member; open
// C$, ADMIN$ or IPC$; spawn children of WmiPrvSE, wsmprovhost or mmc; use a
// task name the scenario's attack uses. Background must not create
// lateral-movement edges by accident.
//
// Times: every record's time is the host's clock, true UTC shifted by
// Host.ClockOffset; activity is generated for true times in [from, to).
// Working hours follow Host.Location. The same Host, range and seed give
// the same records; pass the same seed to Generate for every member and
// to GenerateDC, so that the DC's 4768/4769 match the members' logons
// (times and LogonGuid).
package background

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/parsers/event"
)

// Channels written, with their exact names.
const (
	Security      = "Security"
	System        = "System"
	Sysmon        = "Microsoft-Windows-Sysmon/Operational"
	TaskScheduler = "Microsoft-Windows-TaskScheduler/Operational"
	PowerShell    = "Microsoft-Windows-PowerShell/Operational"
	PowerShellWin = "Windows PowerShell"
)

// Roles.
const (
	Workstation = "workstation"
	Server      = "server"
	DC          = "dc"
)

// User is an account that uses the host. Interactive users log on at the
// console on working days (workstations); the others run a nightly batch
// job (scheduled task `\Scheduled\<Name>`), as service accounts do.
type User struct {
	Name, SID   string
	Interactive bool
}

// Addr is an address a host holds from From on; the first entry of a list
// also applies before its From.
type Addr struct {
	From time.Time
	IP   string
}

// ShareUse is an ordinary, documented file-share habit on this (server)
// host: User opens \\host\Share from the client on working days and reads
// Files. It produces 4624 type 3 (Kerberos) from the client's address,
// 5140/5145 and 4634 here, and the matching 4769 on the DC (GenerateDC).
// The caller lists it in its truth as benign; background adds none itself.
type ShareUse struct {
	User        User
	Client      string // client host name (NetBIOS), for the caller's records
	ClientAddrs []Addr
	Share       string   // share name, e.g. "Projects"
	LocalPath   string   // e.g. `C:\Shares\Projects`
	Files       []string // relative paths read, e.g. `Q1\forecast.xlsx`
	Admin       bool     // the user is a local administrator: 4672 follows the logon
}

// Host describes the machine whose background is forged.
type Host struct {
	Name, Domain, DomainSID string // NetBIOS name and domain, domain SID
	DNSDomain               string // e.g. corp.example; "" = lower(Domain)+".local"
	Role                    string // workstation, server, dc
	IP                      string // address; Addrs, when set, overrides it by time
	Addrs                   []Addr
	DCName, DCIP            string
	Users                   []User
	OSBuild                 int // 19045, 22621, 17763, 20348...
	Sysmon                  bool
	ClockOffset             time.Duration  // shift everything recorded
	Location                *time.Location // working hours; nil = UTC
	Browser                 string         // chrome or msedge; "" = chrome
	LSASSPID                uint32         // lsass.exe's PID (Security records' Execution/@ProcessID); 0 = derived
	RID                     uint32         // machine account RID; 0 = derived from the name
	Shares                  []ShareUse
	Density                 float64 // scales the rate of routine events; 0 = 1
}

// Activity is the forged background of one host.
type Activity struct {
	Records map[string][]evtx.Record // by channel, sorted by time
	Files   []disk.Op                // ordinary file activity, sorted by time
}

// Count returns the number of records in all channels.
func (a Activity) Count() int {
	n := 0
	for _, r := range a.Records {
		n += len(r)
	}
	return n
}

// Merge combines activities (e.g. Generate and GenerateDC of the DC, or
// background and scenario records), keeping each channel sorted by time;
// records with equal times keep their order, a's first.
func Merge(acts ...Activity) Activity {
	out := Activity{Records: map[string][]evtx.Record{}}
	for _, a := range acts {
		for ch, recs := range a.Records {
			out.Records[ch] = append(out.Records[ch], recs...)
		}
		out.Files = append(out.Files, a.Files...)
	}
	for _, recs := range out.Records {
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time < recs[j].Time })
	}
	sort.SliceStable(out.Files, func(i, j int) bool { return out.Files[i].At < out.Files[j].At })
	return out
}

// Generate forges h's own background for true times in [from, to).
func Generate(h Host, from, to time.Time, seed int64) Activity {
	g := newGen(h, from, to, seed, "host")
	for day := startOfDay(from.UTC()); day.Before(to); day = day.Add(24 * time.Hour) {
		g.day(day)
	}
	return g.finish()
}

// GenerateDC forges what dc's Security log records of the routine traffic
// of members: machine-account TGTs (4768) and service tickets for the DC
// (4769), users' TGTs and tickets for their own workstation at logon (the
// 4769 LogonGuid equals the member's 4624 LogonGuid), NTLM validations
// (4776) naming the member, and tickets for documented share use. Times
// are the DC's clock (dc.ClockOffset). Members equal to dc are skipped.
func GenerateDC(dc Host, members []Host, from, to time.Time, seed int64) Activity {
	g := newGen(dc, from, to, seed, "dc")
	for day := startOfDay(from.UTC()); day.Before(to); day = day.Add(24 * time.Hour) {
		for _, m := range members {
			if strings.EqualFold(m.Name, dc.Name) {
				continue
			}
			g.dcDay(fill(m), day)
		}
	}
	return g.finish()
}

// fill completes defaults that both sides of an exchange must agree on.
func fill(h Host) Host {
	if h.DNSDomain == "" {
		h.DNSDomain = strings.ToLower(h.Domain) + ".local"
	}
	if h.Density <= 0 {
		h.Density = 1
	}
	if h.Location == nil {
		h.Location = time.UTC
	}
	if h.Browser == "" {
		h.Browser = "chrome"
	}
	if h.RID == 0 {
		h.RID = 1000 + uint32(hash64(strings.ToUpper(h.Name))%4000)
	}
	if h.LSASSPID == 0 {
		h.LSASSPID = 600 + 4*uint32(hash64("lsass", h.Name)%80)
	}
	return h
}

type gen struct {
	h        Host
	seed     int64
	rng      *rand.Rand
	from, to time.Time
	fqdn     string
	realm    string
	out      map[string][]evtx.Record
	files    []disk.Op
	logonSeq uint64
	session  uint32
	// long-lived processes
	services, winlogon, schedule, dcomlaunch, sysmonPID, wuSvc uint32
	started                                                    map[uint32]time.Time
	boot                                                       time.Time
}

func newGen(h Host, from, to time.Time, seed int64, purpose string) *gen {
	h = fill(h)
	g := &gen{h: h, seed: seed, from: from.UTC(), to: to.UTC(), out: map[string][]evtx.Record{}}
	g.started = map[uint32]time.Time{}
	g.boot = startOfDay(g.from).Add(-time.Duration(3+hash64("boot", h.Name)%20)*24*time.Hour + time.Duration(hash64("boot-s", h.Name)%86400)*time.Second)
	g.rng = rand.New(rand.NewPCG(uint64(seed), hash64(purpose, h.Name)))
	g.fqdn = h.Name + "." + h.DNSDomain
	g.realm = strings.ToUpper(h.DNSDomain)
	pid := func(what string, lo uint32) uint32 { return lo + 4*uint32(hash64(what, h.Name)%64) }
	g.services = pid("services", 640)
	g.winlogon = pid("winlogon", 500)
	g.schedule = pid("schedule", 1400)
	g.dcomlaunch = pid("dcomlaunch", 880)
	g.sysmonPID = pid("sysmon", 2800)
	g.wuSvc = pid("wu", 3200)
	g.logonSeq = 0x3a000 + hash64("logon", h.Name)%0x1000
	return g
}

func (g *gen) finish() Activity {
	for _, recs := range g.out {
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time < recs[j].Time })
	}
	sort.SliceStable(g.files, func(i, j int) bool { return g.files[i].At < g.files[j].At })
	return Activity{Records: g.out, Files: g.files}
}

// add records r at true time t on the host's clock, if t is in range.
func (g *gen) add(ch string, t time.Time, r evtx.Record) {
	if t.Before(g.from) || !t.Before(g.to) {
		return
	}
	r.Time = event.FromTime(t.Add(g.h.ClockOffset))
	r.Channel = ch
	r.Computer = g.fqdn
	if r.ThreadID == 0 {
		r.ThreadID = g.tid()
	}
	g.out[ch] = append(g.out[ch], r)
}

func (g *gen) tid() uint32 { return 100 + 4*uint32(g.rng.IntN(4000)) }

func (g *gen) newPID() uint32 { return 1000 + 4*uint32(g.rng.IntN(5000)) }

func (g *gen) newLogonID() uint64 {
	g.logonSeq += 0x100 + uint64(g.rng.IntN(0x4000))
	return g.logonSeq
}

// ipAt is the host's address at true time t.
func ipAt(def string, addrs []Addr, t time.Time) string {
	ip := def
	for i, a := range addrs {
		if i == 0 || !t.Before(a.From) {
			ip = a.IP
		}
	}
	return ip
}

func (g *gen) ip(t time.Time) string { return ipAt(g.h.IP, g.h.Addrs, t) }

// jitter returns d ± spread, uniformly.
func (g *gen) jitter(spread time.Duration) time.Duration {
	if spread <= 0 {
		return 0
	}
	return time.Duration(g.rng.Int64N(int64(2*spread))) - spread
}

// ticks adds a sub-second part so that times are not round.
func (g *gen) ticks(t time.Time) time.Time {
	return t.Add(time.Duration(g.rng.IntN(10_000_000)) * 100)
}

// count draws how many times something with mean rate happens today.
func (g *gen) count(mean float64) int {
	mean *= g.h.Density
	n := int(mean)
	if g.rng.Float64() < mean-float64(n) {
		n++
	}
	if n > 0 && g.rng.IntN(4) == 0 {
		n += g.rng.IntN(3) - 1
	}
	return n
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// dayRand is a generator both sides of an exchange can rebuild: the
// member's Generate and the DC's GenerateDC draw the member's schedule for
// a day from it.
func dayRand(seed int64, host, what string, day time.Time) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), hash64(strings.ToUpper(host), what, day.Format("2006-01-02"))))
}

// guidFrom makes a stable GUID from its parts.
func guidFrom(parts ...string) evtx.GUID {
	a, b := hash64(parts...), hash64(append(parts, "2")...)
	return evtx.GUID(fmt.Sprintf("{%08X-%04X-%04X-%04X-%012X}", uint32(a>>32), uint16(a>>16), 0x4000|uint16(a)&0x0fff,
		0x8000|uint16(b>>48)&0x3fff, b&0xffffffffffff))
}

func (g *gen) machineSID() string { return fmt.Sprintf("%s-%d", g.h.DomainSID, g.h.RID) }

// session is one interactive logon of a user on a member, as both the
// member and the DC see it.
type session struct {
	user           User
	logon, logoff  time.Time
	lock, unlock   time.Time // zero: no lunch lock
	cached         bool      // type 11: no DC involved
	guid           evtx.GUID
	ntlm           []time.Time // NTLM validations during the session (4776 on the DC)
	browse, office int
	psAt           time.Time // zero: no PowerShell today
}

// sessions is the interactive use of member h on the UTC day that starts
// at day: working days in h's time zone, one session per interactive user.
func sessions(h Host, day time.Time, seed int64) []session {
	h = fill(h)
	if h.Role != Workstation {
		return nil
	}
	var out []session
	for _, u := range h.Users {
		if !u.Interactive {
			continue
		}
		r := dayRand(seed, h.Name, "session/"+u.Name, day)
		// The session belongs to the local calendar day whose 09:00 falls
		// in this UTC day, so each local working day is drawn once.
		var ld time.Time
		found := false
		for _, off := range []int{-1, 0, 1} {
			d := day.AddDate(0, 0, off)
			c := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, h.Location)
			if nine := c.Add(9 * time.Hour); !nine.Before(day) && nine.Before(day.Add(24*time.Hour)) {
				ld, found = c, true
				break
			}
		}
		if !found {
			continue
		}
		if wd := ld.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		if r.IntN(20) == 0 { // a day off
			continue
		}
		s := session{user: u}
		s.logon = ld.Add(7*time.Hour + 40*time.Minute + time.Duration(r.IntN(95*60))*time.Second + time.Duration(r.IntN(10_000_000))*100).UTC()
		s.logoff = ld.Add(16*time.Hour + 45*time.Minute + time.Duration(r.IntN(110*60))*time.Second + time.Duration(r.IntN(10_000_000))*100).UTC()
		if r.IntN(3) > 0 {
			s.lock = ld.Add(11*time.Hour + 50*time.Minute + time.Duration(r.IntN(70*60))*time.Second).UTC()
			s.unlock = s.lock.Add(time.Duration(25*60+r.IntN(45*60)) * time.Second)
		}
		s.cached = r.IntN(25) == 0
		s.guid = guidFrom("logon", h.Name, u.Name, day.Format("2006-01-02"), fmt.Sprint(seed))
		for i := 0; i < r.IntN(3); i++ {
			s.ntlm = append(s.ntlm, s.logon.Add(time.Duration(30*60+r.IntN(int(s.logoff.Sub(s.logon).Seconds())-3600))*time.Second))
		}
		s.browse = int(float64(3+r.IntN(6)) * h.Density)
		s.office = int(float64(1+r.IntN(4)) * h.Density)
		if r.IntN(5) == 0 {
			s.psAt = s.logon.Add(time.Duration(3600+r.IntN(4*3600)) * time.Second)
		}
		out = append(out, s)
	}
	return out
}

// batchRun is a non-interactive user's nightly job on h.
func batchRun(h Host, u User, day time.Time, seed int64) time.Time {
	r := dayRand(seed, h.Name, "batch/"+u.Name, day)
	base := time.Duration(1+hash64(h.Name, u.Name)%4) * time.Hour
	return day.Add(base + time.Duration(hash64("min", h.Name, u.Name)%50)*time.Minute + time.Duration(r.IntN(90_000_000))*100)
}

// machineTGTs are the times h's machine account asks the DC for a TGT on
// day (about every 10 hours, as the TGT lifetime makes it).
func machineTGTs(h Host, day time.Time, seed int64) []time.Time {
	r := dayRand(seed, h.Name, "machine-tgt", day)
	first := time.Duration(hash64("tgt", h.Name)%(10*3600)) * time.Second
	var out []time.Time
	for t := first; t < 24*time.Hour; t += 10*time.Hour - time.Duration(r.IntN(600))*time.Second {
		out = append(out, day.Add(t+time.Duration(r.IntN(10_000_000))*100))
	}
	return out
}

// shareSession is one session of a ShareUse.
type shareSession struct {
	use        ShareUse
	start, end time.Time
	guid       evtx.GUID
	port       int
}

func shareSessions(h Host, day time.Time, seed int64) []shareSession {
	var out []shareSession
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return nil
	}
	for i, su := range h.Shares {
		r := dayRand(seed, h.Name, fmt.Sprintf("share/%d/%s", i, su.User.Name), day)
		n := r.IntN(3)
		for k := 0; k < n; k++ {
			start := day.Add(8*time.Hour + time.Duration(r.IntN(9*3600))*time.Second + time.Duration(r.IntN(10_000_000))*100)
			out = append(out, shareSession{
				use: su, start: start, end: start.Add(time.Duration(120+r.IntN(40*60)) * time.Second),
				guid: guidFrom("share", h.Name, su.User.Name, start.Format(time.RFC3339Nano), fmt.Sprint(seed)),
				port: 49152 + r.IntN(16000),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}
