package background

import (
	"fmt"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/parsers/event"
)

const (
	servicesExe  = `C:\Windows\System32\services.exe`
	winlogonExe  = `C:\Windows\System32\winlogon.exe`
	explorerExe  = `C:\Windows\explorer.exe`
	powershell   = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	msMpEng      = defenderPlatform + `\MsMpEng.exe`
	lsassExe     = `C:\Windows\System32\lsass.exe`
	kerberosPort = 88
)

// day forges one UTC day of h's own activity.
func (g *gen) day(day time.Time) {
	for _, s := range services {
		if !s.runsOn(g.h.Role) {
			continue
		}
		for i := g.count(2 * s.perDay); i > 0; i-- {
			g.startService(g.ticks(day.Add(time.Duration(g.rng.IntN(86400))*time.Second)), s)
		}
	}
	for _, tk := range tasks {
		if tk.runsOn(g.h) {
			g.taskDay(day, tk)
		}
	}
	g.updates(day)
	for _, s := range sessions(g.h, day, g.seed) {
		g.interactive(s)
	}
	for _, u := range g.h.Users {
		if !u.Interactive {
			g.batch(u, day)
		}
	}
	for _, ss := range shareSessions(g.h, day, g.seed) {
		g.share(ss)
	}
	if g.h.Role == DC {
		g.ownKerberos(day)
	} else {
		for _, t := range machineTGTs(g.h, day, g.seed) {
			g.connect(t.Add(-20*time.Millisecond), g.h.LSASSPID, lsassExe, systemUser, g.h.DCName+"."+g.h.DNSDomain, g.h.DCIP, kerberosPort, "kerberos")
		}
	}
}

func (g *gen) startService(t time.Time, s service) {
	sid, user, dom, lid := serviceAccount(s.account)
	acct := principal{sid, user, dom, lid}
	g.logon(t, logon{subject: g.machine(), target: acct, typ: 5, process: "Advapi  ", pkg: "Negotiate", ws: "-",
		pid: uint64(g.services), pname: servicesExe, ip: "-", port: "-", elevated: true})
	if s.account == "SYSTEM" {
		g.special(t.Add(50*time.Microsecond), systemUser, systemPrivileges)
	}
	target := nobody
	if s.account != "SYSTEM" {
		target = acct
	}
	pid := g.process(t.Add(4*time.Millisecond), proc{creator: g.machine(), target: target, image: s.image, cmd: s.cmd,
		parent: g.services, parentImage: servicesExe})
	g.serviceState(t.Add(300*time.Millisecond), s, true)
	run := s.minRun + time.Duration(g.rng.Int64N(int64(s.maxRun-s.minRun)+1))
	g.serviceState(t.Add(run), s, false)
	if s.key == "wuauserv" || s.key == "BITS" || s.key == "DoSvc" {
		u := updateHosts[g.rng.IntN(len(updateHosts))]
		g.connect(t.Add(2*time.Second), pid, s.image, acct, u.host, u.ip, 443, "https")
	}
}

// taskDay runs a task at its times of the day.
func (g *gen) taskDay(day time.Time, tk task) {
	base := time.Duration(hash64("task", g.h.Name, tk.name)%86400) * time.Second
	switch tk.every {
	case time.Hour:
		for h := 0; h < 24; h++ {
			g.runTask(g.ticks(day.Add(time.Duration(h)*time.Hour+base%time.Hour+g.jitter(90*time.Second))), tk)
		}
	case 24 * time.Hour:
		g.runTask(g.ticks(day.Add(base+g.jitter(15*time.Minute))), tk)
	default:
		if int(day.Weekday()) == int(hash64("weekday", g.h.Name, tk.name)%7) {
			g.runTask(g.ticks(day.Add(base+g.jitter(15*time.Minute))), tk)
		}
	}
}

func quoted(exe, args string) string {
	if strings.ContainsRune(exe, ' ') {
		exe = `"` + exe + `"`
	}
	if args == "" {
		return exe
	}
	return exe + " " + args
}

// runTask logs one run of a task with an executable action: 107, 100,
// 129, the process, 200, 201, 102.
func (g *gen) runTask(t time.Time, tk task) uint32 {
	inst := guidFrom("task", g.h.Name, tk.name, t.Format(time.RFC3339Nano))
	g.taskEvent(t, 107, 0, "TaskTriggeredOnScheduler", f("TaskName", tk.name), f("InstanceId", inst))
	g.taskEvent(t.Add(3*time.Millisecond), 100, 1, "TaskStartEvent", f("TaskName", tk.name), f("UserContext", tk.user), f("InstanceId", inst))
	creator, target := g.machine(), nobody
	if tk.user == `NT AUTHORITY\LOCAL SERVICE` {
		target = principal{"S-1-5-19", "LOCAL SERVICE", "NT AUTHORITY", 0x3e5}
	}
	pid := g.process(t.Add(15*time.Millisecond), proc{creator: creator, target: target, image: tk.exe, cmd: quoted(tk.exe, tk.args),
		parent: g.schedule, parentImage: svchost})
	g.taskEvent(t.Add(20*time.Millisecond), 129, 0, "CreatedTaskProcess", f("TaskName", tk.name), f("Path", tk.exe), f("ProcessID", pid), f("Priority", uint32(16384)))
	g.taskEvent(t.Add(22*time.Millisecond), 200, 1, "ActionStart", f("TaskName", tk.name), f("ActionName", tk.exe), f("TaskInstanceId", inst), f("EnginePID", pid))
	end := t.Add(tk.runFor/2 + time.Duration(g.rng.Int64N(int64(tk.runFor)+1)))
	g.taskEvent(end, 201, 2, "ActionSuccess", f("TaskName", tk.name), f("TaskInstanceId", inst), f("ActionName", tk.exe), f("ResultCode", uint32(0)), f("EnginePID", pid))
	g.taskEvent(end.Add(4*time.Millisecond), 102, 2, "TaskSuccessEvent", f("TaskName", tk.name), f("UserContext", tk.user), f("InstanceId", inst))
	return pid
}

// updates forges Windows Update: Defender definitions every day, the
// monthly updates the day after Patch Tuesday, and BITS start-type flips.
func (g *gen) updates(day time.Time) {
	n := 1 + g.rng.IntN(2)
	for k := 0; k < n; k++ {
		t := g.ticks(day.Add(time.Duration(g.rng.IntN(86400)) * time.Second))
		u := definitionUpdate(day, k)
		g.installUpdate(t, u, 30*time.Second)
		if k == 0 {
			// The definitions land on disk once a day.
			dir := `\ProgramData\Microsoft\Windows Defender\Definition Updates\` + string(guidFrom("defs", g.h.Name, day.Format("2006-01-02")))
			at := t.Add(50 * time.Second)
			g.file(at, dir+`\mpavdlta.vdm`, 2048)
			g.fileCreated(at, g.msMpEng(), msMpEng, systemUser, `C:`+dir+`\mpavdlta.vdm`)
		}
	}
	if pt := patchTuesday(day); day.Equal(pt.AddDate(0, 0, 1)) {
		t := g.ticks(day.Add(time.Duration(2*3600+hash64("pt", g.h.Name)%7200) * time.Second))
		for s := range services {
			if services[s].key == "TrustedInstaller" {
				g.startService(t.Add(-time.Minute), services[s])
			}
		}
		for i, u := range monthlyUpdates(g.h.OSBuild, pt) {
			at := t.Add(time.Duration(i) * 25 * time.Minute)
			g.installUpdate(at, u, 20*time.Minute)
			if i == 0 {
				kb := strings.ToLower(u.title[strings.LastIndexByte(u.title, '(')+1 : len(u.title)-1])
				path := fmt.Sprintf(`\Windows\SoftwareDistribution\Download\%016x%016x\windows10.0-%s-x64.cab`, hash64("dl", g.h.Name, u.title), hash64("dl2", u.title), kb)
				g.file(at.Add(3*time.Minute), path, 4096)
				g.fileCreated(at.Add(3*time.Minute), g.wuSvc, svchost, systemUser, `C:`+path)
			}
		}
	}
	// Windows flips BITS between delayed auto and demand start about weekly.
	if int(day.Weekday()) == int(hash64("bits", g.h.Name)%7) || g.rng.IntN(6) == 0 {
		t := g.ticks(day.Add(time.Duration(g.rng.IntN(43200)) * time.Second))
		bits := []event.Field{f("param1", "Background Intelligent Transfer Service"), f("param2", "demand start"), f("param3", "auto start"), f("param4", "BITS")}
		g.scm(t, 7040, systemSID, nil, bits...)
		back := append([]event.Field(nil), bits...)
		back[1], back[2] = f("param2", "auto start"), f("param3", "demand start")
		g.scm(t.Add(time.Duration(1800+g.rng.IntN(6*3600))*time.Second), 7040, systemSID, nil, back...)
	}
}

func (g *gen) installUpdate(t time.Time, u update, took time.Duration) {
	g.windowsUpdate(t, 44, 11, u)
	g.windowsUpdate(t.Add(took/3), 43, 12, u)
	g.windowsUpdate(t.Add(took+time.Duration(g.rng.IntN(30))*time.Second), 19, 13, u)
}

func (g *gen) msMpEng() uint32 { return 3600 + 4*uint32(hash64("msmpeng", g.h.Name)%64) }

// file adds a small file written at true time t (recorded on the host's
// clock).
func (g *gen) file(t time.Time, path string, size int) {
	if t.Before(g.from) || !t.Before(g.to) {
		return
	}
	data := make([]byte, size)
	x := hash64("data", path)
	for i := range data {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		data[i] = byte(x)
	}
	g.files = append(g.files, disk.Op{Kind: disk.OpFile, Path: path, At: event.FromTime(t.Add(g.h.ClockOffset)), Data: data})
}

func (g *gen) browserExe() string {
	if g.h.Browser == "msedge" {
		return `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`
	}
	return `C:\Program Files\Google\Chrome\Application\chrome.exe`
}

// interactive forges a console session: the session's own logons, the
// user's logon, shell start, programs through the day, a lunch lock and
// the logoff.
func (g *gen) interactive(s session) {
	g.session++
	n := g.session
	t := s.logon
	mach := g.machine()
	virt := func(sid, user, dom string) principal {
		return principal{fmt.Sprintf("%s-0-%d", sid, n), fmt.Sprintf("%s-%d", user, n), dom, g.newLogonID()}
	}
	umfd, dwm := virt("S-1-5-96", "UMFD", "Font Driver Host"), virt("S-1-5-90", "DWM", "Window Manager")
	for i, v := range []principal{umfd, dwm} {
		g.logon(t.Add(-time.Duration(3-i)*time.Second), logon{subject: mach, target: v, typ: 2, process: "Advapi  ", pkg: "Negotiate", ws: "-",
			pid: uint64(g.winlogon), pname: winlogonExe, ip: "-", port: "-", virtual: true, elevated: true})
	}
	user := principal{s.user.SID, s.user.Name, g.h.Domain, g.newLogonID()}
	typ, guid := uint32(2), s.guid
	if s.cached {
		typ, guid = 11, zeroGUID
	}
	logonSvc := 1100 + 4*uint32(hash64("logonsvc", g.h.Name)%64)
	g.logon(t, logon{subject: mach, target: user, typ: typ, process: "User32 ", pkg: "Negotiate", ws: g.h.Name, guid: guid,
		pid: uint64(logonSvc), pname: svchost, ip: "127.0.0.1", port: "0"})

	up := func(at time.Time, image, cmd string, parent uint32, parentImage string) uint32 {
		return g.process(at, proc{creator: user, image: image, cmd: cmd, parent: parent, parentImage: parentImage,
			label: labelMedium, session: n})
	}
	userinit := g.process(t.Add(1500*time.Millisecond), proc{creator: mach, target: user, image: `C:\Windows\System32\userinit.exe`,
		cmd: `C:\Windows\system32\userinit.exe`, parent: g.winlogon, parentImage: winlogonExe, label: labelMedium, session: n})
	up(t.Add(1200*time.Millisecond), `C:\Windows\System32\sihost.exe`, "sihost.exe", g.dcomlaunch, svchost)
	up(t.Add(1300*time.Millisecond), `C:\Windows\System32\taskhostw.exe`, "taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}", g.schedule, svchost)
	explorer := up(t.Add(2100*time.Millisecond), explorerExe, `C:\Windows\Explorer.EXE`, userinit, `C:\Windows\System32\userinit.exe`)
	up(t.Add(2600*time.Millisecond), `C:\Windows\System32\ctfmon.exe`, `"ctfmon.exe"`, g.dcomlaunch, svchost)
	up(t.Add(4*time.Second), `C:\Windows\System32\RuntimeBroker.exe`, `C:\Windows\System32\RuntimeBroker.exe -Embedding`, g.dcomlaunch, svchost)
	up(t.Add(9*time.Second), `C:\Windows\System32\SecurityHealthSystray.exe`, `"C:\Windows\System32\SecurityHealthSystray.exe" `, explorer, explorerExe)
	outlook := `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`
	up(t.Add(time.Duration(40+g.rng.IntN(300))*time.Second), outlook, quoted(outlook, ""), explorer, explorerExe)

	span := s.logoff.Sub(t) - 10*time.Minute
	when := func() time.Time { return g.ticks(t.Add(5*time.Minute + time.Duration(g.rng.Int64N(int64(span))))) }
	browser := g.browserExe()
	var network uint32
	for i := 0; i < s.browse; i++ {
		at := when()
		main := up(at, browser, quoted(browser, ""), explorer, explorerExe)
		child := func(d time.Duration, typ string) uint32 {
			return up(at.Add(d), browser, fmt.Sprintf(`%s --type=%s --mojo-platform-channel-handle=%d /prefetch:%d`,
				quoted(browser, ""), typ, 1800+g.rng.IntN(600), 1+g.rng.IntN(8)), main, browser)
		}
		child(150*time.Millisecond, "gpu-process")
		network = child(220*time.Millisecond, "utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none")
		for r := 0; r < 1+g.rng.IntN(4); r++ {
			child(time.Duration(400+300*r)*time.Millisecond, fmt.Sprintf("renderer --lang=en-US --renderer-client-id=%d", 5+r))
		}
		for c := 0; c < 1+g.rng.IntN(3); c++ {
			w := webSites[g.rng.IntN(len(webSites))]
			g.connect(at.Add(time.Duration(600+400*c)*time.Millisecond), network, browser, user, w.host, w.ip, 443, "https")
		}
	}
	office := []string{
		`C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`,
		`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
		`C:\Program Files\Microsoft Office\root\Office16\POWERPNT.EXE`,
		`C:\Windows\System32\notepad.exe`,
	}
	for i := 0; i < s.office; i++ {
		exe := office[g.rng.IntN(len(office))]
		up(when(), exe, quoted(exe, ""), explorer, explorerExe)
	}
	for i := g.count(2); i > 0; i-- {
		up(when(), `C:\Windows\System32\backgroundTaskHost.exe`, `"C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountBackgroundTask`, g.dcomlaunch, svchost)
	}
	if !s.lock.IsZero() {
		lock := func(at time.Time, id uint16) {
			g.sec(at, id, 0, 12551, f("TargetUserSid", evtx.SID(user.sid)), f("TargetUserName", user.user),
				f("TargetDomainName", user.domain), f("TargetLogonId", evtx.HexInt64(user.logonID)), f("SessionId", n))
		}
		lock(s.lock, 4800)
		lock(s.unlock, 4801)
	}
	if !s.psAt.IsZero() {
		cmd := psCommands[g.rng.IntN(len(psCommands))]
		g.powerShell(s.psAt, user, n, explorer, explorerExe, "ConsoleHost", quoted(powershell, ""), cmd, labelMedium)
	}
	g.sec(s.logoff, 4647, 0, 12545, f("TargetUserSid", evtx.SID(user.sid)), f("TargetUserName", user.user),
		f("TargetDomainName", user.domain), f("TargetLogonId", evtx.HexInt64(user.logonID)))
	g.logoff(s.logoff.Add(time.Duration(800+g.rng.IntN(2500))*time.Millisecond), user, typ)
	g.logoff(s.logoff.Add(5*time.Second), dwm, 2)
	g.logoff(s.logoff.Add(5100*time.Millisecond), umfd, 2)
}

// powerShell forges a Windows PowerShell run: powershell.exe and its
// console host, the engine's provider and state events (600, 400, 403)
// and the script block (4104, verbose, as Script Block Logging writes it).
func (g *gen) powerShell(t time.Time, who principal, session, parent uint32, parentImage, host, cmdline, script, label string) uint32 {
	pid := g.process(t, proc{creator: who, image: powershell, cmd: cmdline, parent: parent, parentImage: parentImage, label: label, session: session})
	g.process(t.Add(30*time.Millisecond), proc{creator: who, image: `C:\Windows\System32\conhost.exe`, cmd: `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`,
		parent: pid, parentImage: powershell, label: label, session: session})
	ver := psVersion(g.h.OSBuild)
	hostID := guidFrom("pshost", g.h.Name, t.String())
	runspace := guidFrom("runspace", g.h.Name, t.String())
	app := cmdline
	block := func(first string, seq int, engine, rs string) string {
		return first + fmt.Sprintf("\r\n\r\n\tSequenceNumber=%d\r\n\r\n\tHostName=%s\r\n\tHostVersion=%s\r\n\tHostId=%s\r\n\tHostApplication=%s\r\n\tEngineVersion=%s\r\n\tRunspaceId=%s\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine=",
			seq, host, ver, strings.Trim(strings.ToLower(string(hostID)), "{}"), app, engine, rs)
	}
	classic := func(at time.Time, id uint16, task uint16, a, b, text string) {
		g.add(PowerShellWin, at, evtx.Record{Provider: "PowerShell", EventID: id, Level: 4, Task: task, Keywords: 0x80000000000000,
			Data: []event.Field{f("", a), f("", b), f("", text)}})
	}
	at := t.Add(400 * time.Millisecond)
	for i, p := range []string{"Registry", "Alias", "Environment", "FileSystem", "Function", "Variable"} {
		classic(at.Add(time.Duration(i)*3*time.Millisecond), 600, 6, p, "Started",
			block(fmt.Sprintf("\tProviderName=%s\r\n\tNewProviderState=Started", p), i+1, "", ""))
	}
	rs := strings.Trim(strings.ToLower(string(runspace)), "{}")
	classic(at.Add(40*time.Millisecond), 400, 4, "Available", "None",
		block("\tNewEngineState=Available\r\n\tPreviousEngineState=None", 13, ver, rs))
	g.add(PowerShell, at.Add(120*time.Millisecond), evtx.Record{
		Provider: psProvider, ProviderGUID: psGUID, EventID: 4104, Version: 1, Level: 5, Task: 2, Opcode: 15,
		ProcessID: pid, UserSID: who.sid,
		Data: []event.Field{f("MessageNumber", int32(1)), f("MessageTotal", int32(1)), f("ScriptBlockText", script),
			f("ScriptBlockId", strings.Trim(strings.ToLower(string(guidFrom("sb", g.h.Name, t.String()))), "{}")), f("Path", "")},
	})
	end := at.Add(time.Duration(2+g.rng.IntN(40)) * time.Second)
	classic(end, 403, 4, "Stopped", "Available", block("\tNewEngineState=Stopped\r\n\tPreviousEngineState=Available", 15, ver, rs))
	return pid
}

// batch forges a non-interactive user's nightly job: a batch logon, the
// task and its PowerShell script, the logoff.
func (g *gen) batch(u User, day time.Time) {
	t := batchRun(g.h, u, day, g.seed)
	user := principal{u.SID, u.Name, g.h.Domain, g.newLogonID()}
	g.logon(t.Add(-40*time.Millisecond), logon{subject: g.machine(), target: user, typ: 4, process: "Advapi  ", pkg: "Negotiate", ws: "-",
		guid: batchGUID(g.h, u, day, g.seed), pid: uint64(g.schedule), pname: svchost, ip: "-", port: "-", elevated: true})
	name := `\Scheduled\` + u.Name
	ctx := g.h.Domain + `\` + u.Name
	inst := guidFrom("task", g.h.Name, name, t.Format(time.RFC3339Nano))
	g.taskEvent(t, 107, 0, "TaskTriggeredOnScheduler", f("TaskName", name), f("InstanceId", inst))
	g.taskEvent(t.Add(3*time.Millisecond), 100, 1, "TaskStartEvent", f("TaskName", name), f("UserContext", ctx), f("InstanceId", inst))
	script := `C:\Scripts\` + u.Name + `.ps1`
	cmd := quoted(powershell, "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "+script)
	pid := g.powerShell(t.Add(15*time.Millisecond), user, 0, g.schedule, svchost, "ConsoleHost", cmd,
		"Get-ChildItem -Path $env:TEMP -File -Recurse | Where-Object { $_.LastWriteTime -lt (Get-Date).AddDays(-7) } | Remove-Item -Force -ErrorAction SilentlyContinue", labelHigh)
	end := t.Add(time.Duration(20+g.rng.IntN(200)) * time.Second)
	g.taskEvent(t.Add(22*time.Millisecond), 200, 1, "ActionStart", f("TaskName", name), f("ActionName", powershell), f("TaskInstanceId", inst), f("EnginePID", pid))
	g.taskEvent(end, 201, 2, "ActionSuccess", f("TaskName", name), f("TaskInstanceId", inst), f("ActionName", powershell), f("ResultCode", uint32(0)), f("EnginePID", pid))
	g.taskEvent(end.Add(4*time.Millisecond), 102, 2, "TaskSuccessEvent", f("TaskName", name), f("UserContext", ctx), f("InstanceId", inst))
	g.logoff(end.Add(time.Second), user, 4)
}

func batchGUID(h Host, u User, day time.Time, seed int64) evtx.GUID {
	return guidFrom("batch", strings.ToUpper(h.Name), u.Name, day.Format("2006-01-02"), fmt.Sprint(seed))
}

// share forges one documented share session on this server.
func (g *gen) share(ss shareSession) {
	su := ss.use
	ip := ipAt("", su.ClientAddrs, ss.start)
	port := fmt.Sprint(ss.port)
	user := principal{su.User.SID, su.User.Name, g.h.Domain, g.newLogonID()}
	g.logon(ss.start, logon{subject: nobody, target: user, typ: 3, process: "Kerberos", pkg: "Kerberos", ws: "-", guid: ss.guid,
		pname: "-", ip: ip, port: port, elevated: su.Admin})
	if su.Admin {
		g.special(ss.start.Add(100*time.Microsecond), user, adminPrivileges)
	}
	net := func(rest ...event.Field) []event.Field {
		return append(append(user.subject(), f("ObjectType", "File"), f("IpAddress", ip), f("IpPort", port),
			f("ShareName", `\\*\`+su.Share), f("ShareLocalPath", `\??\`+su.LocalPath)), rest...)
	}
	g.sec(ss.start.Add(40*time.Millisecond), 5140, 1, 12808, net(f("AccessMask", evtx.HexInt32(0x1)), f("AccessList", "%%4416\n\t\t\t\t"))...)
	if len(su.Files) > 0 {
		for i := 0; i < 1+g.rng.IntN(3); i++ {
			name := su.Files[g.rng.IntN(len(su.Files))]
			g.sec(ss.start.Add(time.Duration(200+i*7000+g.rng.IntN(5000))*time.Millisecond), 5145, 0, 12811,
				net(f("RelativeTargetName", name), f("AccessMask", evtx.HexInt32(0x120089)),
					f("AccessList", "%%1538\n\t\t\t\t%%1541\n\t\t\t\t%%4416\n\t\t\t\t%%4419\n\t\t\t\t%%4423\n\t\t\t\t"), f("AccessReason", "-"))...)
		}
	}
	g.logoff(ss.end, user, 3)
}

// ownKerberos is a DC's own machine account asking itself for tickets.
func (g *gen) ownKerberos(day time.Time) {
	for _, t := range machineTGTs(g.h, day, g.seed) {
		g.tgt(t, g.h.Name+"$", g.machineSID(), "::1")
		g.tgs(t.Add(20*time.Millisecond), g.h.Name+"$", g.h.Name+"$", g.machineSID(), "::1", guidFrom("tgs", g.h.Name, t.String()))
	}
}

func (g *gen) tgt(t time.Time, user, sid, ip string) {
	g.sec(t, 4768, 0, 14339, f("TargetUserName", user), f("TargetDomainName", g.realm), f("TargetSid", evtx.SID(sid)),
		f("ServiceName", "krbtgt"), f("ServiceSid", evtx.SID(g.h.DomainSID+"-502")), f("TicketOptions", evtx.HexInt32(0x40810010)),
		f("Status", evtx.HexInt32(0)), f("TicketEncryptionType", evtx.HexInt32(0x12)), f("PreAuthType", "2"),
		f("IpAddress", ip), f("IpPort", g.port(ip)), f("CertIssuerName", ""), f("CertSerialNumber", ""), f("CertThumbprint", ""))
}

func (g *gen) tgs(t time.Time, user, service, serviceSID, ip string, guid evtx.GUID) {
	g.sec(t, 4769, 0, 14337, f("TargetUserName", user+"@"+g.realm), f("TargetDomainName", g.realm), f("ServiceName", service),
		f("ServiceSid", evtx.SID(serviceSID)), f("TicketOptions", evtx.HexInt32(0x40810000)), f("TicketEncryptionType", evtx.HexInt32(0x12)),
		f("IpAddress", ip), f("IpPort", g.port(ip)), f("Status", evtx.HexInt32(0)), f("LogonGuid", guid), f("TransmittedServices", "-"))
}

func (g *gen) port(ip string) string {
	if ip == "::1" {
		return "0"
	}
	return fmt.Sprint(49152 + g.rng.IntN(16000))
}

// dcDay forges what the DC logs of member m's routine traffic on day.
func (g *gen) dcDay(m Host, day time.Time) {
	mAcct := m.Name + "$"
	mSID := fmt.Sprintf("%s-%d", m.DomainSID, m.RID)
	dcAcct := g.h.Name + "$"
	at := func(t time.Time) string { return "::ffff:" + ipAt(m.IP, m.Addrs, t) }
	for _, t := range machineTGTs(m, day, g.seed) {
		g.tgt(t, mAcct, mSID, at(t))
		g.tgs(t.Add(time.Duration(30+g.rng.IntN(900))*time.Millisecond), mAcct, dcAcct, g.machineSID(), at(t), guidFrom("tgs", m.Name, t.String()))
		if g.rng.IntN(2) == 0 {
			g.tgs(t.Add(time.Duration(1+g.rng.IntN(60))*time.Second), mAcct, mAcct, mSID, at(t), guidFrom("self", m.Name, t.String()))
		}
	}
	for _, s := range sessions(m, day, g.seed) {
		for _, nt := range s.ntlm {
			g.sec(nt, 4776, 0, 14336, f("PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"), f("TargetUserName", s.user.Name),
				f("Workstation", m.Name), f("Status", evtx.HexInt32(0)))
		}
		if s.cached {
			continue
		}
		g.tgt(s.logon.Add(-420*time.Millisecond), s.user.Name, s.user.SID, at(s.logon))
		g.tgs(s.logon.Add(-230*time.Millisecond), s.user.Name, mAcct, mSID, at(s.logon), s.guid)
		g.tgs(s.logon.Add(time.Duration(2500+g.rng.IntN(2000))*time.Millisecond), s.user.Name, dcAcct, g.machineSID(), at(s.logon),
			guidFrom("ldap", m.Name, s.user.Name, s.logon.String()))
	}
	for _, u := range m.Users {
		if u.Interactive {
			continue
		}
		t := batchRun(m, u, day, g.seed)
		g.tgt(t.Add(-200*time.Millisecond), u.Name, u.SID, at(t))
		g.tgs(t.Add(-120*time.Millisecond), u.Name, mAcct, mSID, at(t), batchGUID(m, u, day, g.seed))
	}
	for _, ss := range shareSessions(m, day, g.seed) {
		ip := "::ffff:" + ipAt("", ss.use.ClientAddrs, ss.start)
		g.tgs(ss.start.Add(-150*time.Millisecond), ss.use.User.Name, mAcct, mSID, ip, ss.guid)
	}
}
