package scenario

import (
	"fmt"
	"strings"

	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// Channels the forge writes and their file names under
// Windows\System32\winevt\Logs.
const (
	chSecurity = "Security"
	chSystem   = "System"
	chSysmon   = "Microsoft-Windows-Sysmon/Operational"
	chTask     = "Microsoft-Windows-TaskScheduler/Operational"
	chLSM      = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"
	chRCM      = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"
	chRDPC     = "Microsoft-Windows-TerminalServices-RDPClient/Operational"
	chWinRM    = "Microsoft-Windows-WinRM/Operational"
	chWMI      = "Microsoft-Windows-WMI-Activity/Operational"
	chPSo      = "Microsoft-Windows-PowerShell/Operational"
	chPSc      = "Windows PowerShell"
	chRCT      = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational"
)

// channelFiles maps each channel to its file name: '/' becomes %4.
var channelFiles = map[string]string{}

func init() {
	for _, c := range []string{chSecurity, chSystem, chSysmon, chTask, chLSM, chRCM, chRDPC, chWinRM, chWMI, chPSo, chPSc, chRCT} {
		channelFiles[c] = strings.ReplaceAll(c, "/", "%4") + ".evtx"
	}
}

// ChannelFile is the file name Windows gives a channel's log.
func ChannelFile(channel string) string { return channelFiles[channel] }

type provider struct {
	name, guid, source, channel string
	keywords                    uint64
	level                       uint8
}

var (
	pSecurity = provider{"Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}", "", chSecurity, 0x8020000000000000, 0}
	pEventlog = provider{"Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}", "", chSecurity, 0x4020000000000000, 4}
	pSCM      = provider{"Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}", "Service Control Manager", chSystem, 0x8080000000000000, 4}
	pSysmon   = provider{"Microsoft-Windows-Sysmon", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "", chSysmon, 0x8000000000000000, 4}
	pTask     = provider{"Microsoft-Windows-TaskScheduler", "{DE7B24EA-73C8-4A09-985D-5BDADCFA9017}", "", chTask, 0x8000000000000000, 4}
	pLSM      = provider{"Microsoft-Windows-TerminalServices-LocalSessionManager", "{5D896912-022D-40AA-A3A8-4FA5515C76D7}", "", chLSM, 0x1000000000000000, 4}
	pRCM      = provider{"Microsoft-Windows-TerminalServices-RemoteConnectionManager", "{C76BAA63-AE81-421C-B425-340B4B24157F}", "", chRCM, 0x4000000000000000, 4}
	pRDPC     = provider{"Microsoft-Windows-TerminalServices-ClientActiveXCore", "{28AA95BB-D444-4719-A36F-40462168127E}", "", chRDPC, 0x4000000000000000, 4}
	pWinRM    = provider{"Microsoft-Windows-WinRM", "{A7975C8F-AC13-49F1-87DA-5A984A4AB417}", "", chWinRM, 0x4000000000000004, 4}
	pWMI      = provider{"Microsoft-Windows-WMI-Activity", "{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}", "", chWMI, 0x4000000000000000, 0}
	pPSo      = provider{"Microsoft-Windows-PowerShell", "{A0C1853B-5C40-4B15-8766-3CF1C58F985A}", "", chPSo, 0x0, 4}
	pPSc      = provider{"PowerShell", "", "", chPSc, 0x80000000000000, 4}
	pRCT      = provider{"Microsoft-Windows-RemoteDesktopServices-RdpCoreTS", "{1139C61B-B549-4251-8ED3-27250A1EDEC8}", "", chRCT, 0x4000000000000000, 4}
	pKernel   = provider{"Microsoft-Windows-Kernel-General", "{A68CA8B7-004F-D7B6-A698-07E2DE0F1F5D}", "", chSystem, 0x8000000000000000, 4}
)

const (
	sidSystem  = "S-1-5-18"
	sidNull    = "S-1-0-0"
	sidNetwork = "S-1-5-20"
	nullGUID   = "{00000000-0000-0000-0000-000000000000}"
	nsEventlog = "http://manifests.microsoft.com/win/2004/08/windows/eventlog"
	nsWMI      = "http://manifests.microsoft.com/win/2006/windows/WMI"
)

func f(k string, v any) event.Field { return event.Field{Key: k, Value: v} }

func (p provider) ev(id uint16, version uint8, task uint16, opcode uint8, data ...event.Field) evtx.Record {
	return evtx.Record{
		Provider: p.name, ProviderGUID: p.guid, EventSourceName: p.source, Channel: p.channel,
		EventID: id, Version: version, Level: p.level, Task: task, Opcode: opcode, Keywords: p.keywords, Data: data,
	}
}

func (p provider) user(id uint16, version uint8, task uint16, element, ns string, fields ...event.Field) evtx.Record {
	r := p.ev(id, version, task, 0)
	r.UserData = &evtx.UserData{Element: element, Namespace: ns, Fields: fields}
	return r
}

// principal is who does something on a host: an account and its session.
type principal struct {
	sid, name, domain string
	logonID           uint64
}

func (p principal) subject() []event.Field {
	return []event.Field{f("SubjectUserSid", evtx.SID(p.sid)), f("SubjectUserName", p.name), f("SubjectDomainName", p.domain), f("SubjectLogonId", evtx.HexInt64(p.logonID))}
}

func (p principal) qualified() string { return p.domain + `\` + p.name }

// logon describes a 4624.
type logon struct {
	subject       principal // who asked (machine account, or null for network)
	target        principal
	logonType     uint32
	process       string // LogonProcessName, padded as Windows pads it
	pkg           string
	workstation   string
	guid          string
	lm            string
	keyLength     uint32
	pid           uint64
	processName   string
	ip, port      string
	elevated      bool
	outUser       string
	outDomain     string
	restricted    string
	impersonation string
}

func sec4624(l logon) evtx.Record {
	orDash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	elev := "%%1843"
	if l.elevated {
		elev = "%%1842"
	}
	imp := l.impersonation
	if imp == "" {
		imp = "%%1833"
	}
	guid := l.guid
	if guid == "" {
		guid = nullGUID
	}
	r := pSecurity.ev(4624, 2, 12544, 0,
		f("SubjectUserSid", evtx.SID(l.subject.sid)), f("SubjectUserName", l.subject.name), f("SubjectDomainName", l.subject.domain), f("SubjectLogonId", evtx.HexInt64(l.subject.logonID)),
		f("TargetUserSid", evtx.SID(l.target.sid)), f("TargetUserName", l.target.name), f("TargetDomainName", l.target.domain), f("TargetLogonId", evtx.HexInt64(l.target.logonID)),
		f("LogonType", l.logonType), f("LogonProcessName", l.process), f("AuthenticationPackageName", l.pkg), f("WorkstationName", orDash(l.workstation)),
		f("LogonGuid", evtx.GUID(guid)), f("TransmittedServices", "-"), f("LmPackageName", orDash(l.lm)), f("KeyLength", l.keyLength),
		f("ProcessId", evtx.SizeT(l.pid)), f("ProcessName", orDash(l.processName)), f("IpAddress", orDash(l.ip)), f("IpPort", orDash(l.port)),
		f("ImpersonationLevel", imp), f("RestrictedAdminMode", orDash(l.restricted)), f("TargetOutboundUserName", orDash(l.outUser)), f("TargetOutboundDomainName", orDash(l.outDomain)),
		f("VirtualAccount", "%%1843"), f("TargetLinkedLogonId", evtx.HexInt64(0)), f("ElevatedToken", elev),
	)
	r.ProcessID, r.ThreadID = 668, 7120
	return r
}

func sec4634(p principal, logonType uint32) evtx.Record {
	return pSecurity.ev(4634, 0, 12545, 0, f("TargetUserSid", evtx.SID(p.sid)), f("TargetUserName", p.name), f("TargetDomainName", p.domain),
		f("TargetLogonId", evtx.HexInt64(p.logonID)), f("LogonType", logonType))
}

const adminPrivileges = "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\tSeDelegateSessionUserImpersonatePrivilege"

func sec4672(p principal) evtx.Record {
	return pSecurity.ev(4672, 0, 12548, 0, append(p.subject(), f("PrivilegeList", adminPrivileges))...)
}

func sec4648(p principal, logonGUID, user, domain, targetGUID, server, info string, pid uint64, proc, ip, port string) evtx.Record {
	return pSecurity.ev(4648, 0, 12544, 0, append(p.subject(),
		f("LogonGuid", evtx.GUID(logonGUID)), f("TargetUserName", user), f("TargetDomainName", domain),
		f("TargetLogonGuid", evtx.GUID(targetGUID)), f("TargetServerName", server), f("TargetInfo", info),
		f("ProcessId", evtx.SizeT(pid)), f("ProcessName", proc), f("IpAddress", ip), f("IpPort", port))...)
}

func sec4688(p principal, pid uint64, image, cmd string, ppid uint64, parent string, elevated bool) evtx.Record {
	elev, label := "%%1938", "S-1-16-8192"
	if elevated {
		elev, label = "%%1936", "S-1-16-12288"
	}
	if p.sid == sidSystem {
		elev, label = "%%1936", "S-1-16-16384"
	}
	return pSecurity.ev(4688, 2, 13312, 0, append(p.subject(),
		f("NewProcessId", evtx.SizeT(pid)), f("NewProcessName", image), f("TokenElevationType", elev), f("ProcessId", evtx.SizeT(ppid)),
		f("CommandLine", cmd), f("TargetUserSid", evtx.SID(sidNull)), f("TargetUserName", "-"), f("TargetDomainName", "-"),
		f("TargetLogonId", evtx.HexInt64(0)), f("ParentProcessName", parent), f("MandatoryLabel", evtx.SID(label)))...)
}

func sec4697(p principal, name, file string, start uint32, account string) evtx.Record {
	return pSecurity.ev(4697, 0, 12289, 0, append(p.subject(),
		f("ServiceName", name), f("ServiceFileName", file), f("ServiceType", evtx.HexInt32(0x10)),
		f("ServiceStartType", start), f("ServiceAccount", account))...)
}

func sec4698(p principal, name, content string) evtx.Record {
	return pSecurity.ev(4698, 0, 12804, 0, append(p.subject(), f("TaskName", name), f("TaskContent", content))...)
}

func sec5140(p principal, ip, port, share, local string) evtx.Record {
	return pSecurity.ev(5140, 1, 12808, 0, append(p.subject(),
		f("ObjectType", "File"), f("IpAddress", ip), f("IpPort", port), f("ShareName", share),
		f("ShareLocalPath", local), f("AccessMask", evtx.HexInt32(0x1)), f("AccessList", "%%4416\n\t\t\t\t"))...)
}

func sec5145(p principal, ip, port, share, local, rel string, mask uint32, list string) evtx.Record {
	return pSecurity.ev(5145, 0, 12811, 0, append(p.subject(),
		f("ObjectType", "File"), f("IpAddress", ip), f("IpPort", port), f("ShareName", share),
		f("ShareLocalPath", local), f("RelativeTargetName", rel), f("AccessMask", evtx.HexInt32(mask)),
		f("AccessList", list), f("AccessReason", "-"))...)
}

func sec4768(user, domain, sid, krbtgtSID string, enc uint32, ip, port string) evtx.Record {
	return pSecurity.ev(4768, 0, 14339, 0, f("TargetUserName", user), f("TargetDomainName", domain), f("TargetSid", evtx.SID(sid)),
		f("ServiceName", "krbtgt"), f("ServiceSid", evtx.SID(krbtgtSID)), f("TicketOptions", evtx.HexInt32(0x40810010)),
		f("Status", evtx.HexInt32(0)), f("TicketEncryptionType", evtx.HexInt32(enc)), f("PreAuthType", "2"), f("IpAddress", "::ffff:"+ip),
		f("IpPort", port), f("CertIssuerName", ""), f("CertSerialNumber", ""), f("CertThumbprint", ""))
}

func sec4769(user, realm, service, serviceSID string, enc uint32, ip, port, guid string) evtx.Record {
	return pSecurity.ev(4769, 0, 14337, 0, f("TargetUserName", user+"@"+realm), f("TargetDomainName", realm), f("ServiceName", service),
		f("ServiceSid", evtx.SID(serviceSID)), f("TicketOptions", evtx.HexInt32(0x40810000)), f("TicketEncryptionType", evtx.HexInt32(enc)),
		f("IpAddress", "::ffff:"+ip), f("IpPort", port), f("Status", evtx.HexInt32(0)), f("LogonGuid", evtx.GUID(guid)),
		f("TransmittedServices", "-"))
}

func sec4776(user, workstation string) evtx.Record {
	return pSecurity.ev(4776, 0, 14336, 0, f("PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"), f("TargetUserName", user),
		f("Workstation", workstation), f("Status", evtx.HexInt32(0)))
}

// sec4778 (reconnected) and 4779 (disconnected) are a remote session's
// state changes (Audit Other Logon/Logoff Events).
func sec4778(id uint16, p principal, session, clientName, clientAddress string) evtx.Record {
	return pSecurity.ev(id, 0, 12551, 0, f("AccountName", p.name), f("AccountDomain", p.domain), f("LogonID", evtx.HexInt64(p.logonID)),
		f("SessionName", session), f("ClientName", clientName), f("ClientAddress", clientAddress))
}

// sec5156 is a connection the Windows Filtering Platform allowed (Audit
// Filtering Platform Connection). Source is the local end in both
// directions; Application is the image's device path, or System for the
// kernel's SMB.
func sec5156(pid uint64, image string, inbound bool, localIP, localPort, remoteIP, remotePort string) evtx.Record {
	app := image
	if len(image) > 2 && image[1] == ':' {
		app = strings.ToLower(`\device\harddiskvolume2` + image[2:])
	}
	dir, layer, layerRT := "%%14593", "%%14611", uint64(48)
	if inbound {
		dir, layer, layerRT = "%%14592", "%%14610", 44
	}
	r := pSecurity.ev(5156, 1, 12810, 0, f("ProcessID", pid), f("Application", app), f("Direction", dir),
		f("SourceAddress", localIP), f("SourcePort", localPort), f("DestAddress", remoteIP), f("DestPort", remotePort),
		f("Protocol", uint32(6)), f("FilterRTID", uint64(0)), f("LayerName", layer), f("LayerRTID", layerRT),
		f("RemoteUserID", evtx.SID(sidNull)), f("RemoteMachineID", evtx.SID(sidNull)))
	r.ProcessID = 4
	return r
}

// regTypeText is the %%NNNN insertion string 4657 writes for a value type.
var regTypeText = map[string]string{"REG_SZ": "%%1873", "REG_EXPAND_SZ": "%%1874", "REG_BINARY": "%%1875", "REG_DWORD": "%%1876"}

// sec4657 is a registry value set under a key whose SACL audits it
// (Audit Registry). oldType "" means the value did not exist.
func sec4657(p principal, object, value, oldType, oldValue, newType, newValue string, handle, pid uint64, process string) evtx.Record {
	op := "%%1905"
	if oldType == "" {
		op, oldType, oldValue = "%%1904", "-", "-"
	} else {
		oldType = regTypeText[oldType]
	}
	return pSecurity.ev(4657, 0, 12801, 0, append(p.subject(),
		f("ObjectName", object), f("ObjectValueName", value), f("HandleId", evtx.SizeT(handle)), f("OperationType", op),
		f("OldValueType", oldType), f("OldValue", oldValue), f("NewValueType", regTypeText[newType]), f("NewValue", newValue),
		f("ProcessId", evtx.SizeT(pid)), f("ProcessName", process))...)
}

// rct131 is RdpCoreTS "the server accepted a new TCP connection from
// client ip:port".
func rct131(clientIP, port, activity string) evtx.Record {
	r := pRCT.ev(131, 0, 4, 15, f("ConnType", "TCP"), f("ClientIP", clientIP+":"+port))
	r.UserSID, r.ActivityID, r.ProcessID, r.ThreadID = sidNetwork, activity, 388, 1292
	return r
}

// sm1718 is Sysmon 17 (pipe created, by the server process) or 18 (pipe
// connected; a remote client's connection belongs to System).
func sm1718(id uint16, t event.FileTime, guid string, pid uint32, pipe, image string) evtx.Record {
	kind := "CreatePipe"
	if id == 18 {
		kind = "ConnectPipe"
	}
	r := pSysmon.ev(id, 1, id, 0, f("RuleName", "-"), f("EventType", kind), f("UtcTime", sysmonUTC(t)),
		f("ProcessGuid", evtx.GUID(guid)), f("ProcessId", pid), f("PipeName", pipe), f("Image", image))
	r.UserSID = sidSystem
	return r
}

func sec1102(p principal) evtx.Record {
	return pEventlog.user(1102, 0, 104, "LogFileCleared", nsEventlog, p.subject()...)
}

func sys104(p principal, channel string) evtx.Record {
	r := pEventlog.user(104, 0, 104, "LogFileCleared", nsEventlog,
		f("SubjectUserName", p.name), f("SubjectDomainName", p.domain), f("Channel", channel), f("BackupPath", ""))
	r.Channel, r.Keywords = chSystem, 0x8000000000000000
	return r
}

func sys7045(userSID, name, image, start, account string) evtx.Record {
	r := pSCM.ev(7045, 0, 0, 0, f("ServiceName", name), f("ImagePath", image),
		f("ServiceType", "user mode service"), f("StartType", start), f("AccountName", account))
	r.Qualifiers, r.UserSID, r.ProcessID, r.ThreadID = 16384, userSID, 688, 5432
	return r
}

func sys7036(display, key, state string, code int) evtx.Record {
	r := pSCM.ev(7036, 0, 0, 0, f("param1", display), f("param2", state))
	r.Qualifiers, r.ProcessID, r.ThreadID = 16384, 688, 2200
	r.Binary = wire.UTF16(fmt.Sprintf("%s/%d", key, code))
	return r
}

// sysmonUTC is Sysmon's UtcTime: UTC with milliseconds.
func sysmonUTC(t event.FileTime) string {
	s := t.Time().UTC().Format("2006-01-02 15:04:05.000")
	return s
}

func sm1(t event.FileTime, guid string, pid uint32, image, cmd, cwd, user, logonGUID string, logonID uint64, session uint32, integrity, hashes, pguid string, ppid uint32, parent, parentCmd string) evtx.Record {
	r := pSysmon.ev(1, 5, 1, 0, f("RuleName", "-"), f("UtcTime", sysmonUTC(t)), f("ProcessGuid", evtx.GUID(guid)), f("ProcessId", pid),
		f("Image", image), f("FileVersion", "-"), f("Description", "-"), f("Product", "-"), f("Company", "-"), f("OriginalFileName", "-"),
		f("CommandLine", cmd), f("CurrentDirectory", cwd), f("User", user), f("LogonGuid", evtx.GUID(logonGUID)), f("LogonId", evtx.HexInt64(logonID)),
		f("TerminalSessionId", session), f("IntegrityLevel", integrity), f("Hashes", hashes),
		f("ParentProcessGuid", evtx.GUID(pguid)), f("ParentProcessId", ppid), f("ParentImage", parent), f("ParentCommandLine", parentCmd))
	r.UserSID = sidSystem
	return r
}

func sm3(t event.FileTime, guid string, pid uint32, image, user string, initiated bool, srcIP, srcHost string, srcPort uint16, dstIP, dstHost string, dstPort uint16) evtx.Record {
	r := pSysmon.ev(3, 5, 3, 0, f("RuleName", "-"), f("UtcTime", sysmonUTC(t)), f("ProcessGuid", evtx.GUID(guid)),
		f("ProcessId", pid), f("Image", image), f("User", user), f("Protocol", "tcp"), f("Initiated", initiated),
		f("SourceIsIpv6", false), f("SourceIp", srcIP), f("SourceHostname", srcHost), f("SourcePort", srcPort),
		f("SourcePortName", "-"), f("DestinationIsIpv6", false), f("DestinationIp", dstIP), f("DestinationHostname", dstHost),
		f("DestinationPort", dstPort), f("DestinationPortName", portName(dstPort)))
	r.UserSID = sidSystem
	return r
}

func portName(p uint16) string {
	switch p {
	case 445:
		return "microsoft-ds"
	case 135:
		return "epmap"
	case 3389:
		return "ms-wbt-server"
	case 5985:
		return "wsman"
	case 443:
		return "https"
	}
	return "-"
}

func sm10(t event.FileTime, sguid string, spid, stid uint32, simage, tguid string, tpid uint32, timage, suser string) evtx.Record {
	r := pSysmon.ev(10, 3, 10, 0, f("RuleName", "-"), f("UtcTime", sysmonUTC(t)), f("SourceProcessGUID", evtx.GUID(sguid)), f("SourceProcessId", spid),
		f("SourceThreadId", stid), f("SourceImage", simage), f("TargetProcessGUID", evtx.GUID(tguid)),
		f("TargetProcessId", tpid), f("TargetImage", timage), f("GrantedAccess", evtx.HexInt32(0x1fffff)),
		f("CallTrace", `C:\Windows\SYSTEM32\ntdll.dll+9d4c4|C:\Windows\System32\KERNELBASE.dll+2c13e|C:\Windows\System32\comsvcs.dll+d2f9`), f("SourceUser", suser), f("TargetUser", `NT AUTHORITY\SYSTEM`))
	r.UserSID = sidSystem
	return r
}

func sm11(t event.FileTime, guid string, pid uint32, image, target, user string) evtx.Record {
	r := pSysmon.ev(11, 2, 11, 0, f("RuleName", "-"), f("UtcTime", sysmonUTC(t)), f("ProcessGuid", evtx.GUID(guid)),
		f("ProcessId", pid), f("Image", image), f("TargetFilename", target), f("CreationUtcTime", sysmonUTC(t)), f("User", user))
	r.UserSID = sidSystem
	return r
}

func sm13(t event.FileTime, guid string, pid uint32, image, object, details, user string) evtx.Record {
	r := pSysmon.ev(13, 2, 13, 0, f("RuleName", "-"), f("EventType", "SetValue"), f("UtcTime", sysmonUTC(t)),
		f("ProcessGuid", evtx.GUID(guid)), f("ProcessId", pid), f("Image", image),
		f("TargetObject", object), f("Details", details), f("User", user))
	r.UserSID = sidSystem
	return r
}

func ts106(name, user string) evtx.Record {
	r := pTask.ev(106, 0, 106, 0, f("TaskName", name), f("UserContext", user))
	r.EventDataName, r.UserSID = "TaskRegisteredEvent", sidSystem
	return r
}

func ts200(name, action, instance string, pid uint32) evtx.Record {
	r := pTask.ev(200, 0, 200, 1, f("TaskName", name), f("ActionName", action), f("TaskInstanceId", evtx.GUID(instance)), f("EnginePID", pid))
	r.EventDataName, r.UserSID = "ActionStart", sidSystem
	return r
}

func ts201(name, action, instance string, pid uint32) evtx.Record {
	r := pTask.ev(201, 0, 201, 2, f("TaskName", name), f("TaskInstanceId", evtx.GUID(instance)), f("ActionName", action), f("ResultCode", uint32(0)), f("EnginePID", pid))
	r.EventDataName, r.UserSID = "ActionSuccess", sidSystem
	return r
}

func lsm(id uint16, user string, session uint32, address string) evtx.Record {
	r := pLSM.user(id, 0, 0, "EventXML", "Event_NS", f("User", user), f("SessionID", session), f("Address", address))
	r.UserSID = sidSystem
	return r
}

func rcm1149(user, domain, ip string) evtx.Record {
	r := pRCM.user(1149, 0, 0, "EventXML", "Event_NS", f("Param1", user), f("Param2", domain), f("Param3", ip))
	r.UserSID = sidNetwork
	return r
}

func rdpc(id uint16, userSID, name, value string) evtx.Record {
	r := pRDPC.ev(id, 0, 101, 0, f("Name", name), f("Value", value), f("CustomLevel", "Info"))
	r.UserSID = userSID
	return r
}

func wrm6(userSID, conn, activity string) evtx.Record {
	r := pWinRM.ev(6, 0, 3, 1, f("connection", conn))
	r.UserSID, r.ActivityID = userSID, activity
	return r
}

func wrm91(userSID, shell, activity string) evtx.Record {
	r := pWinRM.ev(91, 0, 9, 0, f("resourceUri", "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"), f("shellId", shell))
	r.UserSID, r.ActivityID = userSID, activity
	return r
}

func wmi5857(pid uint32) evtx.Record {
	r := pWMI.user(5857, 0, 0, "Operation_StartedOperational", nsWMI, f("ProviderName", "CIMWin32"), f("Code", evtx.HexInt32(0)),
		f("HostProcess", "wmiprvse.exe"), f("ProcessID", pid), f("ProviderPath", `%systemroot%\system32\wbem\cimwin32.dll`))
	r.UserSID = sidSystem
	return r
}

func pso4104(userSID, text, id string) evtx.Record {
	r := pPSo.ev(4104, 1, 2, 15, f("MessageNumber", int32(1)), f("MessageTotal", int32(1)),
		f("ScriptBlockText", text), f("ScriptBlockId", id), f("Path", ""))
	r.Level, r.UserSID = 5, userSID
	return r
}

func psc(id uint16, state, prev, hostName, hostApp, runspace string) evtx.Record {
	block := "\tNewEngineState=" + state + "\r\n\tPreviousEngineState=" + prev + "\r\n\r\n\tSequenceNumber=13\r\n\r\n\tHostName=" + hostName +
		"\r\n\tHostVersion=5.1.17763.1\r\n\tHostId=" + runspace + "\r\n\tHostApplication=" + hostApp +
		"\r\n\tEngineVersion=5.1.17763.1\r\n\tRunspaceId=" + runspace + "\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine="
	return pPSc.ev(id, 0, 4, 0, f("", state), f("", prev), f("", block))
}

// kernel12 is "the operating system started" (System 12), the anchor of
// background boots.
func kernel12(t event.FileTime) evtx.Record {
	r := pKernel.ev(12, 1, 1, 0, f("MajorVersion", uint32(10)), f("MinorVersion", uint32(0)), f("BuildVersion", uint32(0)),
		f("QfeVersion", uint32(0)), f("ServiceVersion", uint32(0)), f("BootMode", uint32(0)), f("StartTime", t))
	r.UserSID = sidSystem
	return r
}
