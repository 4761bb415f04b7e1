package evtx

import (
	"fmt"
	"time"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// The fixtures are the events the forge writes for the lateral-movement
// scenarios (field names and types from ../shared/docs/lateral-movement.md
// and Windows manifests), one file per channel.

type provider struct {
	name, guid, source, channel string
	keywords                    uint64
	level                       uint8
	userSID                     string
}

const (
	host    = "WS01.corp.local"
	dc      = "DC01.corp.local"
	nullSID = "S-1-0-0"
	sysSID  = "S-1-5-18"
	userSID = "S-1-5-21-3623811015-3361044348-30300820-1104"
	admSID  = "S-1-5-21-3623811015-3361044348-30300820-500"
)

var (
	pSecurity = provider{"Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}", "", "Security", 0x8020000000000000, 0, ""}
	pEventlog = provider{"Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}", "", "Security", 0x4020000000000000, 4, ""}
	pSCM      = provider{"Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}", "Service Control Manager", "System", 0x8080000000000000, 4, ""}
	pSysmon   = provider{"Microsoft-Windows-Sysmon", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "", "Microsoft-Windows-Sysmon/Operational", 0x8000000000000000, 4, sysSID}
	pTask     = provider{"Microsoft-Windows-TaskScheduler", "{DE7B24EA-73C8-4A09-985D-5BDADCFA9017}", "", "Microsoft-Windows-TaskScheduler/Operational", 0x8000000000000000, 4, sysSID}
	pLSM      = provider{"Microsoft-Windows-TerminalServices-LocalSessionManager", "{5D896912-022D-40AA-A3A8-4FA5515C76D7}", "", "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", 0x1000000000000000, 4, sysSID}
	pRCM      = provider{"Microsoft-Windows-TerminalServices-RemoteConnectionManager", "{C76BAA63-AE81-421C-B425-340B4B24157F}", "", "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational", 0x4000000000000000, 4, "S-1-5-20"}
	pRDPC     = provider{"Microsoft-Windows-TerminalServices-ClientActiveXCore", "{28AA95BB-D444-4719-A36F-40462168127E}", "", "Microsoft-Windows-TerminalServices-RDPClient/Operational", 0x4000000000000000, 4, userSID}
	pWinRM    = provider{"Microsoft-Windows-WinRM", "{A7975C8F-AC13-49F1-87DA-5A984A4AB417}", "", "Microsoft-Windows-WinRM/Operational", 0x4000000000000004, 4, admSID}
	pWMI      = provider{"Microsoft-Windows-WMI-Activity", "{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}", "", "Microsoft-Windows-WMI-Activity/Operational", 0x4000000000000000, 0, sysSID}
	pPSo      = provider{"Microsoft-Windows-PowerShell", "{A0C1853B-5C40-4B15-8766-3CF1C58F985A}", "", "Microsoft-Windows-PowerShell/Operational", 0x0, 4, admSID}
	pPSc      = provider{"PowerShell", "", "", "Windows PowerShell", 0x80000000000000, 4, ""}
)

func f(k string, v any) event.Field { return event.Field{Key: k, Value: v} }

// ev makes a record of provider p; times and record ids are filled in by
// the builder.
func (p provider) ev(id uint16, version uint8, task uint16, opcode uint8, data ...event.Field) Record {
	return Record{
		Provider: p.name, ProviderGUID: p.guid, EventSourceName: p.source, Channel: p.channel,
		EventID: id, Version: version, Level: p.level, Task: task, Opcode: opcode, Keywords: p.keywords,
		Computer: host, UserSID: p.userSID, ProcessID: 4, ThreadID: 5820, Data: data,
	}
}

func (p provider) user(id uint16, version uint8, task uint16, element, ns string, fields ...event.Field) Record {
	r := p.ev(id, version, task, 0)
	r.UserData = &UserData{Element: element, Namespace: ns, Fields: fields}
	return r
}

// stamp sets increasing times with non-zero sub-microsecond digits, so
// that 100 ns precision is checked, starting at 2023-03-29T08:14:03Z.
func stamp(recs []Record, seed uint64) []Record {
	t := event.FromTime(time.Date(2023, 3, 29, 8, 14, 3, 0, time.UTC)) + event.FileTime(seed)
	for i := range recs {
		t += event.FileTime(17*10_000_000 + 1_234_567 + (uint64(i)*7919)%9_999_999)
		recs[i].Time = t
	}
	return recs
}

func logon(typ uint32, user, domain, sid string, logonID uint64, proc, pkg, auth, ws, ip, port string, pid uint64, procName string, extra func([]event.Field) []event.Field) Record {
	lguid := GUID("{00000000-0000-0000-0000-000000000000}")
	keyLen := uint32(128)
	lm := "NTLM V2"
	if auth == "Kerberos" {
		lguid = GUID("{8C1C6E5C-2A5B-5F3A-9C0B-6A3B1D5E7F10}")
		keyLen, lm = 0, "-"
	}
	if auth == "Negotiate" {
		keyLen, lm = 0, "-"
	}
	d := []event.Field{
		f("SubjectUserSid", SID(sysSID)), f("SubjectUserName", "WS01$"), f("SubjectDomainName", "CORP"), f("SubjectLogonId", HexInt64(0x3e7)),
		f("TargetUserSid", SID(sid)), f("TargetUserName", user), f("TargetDomainName", domain), f("TargetLogonId", HexInt64(logonID)),
		f("LogonType", typ), f("LogonProcessName", proc), f("AuthenticationPackageName", auth), f("WorkstationName", ws),
		f("LogonGuid", lguid), f("TransmittedServices", "-"), f("LmPackageName", lm), f("KeyLength", keyLen),
		f("ProcessId", SizeT(pid)), f("ProcessName", procName), f("IpAddress", ip), f("IpPort", port),
		f("ImpersonationLevel", "%%1833"), f("RestrictedAdminMode", "-"), f("TargetOutboundUserName", "-"), f("TargetOutboundDomainName", "-"),
		f("VirtualAccount", "%%1843"), f("TargetLinkedLogonId", HexInt64(0)), f("ElevatedToken", "%%1842"),
	}
	if typ == 3 {
		d[0], d[1], d[2], d[3] = f("SubjectUserSid", SID(nullSID)), f("SubjectUserName", "-"), f("SubjectDomainName", "-"), f("SubjectLogonId", HexInt64(0))
	}
	if extra != nil {
		d = extra(d)
	}
	r := pSecurity.ev(4624, 2, 12544, 0, d...)
	r.ProcessID, r.ThreadID = 664, 7120
	return r
}

func set(key string, v any) func([]event.Field) []event.Field {
	return func(d []event.Field) []event.Field {
		for i := range d {
			if d[i].Key == key {
				d[i].Value = v
			}
		}
		return d
	}
}

const taskXML = `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Author>CORP\adm-jsmith</Author>
    <URI>\Microsoft\Windows\Update Check</URI>
  </RegistrationInfo>
  <Principals>
    <Principal id="Author">
      <UserId>S-1-5-18</UserId>
      <RunLevel>HighestAvailable</RunLevel>
    </Principal>
  </Principals>
  <Actions Context="Author">
    <Exec>
      <Command>cmd.exe</Command>
      <Arguments>/C "C:\ProgramData\upd.exe" &gt; %windir%\Temp\a.tmp 2&gt;&amp;1</Arguments>
    </Exec>
  </Actions>
</Task>`

func subject(sid, user, domain string, id uint64) []event.Field {
	return []event.Field{f("SubjectUserSid", SID(sid)), f("SubjectUserName", user), f("SubjectDomainName", domain), f("SubjectLogonId", HexInt64(id))}
}

func cat(parts ...[]event.Field) []event.Field {
	var out []event.Field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func securityRecords() []Record {
	adm := subject(admSID, "adm-jsmith", "CORP", 0x5a3e1f)
	recs := []Record{
		logon(3, "adm-jsmith", "CORP", admSID, 0x5a3e1f, "NtLmSsp ", "NTLM", "NTLM", "WS07", "10.20.1.57", "49832", 0, "-", nil),
		logon(10, "adm-jsmith", "CORP", admSID, 0x5a4100, "User32 ", "Negotiate", "Negotiate", "WS01", "10.20.1.57", "0", 0x4f8, `C:\Windows\System32\svchost.exe`,
			set("RestrictedAdminMode", "%%1843")),
		logon(9, "jsmith", "CORP", userSID, 0x5b0002, "seclogo", "Negotiate", "Negotiate", "-", "::1", "0", 0x1a2c, `C:\Windows\System32\svchost.exe`,
			func(d []event.Field) []event.Field {
				d = set("TargetOutboundUserName", "adm-jsmith")(d)
				return set("TargetOutboundDomainName", "CORP")(d)
			}),
		logon(3, "WS07$", "CORP.LOCAL", "S-1-5-21-3623811015-3361044348-30300820-1610", 0x5b1000, "Kerberos", "Kerberos", "Kerberos", "-", "10.20.1.57", "50112", 0, "-", nil),
		pSecurity.ev(4625, 0, 12544, 0, cat(subject(nullSID, "-", "-", 0), []event.Field{
			f("TargetUserSid", SID(nullSID)), f("TargetUserName", "administrator"), f("TargetDomainName", "CORP"),
			f("Status", HexInt32(0xc000006d)), f("FailureReason", "%%2313"), f("SubStatus", HexInt32(0xc000006a)), f("LogonType", uint32(3)),
			f("LogonProcessName", "NtLmSsp "), f("AuthenticationPackageName", "NTLM"), f("WorkstationName", "KALI"), f("TransmittedServices", "-"),
			f("LmPackageName", "-"), f("KeyLength", uint32(0)), f("ProcessId", SizeT(0)), f("ProcessName", "-"), f("IpAddress", "10.20.9.200"), f("IpPort", "41122"),
		})...),
		pSecurity.ev(4634, 0, 12545, 0, f("TargetUserSid", SID(admSID)), f("TargetUserName", "adm-jsmith"), f("TargetDomainName", "CORP"),
			f("TargetLogonId", HexInt64(0x5a3e1f)), f("LogonType", uint32(3))),
		pSecurity.ev(4647, 0, 12545, 0, f("TargetUserSid", SID(userSID)), f("TargetUserName", "jsmith"), f("TargetDomainName", "CORP"), f("TargetLogonId", HexInt64(0x4c2a0))),
		pSecurity.ev(4648, 0, 12544, 0, cat(subject(userSID, "jsmith", "CORP", 0x4c2a0), []event.Field{
			f("LogonGuid", GUID("{00000000-0000-0000-0000-000000000000}")), f("TargetUserName", "adm-jsmith"), f("TargetDomainName", "CORP"),
			f("TargetLogonGuid", GUID("{0e9d3f0a-11b2-4c5d-8e6f-7a8b9c0d1e2f}")), f("TargetServerName", "FS01.corp.local"), f("TargetInfo", "FS01.corp.local"),
			f("ProcessId", SizeT(0x1f44)), f("ProcessName", `C:\Windows\System32\net.exe`), f("IpAddress", "-"), f("IpPort", "-"),
		})...),
		pSecurity.ev(4672, 0, 12548, 0, append(adm, f("PrivilegeList", "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeDebugPrivilege"))...),
		pSecurity.ev(4688, 2, 13312, 0, cat(adm, []event.Field{
			f("NewProcessId", SizeT(0x1c84)), f("NewProcessName", `C:\Windows\PSEXESVC.exe`), f("TokenElevationType", "%%1936"), f("ProcessId", SizeT(0x2a4)),
			f("CommandLine", `C:\Windows\PSEXESVC.exe -accepteula "a b" & echo <ok>`), f("TargetUserSid", SID(nullSID)), f("TargetUserName", "-"),
			f("TargetDomainName", "-"), f("TargetLogonId", HexInt64(0)), f("ParentProcessName", `C:\Windows\System32\services.exe`),
			f("MandatoryLabel", SID("S-1-16-16384")),
		})...),
		pSecurity.ev(4697, 0, 12289, 0, cat(adm, []event.Field{
			f("ServiceName", "PSEXESVC"), f("ServiceFileName", `%SystemRoot%\PSEXESVC.exe`), f("ServiceType", HexInt32(0x10)),
			f("ServiceStartType", uint32(3)), f("ServiceAccount", "LocalSystem"),
		})...),
		pSecurity.ev(4698, 1, 12804, 0, cat(adm, []event.Field{
			f("TaskName", `\Microsoft\Windows\Update Check`), f("TaskContent", taskXML), f("ClientProcessStartKey", uint64(0x3000000000001a7)),
			f("ClientProcessId", uint32(6124)), f("ParentProcessId", uint32(704)), f("RpcCallClientLocality", uint32(0)), f("FQDN", "WS07.corp.local"),
		})...),
		pSecurity.ev(5140, 1, 12808, 0, cat(adm, []event.Field{
			f("ObjectType", "File"), f("IpAddress", "10.20.1.57"), f("IpPort", "49833"), f("ShareName", `\\*\ADMIN$`),
			f("ShareLocalPath", `\??\C:\Windows`), f("AccessMask", HexInt32(0x1)), f("AccessList", "%%4416\n\t\t\t\t"),
		})...),
		pSecurity.ev(5145, 0, 12811, 0, cat(adm, []event.Field{
			f("ObjectType", "File"), f("IpAddress", "10.20.1.57"), f("IpPort", "49833"), f("ShareName", `\\*\ADMIN$`),
			f("ShareLocalPath", `\??\C:\Windows`), f("RelativeTargetName", "PSEXESVC.exe"), f("AccessMask", HexInt32(0x2)),
			f("AccessList", "%%4417\n\t\t\t\t"), f("AccessReason", "-"),
		})...),
		pEventlog.user(1102, 0, 104, "LogFileCleared", "http://manifests.microsoft.com/win/2004/08/windows/eventlog",
			f("SubjectUserSid", SID(admSID)), f("SubjectUserName", "adm-jsmith"), f("SubjectDomainName", "CORP"), f("SubjectLogonId", HexInt64(0x5a4100))),
	}
	dcRecs := []Record{
		pSecurity.ev(4768, 0, 14339, 0, f("TargetUserName", "adm-jsmith"), f("TargetDomainName", "CORP"), f("TargetSid", SID(admSID)),
			f("ServiceName", "krbtgt"), f("ServiceSid", SID("S-1-5-21-3623811015-3361044348-30300820-502")), f("TicketOptions", HexInt32(0x40810010)),
			f("Status", HexInt32(0)), f("TicketEncryptionType", HexInt32(0x17)), f("PreAuthType", "2"), f("IpAddress", "::ffff:10.20.1.57"),
			f("IpPort", "50120"), f("CertIssuerName", ""), f("CertSerialNumber", ""), f("CertThumbprint", "")),
		pSecurity.ev(4769, 0, 14337, 0, f("TargetUserName", "adm-jsmith@CORP.LOCAL"), f("TargetDomainName", "CORP.LOCAL"), f("ServiceName", "WS01$"),
			f("ServiceSid", SID("S-1-5-21-3623811015-3361044348-30300820-1601")), f("TicketOptions", HexInt32(0x40810000)), f("TicketEncryptionType", HexInt32(0x12)),
			f("IpAddress", "::ffff:10.20.1.57"), f("IpPort", "50121"), f("Status", HexInt32(0)), f("LogonGuid", GUID("{8C1C6E5C-2A5B-5F3A-9C0B-6A3B1D5E7F10}")),
			f("TransmittedServices", "-")),
		pSecurity.ev(4776, 0, 14336, 0, f("PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"), f("TargetUserName", "adm-jsmith"),
			f("Workstation", "WS07"), f("Status", HexInt32(0))),
	}
	for i := range dcRecs {
		dcRecs[i].Computer = dc
	}
	return append(recs, dcRecs...)
}

func systemRecords() []Record {
	r7045 := pSCM.ev(7045, 0, 0, 0, f("ServiceName", "PSEXESVC"), f("ImagePath", `%SystemRoot%\PSEXESVC.exe`),
		f("ServiceType", "user mode service"), f("StartType", "demand start"), f("AccountName", "LocalSystem"))
	r7045.Qualifiers, r7045.UserSID, r7045.ProcessID, r7045.ThreadID = 16384, admSID, 688, 5432
	r7036 := pSCM.ev(7036, 0, 0, 0, f("param1", "PSEXESVC"), f("param2", "running"))
	r7036.Qualifiers, r7036.ProcessID, r7036.ThreadID = 16384, 688, 2200
	r7036.Binary = wire.UTF16("PSEXESVC/4")
	r104 := pEventlog.user(104, 0, 104, "LogFileCleared", "http://manifests.microsoft.com/win/2004/08/windows/eventlog",
		f("SubjectUserName", "adm-jsmith"), f("SubjectDomainName", "CORP"), f("Channel", "System"), f("BackupPath", ""))
	r104.Channel, r104.Keywords = "System", 0x8000000000000000
	return []Record{r7045, r7036, r104}
}

func sysmonRecords() []Record {
	pg := GUID("{6A3F2B1C-8D4E-6420-1A00-000000001F00}")
	return []Record{
		pSysmon.ev(1, 5, 1, 0, f("RuleName", "-"), f("UtcTime", "2023-03-29 08:15:01.123"), f("ProcessGuid", pg), f("ProcessId", uint32(7300)),
			f("Image", `C:\Tools\PsExec64.exe`), f("FileVersion", "2.43"), f("Description", "Execute processes remotely"), f("Product", "Sysinternals PsExec"),
			f("Company", "Sysinternals - www.sysinternals.com"), f("OriginalFileName", "psexec.c"),
			f("CommandLine", `PsExec64.exe \\FS01 -accepteula -s cmd.exe /c "whoami & hostname"`), f("CurrentDirectory", `C:\Tools\`),
			f("User", `CORP\adm-jsmith`), f("LogonGuid", GUID("{6A3F2B1C-1E2D-6424-1F3E-5A0000000000}")), f("LogonId", HexInt64(0x5a3e1f)),
			f("TerminalSessionId", uint32(2)), f("IntegrityLevel", "High"), f("Hashes", "SHA256=078163D5C16F64CAA5A14784323FD51451B8C831C73396B967B4E35E6879937B"),
			f("ParentProcessGuid", GUID("{6A3F2B1C-8D40-6420-1900-000000001F00}")), f("ParentProcessId", uint32(6120)), f("ParentImage", `C:\Windows\System32\cmd.exe`),
			f("ParentCommandLine", `"C:\Windows\system32\cmd.exe" `), f("ParentUser", `CORP\adm-jsmith`)),
		pSysmon.ev(3, 5, 3, 0, f("RuleName", "-"), f("UtcTime", "2023-03-29 08:15:01.456"), f("ProcessGuid", GUID("{6A3F2B1C-0001-6420-0B00-000000001F00}")),
			f("ProcessId", uint32(4)), f("Image", "System"), f("User", `NT AUTHORITY\SYSTEM`), f("Protocol", "tcp"), f("Initiated", true),
			f("SourceIsIpv6", false), f("SourceIp", "10.20.1.11"), f("SourceHostname", "WS01.corp.local"), f("SourcePort", uint16(50123)),
			f("SourcePortName", "-"), f("DestinationIsIpv6", false), f("DestinationIp", "10.20.1.30"), f("DestinationHostname", "FS01.corp.local"),
			f("DestinationPort", uint16(445)), f("DestinationPortName", "microsoft-ds")),
		pSysmon.ev(10, 3, 10, 0, f("RuleName", "-"), f("UtcTime", "2023-03-29 08:16:12.001"), f("SourceProcessGUID", pg), f("SourceProcessId", uint32(7300)),
			f("SourceThreadId", uint32(7304)), f("SourceImage", `C:\Tools\mimikatz.exe`), f("TargetProcessGUID", GUID("{6A3F2B1C-0C10-6420-0C00-000000001F00}")),
			f("TargetProcessId", uint32(712)), f("TargetImage", `C:\Windows\system32\lsass.exe`), f("GrantedAccess", HexInt32(0x1010)),
			f("CallTrace", `C:\Windows\SYSTEM32\ntdll.dll+9fc24|UNKNOWN(00007FF6A1B2C3D4)`), f("SourceUser", `CORP\adm-jsmith`), f("TargetUser", `NT AUTHORITY\SYSTEM`)),
		pSysmon.ev(11, 2, 11, 0, f("RuleName", "-"), f("UtcTime", "2023-03-29 08:15:02.789"), f("ProcessGuid", GUID("{6A3F2B1C-0001-6420-0B00-000000001F00}")),
			f("ProcessId", uint32(4)), f("Image", "System"), f("TargetFilename", `C:\Windows\PSEXESVC.exe`), f("CreationUtcTime", "2023-03-29 08:15:02.789"),
			f("User", `NT AUTHORITY\SYSTEM`)),
		pSysmon.ev(13, 2, 13, 0, f("RuleName", "-"), f("EventType", "SetValue"), f("UtcTime", "2023-03-29 08:15:03.012"),
			f("ProcessGuid", GUID("{6A3F2B1C-0C0F-6420-0A00-000000001F00}")), f("ProcessId", uint32(688)), f("Image", `C:\Windows\system32\services.exe`),
			f("TargetObject", `HKLM\System\CurrentControlSet\Services\PSEXESVC\ImagePath`), f("Details", `%%SystemRoot%%\PSEXESVC.exe`), f("User", `NT AUTHORITY\SYSTEM`)),
	}
}

func taskRecords() []Record {
	tid := GUID("{1F2E3D4C-5B6A-4978-8695-A4B3C2D1E0F9}")
	r106 := pTask.ev(106, 0, 106, 0, f("TaskName", `\Microsoft\Windows\Update Check`), f("UserContext", `CORP\adm-jsmith`))
	r106.EventDataName = "TaskRegisteredEvent"
	r200 := pTask.ev(200, 0, 200, 1, f("TaskName", `\Microsoft\Windows\Update Check`), f("ActionName", `C:\Windows\SYSTEM32\cmd.exe`),
		f("TaskInstanceId", tid), f("EnginePID", uint32(7412)))
	r200.EventDataName = "ActionStart"
	r201 := pTask.ev(201, 0, 201, 2, f("TaskName", `\Microsoft\Windows\Update Check`), f("TaskInstanceId", tid),
		f("ActionName", `C:\Windows\SYSTEM32\cmd.exe`), f("ResultCode", uint32(0)), f("EnginePID", uint32(7412)))
	r201.EventDataName = "ActionSuccess"
	return []Record{r106, r200, r201}
}

func lsmRecords() []Record {
	ns := "Event_NS"
	return []Record{
		pLSM.user(21, 0, 0, "EventXML", ns, f("User", `CORP\adm-jsmith`), f("SessionID", uint32(3)), f("Address", "10.20.1.57")),
		pLSM.user(22, 0, 0, "EventXML", ns, f("User", `CORP\adm-jsmith`), f("SessionID", uint32(3)), f("Address", "10.20.1.57")),
		pLSM.user(24, 0, 0, "EventXML", ns, f("User", `CORP\adm-jsmith`), f("SessionID", uint32(3)), f("Address", "10.20.1.57")),
		pLSM.user(25, 0, 0, "EventXML", ns, f("User", `CORP\adm-jsmith`), f("SessionID", uint32(3)), f("Address", "10.20.1.57")),
	}
}

func rcmRecords() []Record {
	return []Record{pRCM.user(1149, 0, 0, "EventXML", "Event_NS", f("Param1", "adm-jsmith"), f("Param2", "CORP"), f("Param3", "10.20.1.57"))}
}

func rdpClientRecords() []Record {
	return []Record{
		pRDPC.ev(1024, 0, 101, 0, f("Name", "Server Name"), f("Value", "fs01.corp.local:3389"), f("CustomLevel", "Info")),
		pRDPC.ev(1102, 0, 101, 0, f("Name", "ServerAddress"), f("Value", "10.20.1.30"), f("CustomLevel", "Info")),
	}
}

func winrmRecords() []Record {
	r6 := pWinRM.ev(6, 0, 3, 1, f("connection", "fs01.corp.local/wsman?PSVersion=5.1.19041.2673"))
	r6.ActivityID = "{AE1A2CAB-0B85-0000-AC2F-1AAE850BD501}"
	r91 := pWinRM.ev(91, 0, 9, 0, f("resourceUri", "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"),
		f("shellId", "6B9E4D21-3C0F-4E8A-9B1D-2F7A5C3E8D10"))
	r91.ActivityID = "{AE1A2CAB-0B85-0000-AC2F-1AAE850BD502}"
	return []Record{r6, r91}
}

func wmiRecords() []Record {
	ns := "http://manifests.microsoft.com/win/2006/windows/WMI"
	return []Record{
		pWMI.user(5857, 0, 0, "Operation_StartedOperational", ns, f("ProviderName", "CIMWin32"), f("Code", HexInt32(0)),
			f("HostProcess", "wmiprvse.exe"), f("ProcessID", uint32(3124)), f("ProviderPath", `%systemroot%\system32\wbem\cimwin32.dll`)),
		pWMI.user(5860, 0, 0, "Operation_TemporaryEssStarted", ns, f("NamespaceName", `//./root/CIMV2`),
			f("Query", "SELECT * FROM Win32_ProcessStartTrace"), f("User", `CORP\adm-jsmith`), f("Processid", uint32(5120)),
			f("ClientMachine", "WS01"), f("PossibleCause", "Temporary")),
		pWMI.user(5861, 0, 0, "Operation_ESStoConsumerBinding", ns, f("Namespace", `//./root/subscription`), f("ESS", "Updater"),
			f("CONSUMER", `CommandLineEventConsumer="Updater"`), f("PossibleCause", "Binding EventFilter: instance of __EventFilter {...};")),
	}
}

func psOperationalRecords() []Record {
	ctx := "        Severity = Informational\r\n        Host Name = ServerRemoteHost\r\n        Host Application = C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n        Command Name = Invoke-Expression\r\n"
	return []Record{
		pPSo.ev(4103, 1, 106, 20, f("ContextInfo", ctx), f("UserData", ""), f("Payload", `CommandInvocation(Invoke-Expression): "Invoke-Expression"`)),
		pPSo.ev(4104, 1, 2, 15, f("MessageNumber", int32(1)), f("MessageTotal", int32(1)),
			f("ScriptBlockText", "Invoke-Command -ComputerName FS01 -ScriptBlock { whoami; Get-Process | ? {$_.CPU -gt 10} }"),
			f("ScriptBlockId", "4d8a2c1e-3b5f-4a6d-9e7c-1f2a3b4c5d6e"), f("Path", "")),
	}
}

func psClassicRecords() []Record {
	block := func(state string) string {
		return "\tNewEngineState=" + state + "\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber=13\r\n\r\n\tHostName=ServerRemoteHost\r\n\tHostVersion=1.0.0.0\r\n\tHostId=3c1a7b2e-5d4f-4e6a-8b9c-0d1e2f3a4b5c\r\n\tHostApplication=C:\\Windows\\system32\\wsmprovhost.exe -Embedding\r\n\tEngineVersion=5.1.19041.2673\r\n\tRunspaceId=9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine="
	}
	r400 := pPSc.ev(400, 0, 4, 0, f("", "Available"), f("", "None"), f("", block("Available")))
	r403 := pPSc.ev(403, 0, 4, 0, f("", "Stopped"), f("", "Available"), f("", block("Stopped")))
	r600 := pPSc.ev(600, 0, 6, 0, f("", "Registry"), f("", "Started"), f("", block("Available")))
	for _, r := range []*Record{&r400, &r403, &r600} {
		r.UserSID, r.ProcessID, r.ThreadID = "", 0, 0
	}
	return []Record{r400, r403, r600}
}

// typeRecords exercises every value type the writer supports, under a
// provider name that says it is synthetic; one record per type (so that a
// reader failing on one type is pinpointed) and one with all of them.
func typeRecords() []Record {
	p := provider{"Foothold-Forge-Types", "{0F00D0F0-0000-4000-8000-000000000001}", "", "Foothold-Forge/Types", 0x8000000000000001, 4, sysSID}
	ft := event.FileTime(133244384431234567) // 2023-03-28T00:54:03.1234567Z
	all := []event.Field{
		f("String", "tab\tquote\"amp&lt<gt>apos'é€"), f("Astral", "😀 U+1F600"), f("Empty", ""), f("Null", nil),
		f("UInt8", uint8(200)), f("UInt16", uint16(65535)), f("UInt32", uint32(4294967295)), f("UInt64", uint64(18446744073709551615)),
		f("Int32", int32(-2147483648)), f("Int64", int64(-9223372036854775807)), f("True", true), f("False", false),
		f("FileTime", ft), f("FileTimeWhole", event.FileTime(133244384430000000)), f("SysTime", SysTime(ft)),
		f("HexInt32", HexInt32(0xc000006d)), f("HexInt64", HexInt64(0x3e7)), f("SizeT", SizeT(0x24c)), f("SizeTZero", SizeT(0)),
		f("SID", SID("S-1-5-21-3623811015-3361044348-30300820-1104")), f("SIDShort", SID("S-1-1-0")),
		f("GUID", GUID("{6a3f2b1c-8d4e-6420-1a00-000000001f00}")), f("Binary", Binary{0x00, 0x01, 0xfe, 0xff}),
	}
	var recs []Record
	for i, fld := range all {
		recs = append(recs, p.ev(uint16(100+i), 0, 0, 0, fld))
	}
	return append(recs, p.ev(99, 1, 7, 3, all...))
}

// channelFile is one fixture file.
type channelFile struct {
	name string
	recs []Record
}

func channelFiles() []channelFile {
	files := []channelFile{
		{"Security.evtx", securityRecords()},
		{"System.evtx", systemRecords()},
		{"Microsoft-Windows-Sysmon%4Operational.evtx", sysmonRecords()},
		{"Microsoft-Windows-TaskScheduler%4Operational.evtx", taskRecords()},
		{"Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx", lsmRecords()},
		{"Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx", rcmRecords()},
		{"Microsoft-Windows-TerminalServices-RDPClient%4Operational.evtx", rdpClientRecords()},
		{"Microsoft-Windows-WinRM%4Operational.evtx", winrmRecords()},
		{"Microsoft-Windows-WMI-Activity%4Operational.evtx", wmiRecords()},
		{"Microsoft-Windows-PowerShell%4Operational.evtx", psOperationalRecords()},
		{"Windows PowerShell.evtx", psClassicRecords()},
		{"Foothold-Forge%4Types.evtx", typeRecords()},
	}
	for i := range files {
		stamp(files[i].recs, uint64(i)*1_000_003)
	}
	// Record ids as a long-running log has them.
	for i := range files[0].recs {
		files[0].recs[i].RecordID = 48210 + uint64(i)
	}
	return files
}

// bigRecords is a Security log of n records cycling through the Security
// fixtures with varying values, large enough to fill several chunks.
func bigRecords(n int) []Record {
	base := securityRecords()
	out := make([]Record, 0, n)
	for i := 0; i < n; i++ {
		r := base[i%len(base)]
		if r.UserData == nil {
			d := append([]event.Field(nil), r.Data...)
			for j := range d {
				switch v := d[j].Value.(type) {
				case HexInt64:
					d[j].Value = v + HexInt64(i)
				case string:
					if d[j].Key == "IpPort" && v != "-" {
						d[j].Value = fmt.Sprint(49152 + i%16000)
					}
				}
			}
			r.Data = d
		}
		out = append(out, r)
	}
	return stamp(out, 42)
}
