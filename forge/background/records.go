package background

import (
	"fmt"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// Record builders. Field names, order and value types follow
// ../shared/docs/lateral-movement.md §6 and the Windows manifests; the
// %%NNNN insertion strings are left unlocalised as Windows stores them.

const (
	secProvider  = "Microsoft-Windows-Security-Auditing"
	secGUID      = "{54849625-5478-4994-A5BA-3E3B0328C30D}"
	secKeywords  = 0x8020000000000000
	scmProvider  = "Service Control Manager"
	scmGUID      = "{555908d1-a6d7-4695-8e1e-26931d2012f4}"
	wuProvider   = "Microsoft-Windows-WindowsUpdateClient"
	wuGUID       = "{945A8954-C147-4ACD-923F-40C45405A658}"
	taskProvider = "Microsoft-Windows-TaskScheduler"
	taskGUID     = "{DE7B24EA-73C8-4A09-985D-5BDADCFA9017}"
	smProvider   = "Microsoft-Windows-Sysmon"
	smGUID       = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"
	psProvider   = "Microsoft-Windows-PowerShell"
	psGUID       = "{A0C1853B-5C40-4B15-8766-3CF1C58F985A}"

	nullSID   = "S-1-0-0"
	systemSID = "S-1-5-18"
	zeroGUID  = evtx.GUID("{00000000-0000-0000-0000-000000000000}")

	labelSystem = "S-1-16-16384"
	labelHigh   = "S-1-16-12288"
	labelMedium = "S-1-16-8192"
)

const systemPrivileges = "SeAssignPrimaryTokenPrivilege\r\n\t\t\tSeTcbPrivilege\r\n\t\t\tSeSecurityPrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeAuditPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"

const adminPrivileges = "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"

func f(k string, v any) event.Field { return event.Field{Key: k, Value: v} }

// principal is who acts: SID, name, domain and logon session.
type principal struct {
	sid, user, domain string
	logonID           uint64
}

var (
	nobody     = principal{nullSID, "-", "-", 0}
	systemUser = principal{systemSID, "SYSTEM", "NT AUTHORITY", 0x3e7}
)

// machine is the host acting as itself (SYSTEM, shown as HOST$).
func (g *gen) machine() principal {
	return principal{systemSID, g.h.Name + "$", g.h.Domain, 0x3e7}
}

func (p principal) subject() []event.Field {
	return []event.Field{f("SubjectUserSid", evtx.SID(p.sid)), f("SubjectUserName", p.user), f("SubjectDomainName", p.domain), f("SubjectLogonId", evtx.HexInt64(p.logonID))}
}

func (p principal) account() string {
	if p.domain == "" {
		return p.user
	}
	return p.domain + `\` + p.user
}

func (g *gen) sec(t time.Time, id uint16, version uint8, task uint16, data ...event.Field) {
	g.add(Security, t, evtx.Record{
		Provider: secProvider, ProviderGUID: secGUID, EventID: id, Version: version, Task: task,
		Keywords: secKeywords, ProcessID: g.h.LSASSPID, Data: data,
	})
}

// logon is a 4624 (version 2).
type logon struct {
	subject          principal
	target           principal
	typ              uint32
	process, pkg, ws string
	guid             evtx.GUID
	lm               string
	keyLen           uint32
	pid              uint64
	pname, ip, port  string
	virtual          bool
	elevated         bool
	linked           uint64
}

func (g *gen) logon(t time.Time, l logon) {
	yes := func(b bool) string {
		if b {
			return "%%1842"
		}
		return "%%1843"
	}
	if l.guid == "" {
		l.guid = zeroGUID
	}
	if l.lm == "" {
		l.lm = "-"
	}
	restricted := "-"
	if l.typ == 10 {
		restricted = "%%1843"
	}
	data := append(l.subject.subject(),
		f("TargetUserSid", evtx.SID(l.target.sid)), f("TargetUserName", l.target.user), f("TargetDomainName", l.target.domain),
		f("TargetLogonId", evtx.HexInt64(l.target.logonID)), f("LogonType", l.typ), f("LogonProcessName", l.process),
		f("AuthenticationPackageName", l.pkg), f("WorkstationName", l.ws), f("LogonGuid", l.guid), f("TransmittedServices", "-"),
		f("LmPackageName", l.lm), f("KeyLength", l.keyLen), f("ProcessId", evtx.SizeT(l.pid)), f("ProcessName", l.pname),
		f("IpAddress", l.ip), f("IpPort", l.port), f("ImpersonationLevel", "%%1833"), f("RestrictedAdminMode", restricted),
		f("TargetOutboundUserName", "-"), f("TargetOutboundDomainName", "-"), f("VirtualAccount", yes(l.virtual)),
		f("TargetLinkedLogonId", evtx.HexInt64(l.linked)), f("ElevatedToken", yes(l.elevated)))
	g.sec(t, 4624, 2, 12544, data...)
}

func (g *gen) special(t time.Time, p principal, privs string) {
	g.sec(t, 4672, 0, 12548, append(p.subject(), f("PrivilegeList", privs))...)
}

func (g *gen) logoff(t time.Time, p principal, typ uint32) {
	g.sec(t, 4634, 0, 12545, f("TargetUserSid", evtx.SID(p.sid)), f("TargetUserName", p.user), f("TargetDomainName", p.domain),
		f("TargetLogonId", evtx.HexInt64(p.logonID)), f("LogonType", typ))
}

// proc is a process being created.
type proc struct {
	creator     principal // subject of 4688
	target      principal // the new token's owner when it differs (userinit), else nobody
	image, cmd  string
	pid, parent uint32
	parentImage string
	elevation   string // %%1936 full, %%1937 elevated, %%1938 limited
	label       string
	session     uint32
	integrity   string
}

// process logs a 4688 (version 2) and, with Sysmon, the Sysmon 1 of it;
// it returns the new PID.
func (g *gen) process(t time.Time, p proc) uint32 {
	if p.pid == 0 {
		p.pid = g.newPID()
	}
	g.started[p.pid] = t
	if p.target.sid == "" {
		p.target = nobody
	}
	if p.elevation == "" {
		p.elevation = "%%1936"
	}
	if p.label == "" {
		p.label = labelSystem
	}
	g.sec(t, 4688, 2, 13312, append(p.creator.subject(),
		f("NewProcessId", evtx.SizeT(p.pid)), f("NewProcessName", p.image), f("TokenElevationType", p.elevation),
		f("ProcessId", evtx.SizeT(p.parent)), f("CommandLine", p.cmd), f("TargetUserSid", evtx.SID(p.target.sid)),
		f("TargetUserName", p.target.user), f("TargetDomainName", p.target.domain), f("TargetLogonId", evtx.HexInt64(p.target.logonID)),
		f("ParentProcessName", p.parentImage), f("MandatoryLabel", evtx.SID(p.label)))...)
	if g.h.Sysmon {
		owner := p.creator
		if p.target.sid != nullSID {
			owner = p.target
		}
		integrity := map[string]string{labelSystem: "System", labelHigh: "High", labelMedium: "Medium"}[p.label]
		m := meta(p.image, g.h.OSBuild)
		dir := `C:\Windows\system32\`
		if owner.sid != systemSID && owner.sid != "S-1-5-19" && owner.sid != "S-1-5-20" {
			dir = `C:\Users\` + owner.user + `\`
		}
		g.sysmon(t.Add(time.Millisecond), 1, 5, append(g.smHead(t, p.pid, ""),
			f("Image", p.image), f("FileVersion", m.version), f("Description", m.description), f("Product", m.product),
			f("Company", m.company), f("OriginalFileName", m.original), f("CommandLine", p.cmd), f("CurrentDirectory", dir),
			f("User", g.smUser(owner)), f("LogonGuid", g.logonGUID(owner.logonID)), f("LogonId", evtx.HexInt64(owner.logonID)),
			f("TerminalSessionId", p.session), f("IntegrityLevel", integrity),
			f("Hashes", "SHA256="+strings.ToUpper(fmt.Sprintf("%016x%016x%016x%016x", hash64(p.image), hash64(p.image, "1"), hash64(p.image, "2"), hash64(p.image, "3")))),
			f("ParentProcessGuid", g.processGUID(p.parent, g.startOf(p.parent))), f("ParentProcessId", p.parent), f("ParentImage", p.parentImage),
			f("ParentCommandLine", parentCmd(p.parentImage)), f("ParentUser", g.smUser(p.creator)))...)
	}
	return p.pid
}

func parentCmd(image string) string {
	switch strings.ToLower(image) {
	case `c:\windows\system32\services.exe`:
		return `C:\Windows\system32\services.exe`
	case `c:\windows\system32\winlogon.exe`:
		return "winlogon.exe"
	case `c:\windows\explorer.exe`:
		return `C:\Windows\Explorer.EXE`
	case `c:\windows\system32\svchost.exe`:
		return `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`
	}
	return `"` + image + `"`
}

func (g *gen) smUser(p principal) string {
	if p.sid == systemSID {
		return `NT AUTHORITY\SYSTEM`
	}
	return p.domain + `\` + p.user
}

// processGUID is a Sysmon process GUID: the machine part, then the
// process's start time and PID, as Sysmon builds them.
func (g *gen) processGUID(pid uint32, t time.Time) evtx.GUID {
	s := uint32(t.Unix())
	return evtx.GUID(fmt.Sprintf("{%08X-%04X-%04X-%04X-%012X}", uint32(hash64("machine", g.h.Name)), uint16(s>>16), uint16(s),
		uint16(pid), hash64("pg", g.h.Name, fmt.Sprint(pid, s))&0xffffffffffff))
}

// startOf is when a process started: as logged, or at boot for the
// long-lived ones.
func (g *gen) startOf(pid uint32) time.Time {
	if t, ok := g.started[pid]; ok {
		return t
	}
	return g.boot
}

func (g *gen) logonGUID(id uint64) evtx.GUID {
	return evtx.GUID(fmt.Sprintf("{%08X-0000-0000-%04X-%012X}", uint32(hash64("machine", g.h.Name)), uint16(id>>48), id&0xffffffffffff))
}

func (g *gen) smHead(t time.Time, pid uint32, rule string) []event.Field {
	if rule == "" {
		rule = "-"
	}
	return []event.Field{f("RuleName", rule), f("UtcTime", sysmonTime(t.Add(g.h.ClockOffset))), f("ProcessGuid", g.processGUID(pid, g.startOf(pid))), f("ProcessId", pid)}
}

func sysmonTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

func (g *gen) sysmon(t time.Time, id uint16, version uint8, data ...event.Field) {
	g.add(Sysmon, t, evtx.Record{
		Provider: smProvider, ProviderGUID: smGUID, EventID: id, Version: version, Level: 4, Task: id,
		Keywords: 0x8000000000000000, ProcessID: g.sysmonPID, UserSID: systemSID, Data: data,
	})
}

// connect logs a Sysmon 3 of an outbound TCP connection.
func (g *gen) connect(t time.Time, pid uint32, image string, who principal, dstHost, dstIP string, port uint16, portName string) {
	if !g.h.Sysmon {
		return
	}
	g.sysmon(t, 3, 5, append(g.smHead(t, pid, ""),
		f("Image", image), f("User", g.smUser(who)), f("Protocol", "tcp"), f("Initiated", true),
		f("SourceIsIpv6", false), f("SourceIp", g.ip(t)), f("SourceHostname", g.fqdn), f("SourcePort", uint16(49152+g.rng.IntN(16000))),
		f("SourcePortName", "-"), f("DestinationIsIpv6", false), f("DestinationIp", dstIP), f("DestinationHostname", dstHost),
		f("DestinationPort", port), f("DestinationPortName", portName))...)
}

// fileCreated logs a Sysmon 11.
func (g *gen) fileCreated(t time.Time, pid uint32, image string, who principal, path string) {
	if !g.h.Sysmon {
		return
	}
	g.sysmon(t, 11, 2, append(g.smHead(t, pid, ""),
		f("Image", image), f("TargetFilename", path), f("CreationUtcTime", sysmonTime(t.Add(g.h.ClockOffset))), f("User", g.smUser(who)))...)
}

// scm logs a Service Control Manager event in System.
func (g *gen) scm(t time.Time, id uint16, user string, bin []byte, data ...event.Field) {
	g.add(System, t, evtx.Record{
		Provider: scmProvider, ProviderGUID: scmGUID, EventSourceName: scmProvider, EventID: id, Qualifiers: 16384,
		Level: 4, Keywords: 0x8080000000000000, ProcessID: g.services, UserSID: user, Data: data, Binary: bin,
	})
}

func (g *gen) serviceState(t time.Time, s service, running bool) {
	state, code := "stopped", 1
	if running {
		state, code = "running", 4
	}
	g.scm(t, 7036, "", wire.UTF16Z(fmt.Sprintf("%s/%d", s.key, code)), f("param1", s.display), f("param2", state))
}

func (g *gen) windowsUpdate(t time.Time, id uint16, opcode uint8, u update) {
	g.add(System, t, evtx.Record{
		Provider: wuProvider, ProviderGUID: wuGUID, EventID: id, Version: 1, Level: 4, Task: 1, Opcode: opcode,
		Keywords: 0x8000000000000018, ProcessID: g.wuSvc, UserSID: systemSID,
		Data: []event.Field{f("updateTitle", u.title), f("updateGuid", guidFrom("update", u.title)),
			f("updateRevisionNumber", uint32(1+hash64("rev", u.title)%300)), f("serviceGuid", evtx.GUID(u.service))},
	})
}

func (g *gen) taskEvent(t time.Time, id uint16, opcode uint8, name string, data ...event.Field) {
	g.add(TaskScheduler, t, evtx.Record{
		Provider: taskProvider, ProviderGUID: taskGUID, EventID: id, Level: 4, Task: id, Opcode: opcode,
		Keywords: 0x8000000000000000, ProcessID: g.schedule, UserSID: systemSID, Data: data, EventDataName: name,
	})
}
