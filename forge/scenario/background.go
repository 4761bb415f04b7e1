package scenario

import (
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/background"
	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/parsers/event"
)

// background gives every collected host the ordinary activity of
// forge/background over start..collected_at: console and service logons,
// services, Windows Update, maintenance tasks, browsing, program runs,
// nightly batch jobs of service accounts, documented share use, and on the
// DC the Kerberos and NTLM traffic of every member (collected or not),
// which binds each member's address of the day to its name. That package
// never forges a remote logon other than the share use listed here, so the
// background adds no movement edge. None of it is a key event.
func (g *gen) background() {
	if g.s.Background != nil && g.s.Background.Off {
		return
	}
	h := fnv.New64a()
	h.Write([]byte("background\x00" + g.s.Seed))
	seed := int64(h.Sum64())
	from, to := g.s.Start, g.s.CollectedAt
	members := make([]background.Host, len(g.s.Hosts))
	for i := range g.s.Hosts {
		members[i] = g.bgHost(&g.s.Hosts[i])
	}
	for i := range g.s.Hosts {
		host := &g.s.Hosts[i]
		if !host.Collected {
			continue
		}
		act := background.Generate(members[i], from, to, seed)
		if host.Role == "dc" {
			act = background.Merge(act, background.GenerateDC(members[i], members, from, to, seed))
		}
		hs := g.host(host.Name)
		g.absorb(hs, act)
		// The shared files exist from before the case.
		made := event.FromTime(installTime(g.s, host).Add(48*time.Hour + time.Duration(host.ClockOffset)))
		for _, sh := range host.Shares {
			for _, f := range sh.Files {
				p := strings.TrimSuffix(sh.Path, `\`) + `\` + f
				hs.file("file", p, made, content(g.s.Seed+p, 6144), "", "")
			}
		}
	}
	g.shareMountPoints()
}

// bgHost describes a scenario host to forge/background.
func (g *gen) bgHost(h *Host) background.Host {
	role := background.Server
	switch h.Role {
	case "workstation":
		role = background.Workstation
	case "dc":
		role = background.DC
	}
	bh := background.Host{
		Name: h.Name, Domain: g.s.Organisation.Domain, DomainSID: g.s.Organisation.SID, DNSDomain: g.s.Organisation.DNS,
		Role: role, IP: h.Addresses[0].IP, OSBuild: h.OS.Build, Sysmon: h.Sysmon,
		ClockOffset: time.Duration(h.ClockOffset), Location: location(h.TimeZone),
		RID: uint32(g.machineRID(h)), LSASSPID: g.lsassPID(h),
	}
	if g.s.Background != nil && g.s.Background.Density > 0 {
		bh.Density = g.s.Background.Density
	}
	bh.Addrs = bgAddrs(g.s, h)
	if g.dc != nil {
		bh.DCName, bh.DCIP = g.dc.Name, g.dc.AddressAt(g.s.Start)
	}
	for i := range g.s.Users {
		u := &g.s.Users[i]
		if strings.EqualFold(u.Home, h.Name) {
			bh.Users = append(bh.Users, background.User{Name: u.Name(), SID: g.s.SID(u), Interactive: !contains(u.Roles, "service")})
		}
	}
	for _, sh := range h.Shares {
		for _, a := range sh.Users {
			u := g.s.User(a)
			client := g.s.Host(u.Home)
			bh.Shares = append(bh.Shares, background.ShareUse{
				User:   background.User{Name: u.Name(), SID: g.s.SID(u), Interactive: true},
				Client: client.Name, ClientAddrs: bgAddrs(g.s, client), Share: sh.Name, LocalPath: sh.Path,
				Files: sh.Files, Admin: g.isAdmin(u, h),
			})
		}
	}
	return bh
}

// bgAddrs turns "held until" addresses into "held from" ones.
func bgAddrs(s *Scenario, h *Host) []background.Addr {
	out := make([]background.Addr, len(h.Addresses))
	for i, a := range h.Addresses {
		from := s.Start
		if i > 0 {
			from = h.Addresses[i-1].Until
		}
		out[i] = background.Addr{From: from, IP: a.IP}
	}
	return out
}

var miniDumpRe = regexp.MustCompile(`(?i)MiniDump\s+(\d+)`)

// lsassPID is the lsass.exe PID a dump on h names (comsvcs MiniDump PID),
// so that background Security records come from that process; 0 derives one.
func (g *gen) lsassPID(h *Host) uint32 {
	for _, a := range g.s.Actions {
		if a.Kind == "lsass-dump" && strings.EqualFold(a.Host, h.Name) {
			if m := miniDumpRe.FindStringSubmatch(a.Command); m != nil {
				if n, err := strconv.ParseUint(m[1], 10, 32); err == nil {
					return uint32(n)
				}
			}
		}
	}
	return 0
}

// absorb adds a background activity to a host: its records, its files
// (with USN records), its program runs (execution traces: Prefetch,
// ShimCache, Amcache, BAM, UserAssist) and, where the host audits the
// filtering platform, the 5156 of each inbound share session.
func (g *gen) absorb(hs *hostState, act background.Activity) {
	for _, recs := range act.Records {
		for _, r := range recs {
			hs.recs = append(hs.recs, &rec{r: r})
			switch r.EventID {
			case 4688:
				if r.Channel == chSecurity {
					g.noteBackgroundRun(hs, r)
				}
			case 4624:
				if r.Channel == chSecurity && hs.h.audits(AuditWFP) && fieldOf(r, "LogonType") == uint32(3) {
					ip, _ := fieldOf(r, "IpAddress").(string)
					port, _ := fieldOf(r, "IpPort").(string)
					if ip != "" && ip != "-" {
						at := r.Time - event.FileTime(500_000)
						local := hs.h.AddressAt(at.Time().Add(-time.Duration(hs.h.ClockOffset)))
						hs.add(at, sec5156(4, "System", true, local, "445", ip, port), "", "")
					}
				}
			}
		}
	}
	for _, op := range act.Files {
		hs.file(op.Kind, "C:"+op.Path, op.At, op.Data, "", "")
	}
}

// noteBackgroundRun records the execution traces of a background 4688.
func (g *gen) noteBackgroundRun(hs *hostState, r evtx.Record) {
	image, _ := fieldOf(r, "NewProcessName").(string)
	parent, _ := fieldOf(r, "ParentProcessName").(string)
	sid, _ := fieldOf(r, "SubjectUserSid").(evtx.SID)
	name, _ := fieldOf(r, "SubjectUserName").(string)
	if t, _ := fieldOf(r, "TargetUserSid").(evtx.SID); t != "" && t != sidNull {
		sid = t
		name, _ = fieldOf(r, "TargetUserName").(string)
	}
	if image == "" {
		return
	}
	ui := strings.EqualFold(parent, `C:\Windows\explorer.exe`) && strings.HasPrefix(string(sid), "S-1-5-21-")
	hs.noteRun(image, name, string(sid), r.Time, ui, "")
}

func fieldOf(r evtx.Record, k string) any {
	for _, f := range r.Data {
		if f.Key == k {
			return f.Value
		}
	}
	return nil
}

// shareMountPoints writes, for each documented share use, the
// MountPoints2 key Explorer leaves in the user's NTUSER.DAT on the client
// (##SERVER#Share), last written at the user's last session on the share.
func (g *gen) shareMountPoints() {
	for i := range g.s.Hosts {
		srv := &g.s.Hosts[i]
		shs := g.host(srv.Name)
		for _, sh := range srv.Shares {
			for _, a := range sh.Users {
				u := g.s.User(a)
				client := g.host(u.Home)
				if !client.h.Collected {
					continue
				}
				var last event.FileTime
				for _, x := range shs.recs {
					if x.r.EventID == 5140 && x.r.Channel == chSecurity && fieldOf(x.r, "ShareName") == `\\*\`+sh.Name && fieldOf(x.r, "SubjectUserName") == u.Name() && x.r.Time > last {
						last = x.r.Time
					}
				}
				if last == 0 {
					continue // the server's sessions are not forged (not collected, or no working day)
				}
				at := last - event.FileTime(time.Duration(srv.ClockOffset)/100) + event.FileTime(time.Duration(client.h.ClockOffset)/100)
				client.mountPoint(u, strings.ToUpper(srv.Name), sh.Name, at)
			}
		}
	}
}

// mountPoint is the MountPoints2 key of a share the user opened.
func (hs *hostState) mountPoint(u *User, server, share string, at event.FileTime) {
	k := key(hs.reg.user(u.Name()), `Software\Microsoft\Windows\CurrentVersion\Explorer\MountPoints2\##`+server+`#`+share, at)
	k.Set(stringValue("BaseClass", "Drive"))
}
