package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"unicode/utf16"

	"github.com/foothold/foothold/forge/artifacts"
	"github.com/foothold/foothold/parsers/event"
)

// sec is a millisecond offset helper for readability.
const sec = 1000

// edge writes one occurrence (n counts from 0) of e on both sides and on
// the domain controller.
func (g *gen) edge(e *Edge, t time.Time, n int) error {
	dst := g.host(e.Destination)
	var src *hostState
	if e.Source != Unknown {
		src = g.host(e.Source)
	}
	acct := g.s.User(e.Account)
	srcUser := acct
	if e.SourceUser != "" {
		srcUser = g.s.User(e.SourceUser)
	}
	step := ""
	if n == 0 {
		step = e.ID
	}
	srcIP := e.SourceAddress
	srcName := "-"
	if src != nil {
		if srcIP == "" {
			srcIP = src.h.AddressAt(t)
		}
		srcName = strings.ToUpper(src.h.Name)
	}
	dstIP := dst.h.AddressAt(t)
	dstName := strings.ToUpper(dst.h.Name)
	r := g.rng("edge", e.ID, fmt.Sprint(n))
	guid := nullGUID
	kerb := e.Authentication == "kerberos" || e.Authentication == "explicit-credentials" || e.Authentication == "overpass-the-hash"
	if kerb {
		guid = randGUID(r)
	}

	// Source: the session the client runs in.
	var srcSess principal
	if src != nil {
		srcSess = g.userPrincipal(srcUser, src.newLogonID())
		if e.Authentication == "pass-the-hash" || e.Authentication == "overpass-the-hash" {
			// mimikatz sekurlsa::pth: a type 9 logon whose outbound
			// credentials are the stolen account's.
			l9 := src.newLogonID()
			src.add(src.at(t, -20*sec), sec4624(logon{
				subject: srcSess, target: principal{sid: srcSess.sid, name: srcSess.name, domain: srcSess.domain, logonID: l9},
				logonType: 9, process: "seclogo", pkg: "Negotiate", guid: nullGUID, pid: uint64(src.pid()),
				processName: `C:\Windows\System32\svchost.exe`, ip: "::1", port: "0", elevated: true,
				outUser: acct.Name(), outDomain: acct.Domain(),
			}), step, "source logon type 9 (seclogo), outbound "+e.Account)
			srcSess.logonID = l9
		}
	}

	// Domain controller.
	if dc := g.dcState(); dc != nil {
		realm := strings.ToUpper(g.s.Organisation.DNS)
		port := func() string { return fmt.Sprint(49152 + r.IntN(16000)) }
		if kerb && srcIP != "" && !isLoopback(srcIP) {
			if e.Authentication != "kerberos" {
				enc := uint32(0x12)
				if e.Authentication == "overpass-the-hash" {
					enc = 0x17
				}
				dc.add(dc.at(t, -2*sec), sec4768(acct.Name(), acct.Domain(), g.s.SID(acct), g.s.Organisation.SID+"-502", enc, srcIP, port()), step, "DC TGT for "+e.Account)
			}
			dc.add(dc.at(t, -1*sec), sec4769(acct.Name(), realm, dstName+"$", fmt.Sprintf("%s-%d", g.s.Organisation.SID, g.machineRID(dst.h)), 0x12, srcIP, port(), guid), step, "DC service ticket for "+dstName+"$")
		}
		if !kerb {
			dc.add(dc.at(t, -500), sec4776(acct.Name(), srcName), step, "DC NTLM validation")
		}
	}

	// Destination: the network logon.
	L := dst.newLogonID()
	sess := g.userPrincipal(acct, L)
	lg := logon{subject: nullPrincipal(), target: sess, logonType: 3, ip: srcIP, port: dst.port(), guid: guid, impersonation: "%%1833"}
	if kerb {
		lg.process, lg.pkg = "Kerberos", "Kerberos"
	} else {
		lg.process, lg.pkg, lg.workstation, lg.lm, lg.keyLength = "NtLmSsp ", "NTLM", srcName, "NTLM V2", 128
		if e.Authentication == "pass-the-hash" {
			lg.keyLength = 0
		}
	}
	admin := g.isAdmin(acct, dst.h)
	lg.elevated = admin
	tool := ""

	switch e.Technique {
	case "admin-share":
		share := e.Share
		if share == "" {
			share = "C$"
		}
		file := e.File
		if file == "" {
			file = `C:\Windows\Temp\` + strings.ToLower(e.ID) + ".bin"
		}
		rel := strings.TrimPrefix(ntPath(file), `\`)
		local := `\??\C:\`
		if share == "ADMIN$" {
			rel = strings.TrimPrefix(rel, `Windows\`)
			local = `\??\C:\Windows`
		}
		cmd := e.Command
		if cmd == "" {
			cmd = fmt.Sprintf(`cmd.exe /c copy %s \\%s\%s\%s`, path1(file), dstName, share, rel)
		}
		if src != nil {
			tool = exeOf(cmd)
			g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 445, lg.port, step)
			// Explorer's record of the mounted share in the client user's hive.
			src.mountPoint(srcUser, dstName, share, src.at(t, 0))
		}
		g.inbound(dst, t, 445, srcIP, lg.port, step)
		g.netLogon(dst, t, lg, admin, step)
		dst.add(dst.at(t, 300), sec5140(sess, srcIP, lg.port, `\\*\`+share, local), step, "share "+share+" opened")
		dst.add(dst.at(t, 400), sec5145(sess, srcIP, lg.port, `\\*\`+share, local, rel, 0x2, "%%4417\n\t\t\t\t"), step, "write "+rel)
		data := content(e.ID+file, 24576)
		if src != nil && src.data[strings.ToUpper(file)] != nil {
			data = src.data[strings.ToUpper(file)] // the copy is the source's file
		}
		dst.file("file", file, dst.at(t, 500), data, step, "file written over "+share)
		g.netLogoff(dst, t, sess, 30)
	case "wmi":
		cmd := e.Command
		payload := e.Payload
		if payload == "" {
			payload = `C:\Windows\System32\cmd.exe /c whoami`
		}
		if cmd == "" {
			cmd = fmt.Sprintf(`wmic /node:%s process call create "%s"`, dstName, payload)
		}
		if src != nil {
			tool = exeOf(cmd)
			g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 135, lg.port, step)
		}
		g.inbound(dst, t, 135, srcIP, lg.port, step)
		g.netLogon(dst, t, lg, admin, step)
		sys := g.machine(dst.h)
		wpid := g.run(dst, dst.at(t, 600), proc{who: principal{sid: sidNetwork, name: "NETWORK SERVICE", domain: "NT AUTHORITY", logonID: 0x3e4},
			image: `C:\Windows\System32\wbem\WmiPrvSE.exe`, cmd: `C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding`,
			parent: `C:\Windows\System32\svchost.exe`, step: step, what: "WmiPrvSE.exe started"})
		dst.add(dst.at(t, 700), wmi5857(wpid), step, "WMI provider loaded")
		g.run(dst, dst.at(t, 900), proc{who: sess, image: exeOf(payload), cmd: payload, parent: `C:\Windows\System32\wbem\WmiPrvSE.exe`, ppid: wpid, elevated: true, step: step, what: "payload child of WmiPrvSE.exe"})
		_ = sys
		g.netLogoff(dst, t, sess, 5)
	case "psexec":
		payload := e.Payload
		if payload == "" {
			payload = "cmd.exe"
		}
		cmd := e.Command
		if cmd == "" {
			cmd = fmt.Sprintf(`PsExec64.exe -accepteula \\%s -s %s`, dstName, payload)
		}
		var cpid uint32
		if src != nil {
			tool = exeOf(cmd)
			cpid = g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 445, lg.port, step)
			if u := src.reg.user(srcUser.Name()); u != nil {
				u.Path(`Software\Sysinternals\PsExec`, src.at(t, 50)).Set(dwordValue("EulaAccepted", 1))
			}
		} else {
			cpid = uint32(1000 + r.IntN(9000))
		}
		svc := "PSEXESVC"
		if e.Service != nil && e.Service.Name != "" {
			svc = e.Service.Name
		}
		g.inbound(dst, t, 445, srcIP, lg.port, step)
		g.netLogon(dst, t, lg, admin, step)
		dst.add(dst.at(t, 300), sec5140(sess, srcIP, lg.port, `\\*\ADMIN$`, `\??\C:\Windows`), step, "ADMIN$ opened")
		dst.add(dst.at(t, 350), sec5145(sess, srcIP, lg.port, `\\*\ADMIN$`, `\??\C:\Windows`, svc+".exe", 0x2, "%%4417\n\t\t\t\t"), step, svc+".exe written")
		dst.file("file", `C:\Windows\`+svc+".exe", dst.at(t, 400), content("PSEXESVC.exe", 389120), step, "service binary")
		dst.add(dst.at(t, 500), sec5145(sess, srcIP, lg.port, `\\*\IPC$`, "", "svcctl", 0x3, "%%4416\n\t\t\t\t%%4417\n\t\t\t\t"), step, "svcctl pipe")
		dst.add(dst.at(t, 600), sys7045(sess.sid, svc, `%SystemRoot%\`+svc+".exe", "demand start", "LocalSystem"), step, "service installed")
		dst.add(dst.at(t, 600), sec4697(sess, svc, `%SystemRoot%\`+svc+".exe", 3, "LocalSystem"), step, "service installed (Security)")
		dst.reg.service(svc, `%SystemRoot%\`+svc+".exe", 3, "", dst.at(t, 600))
		dst.add(dst.at(t, 800), sys7036(svc, svc, "running", 4), step, "service running")
		keyID := fmt.Sprintf("%08X", r.Uint32())
		dst.file("file", `C:\Windows\`+artifacts.PsexecKeyName(srcName, keyID), dst.at(t, 900), artifacts.PsexecKey(srcName, keyID), step, "PsExec key file")
		spid := g.run(dst, dst.at(t, 850), proc{who: g.machine(dst.h), image: `C:\Windows\` + svc + ".exe", cmd: `C:\Windows\` + svc + ".exe",
			parent: `C:\Windows\System32\services.exe`, step: step, what: svc + " started by services.exe"})
		if dst.h.Sysmon {
			// The service's control pipe, then the client's three.
			sguid := randGUID(r)
			at := dst.at(t, 870)
			dst.add(at, sm1718(17, at, sguid, spid, `\`+svc, `C:\Windows\`+svc+".exe"), step, "pipe created (Sysmon 17)")
			at = dst.at(t, 880)
			dst.add(at, sm1718(18, at, randGUID(r), 4, `\`+svc, "System"), step, "pipe connected (Sysmon 18)")
			for i, pipe := range []string{"stdin", "stdout", "stderr"} {
				name := fmt.Sprintf(`\%s-%s-%d-%s`, svc, srcName, cpid, pipe)
				at := dst.at(t, 990+i*10)
				dst.add(at, sm1718(17, at, sguid, spid, name, `C:\Windows\`+svc+".exe"), step, "pipe created (Sysmon 17)")
				at = dst.at(t, 995+i*10)
				dst.add(at, sm1718(18, at, randGUID(r), 4, name, "System"), step, "pipe connected (Sysmon 18)")
			}
		}
		for i, pipe := range []string{"stdin", "stdout", "stderr"} {
			dst.add(dst.at(t, 1000+i*10), sec5145(sess, srcIP, lg.port, `\\*\IPC$`, "", fmt.Sprintf("%s-%s-%d-%s", svc, srcName, cpid, pipe), 0x3, "%%4416\n\t\t\t\t%%4417\n\t\t\t\t"), step, "pipe "+pipe)
		}
		g.run(dst, dst.at(t, 1100), proc{who: g.machine(dst.h), image: exeOf(payload), cmd: payload, parent: `C:\Windows\` + svc + ".exe", ppid: spid, step: step, what: "payload child of " + svc})
		dst.add(dst.at(t, 60*sec), sys7036(svc, svc, "stopped", 1), "", "")
		g.netLogoff(dst, t, sess, 61)
	case "remote-service":
		sv := e.Service
		cmd := e.Command
		if cmd == "" {
			cmd = fmt.Sprintf(`sc \\%s create %s binPath= "%s"`, dstName, sv.Name, sv.ImagePath)
		}
		if src != nil {
			tool = exeOf(cmd)
			g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 445, lg.port, step)
			g.run(src, src.at(t, 3*sec), proc{who: srcSess, image: tool, cmd: fmt.Sprintf(`sc \\%s start %s`, dstName, sv.Name), parent: `C:\Windows\System32\cmd.exe`, elevated: true, step: step, what: "sc start"})
			g.run(src, src.at(t, 9*sec), proc{who: srcSess, image: tool, cmd: fmt.Sprintf(`sc \\%s delete %s`, dstName, sv.Name), parent: `C:\Windows\System32\cmd.exe`, elevated: true, step: step, what: "sc delete"})
		}
		g.inbound(dst, t, 445, srcIP, lg.port, step)
		g.netLogon(dst, t, lg, admin, step)
		dst.add(dst.at(t, 300), sec5145(sess, srcIP, lg.port, `\\*\IPC$`, "", "svcctl", 0x3, "%%4416\n\t\t\t\t%%4417\n\t\t\t\t"), step, "svcctl pipe")
		dst.add(dst.at(t, 400), sys7045(sess.sid, sv.Name, sv.ImagePath, "demand start", "LocalSystem"), step, "service installed")
		dst.add(dst.at(t, 400), sec4697(sess, sv.Name, sv.ImagePath, 3, "LocalSystem"), step, "service installed (Security)")
		if dst.h.Sysmon {
			dst.add(dst.at(t, 410), sm13(dst.at(t, 410), randGUID(r), 688, `C:\Windows\system32\services.exe`,
				`HKLM\System\CurrentControlSet\Services\`+sv.Name+`\ImagePath`, sv.ImagePath, `NT AUTHORITY\SYSTEM`), step, "service ImagePath set")
		}
		ppid := g.run(dst, dst.at(t, 3200), proc{who: g.machine(dst.h), image: exeOf(strings.ReplaceAll(sv.ImagePath, "%COMSPEC%", `C:\Windows\System32\cmd.exe`)),
			cmd: strings.ReplaceAll(sv.ImagePath, "%COMSPEC%", `C:\Windows\system32\cmd.exe`), parent: `C:\Windows\System32\services.exe`, step: step, what: "service command run by services.exe"})
		if sv.Creates != "" {
			ct := dst.at(t, 3300)
			dst.file("file", sv.Creates, ct, content(sv.Creates, 65536), step, "file created by the service command")
			if dst.h.Sysmon {
				dst.add(ct, sm11(ct, randGUID(r), ppid, `C:\Windows\system32\cmd.exe`, sv.Creates, `NT AUTHORITY\SYSTEM`), step, "sysmon file create")
			}
		}
		g.netLogoff(dst, t, sess, 10)
	case "scheduled-task":
		tk := e.Task
		runAs := tk.RunAs
		if runAs == "" {
			runAs = "SYSTEM"
		}
		cmd := e.Command
		if cmd == "" {
			cmd = fmt.Sprintf(`schtasks /create /s %s /u %s /p ******** /ru %s /tn "%s" /tr "%s" /sc onstart`, dstName, e.Account, runAs, tk.Name, tk.Command)
		}
		if src != nil {
			tool = exeOf(cmd)
			g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 135, lg.port, step)
			g.run(src, src.at(t, 20*sec), proc{who: srcSess, image: tool, cmd: fmt.Sprintf(`schtasks /run /s %s /u %s /p ******** /tn "%s"`, dstName, e.Account, tk.Name), parent: `C:\Windows\System32\cmd.exe`, step: step, what: "schtasks /run"})
		}
		g.inbound(dst, t, 135, srcIP, lg.port, step)
		g.netLogon(dst, t, lg, admin, step)
		xml := g.taskFile(dst.h, t, e.Account, tk, runAs)
		dst.add(dst.at(t, 500), sec4698(sess, tk.Name, utf16Text(xml)), step, "task registered (Security)")
		dst.add(dst.at(t, 510), ts106(tk.Name, e.Account), step, "task registered")
		dst.file("file", `C:\Windows\System32\Tasks`+tk.Name, dst.at(t, 520), xml, step, "task XML")
		dst.reg.task(tk.Name, randGUID(r), tk.Command, dst.at(t, 520))
		inst := randGUID(r)
		epid := uint32(1000 + r.IntN(8000))
		dst.add(dst.at(t, 20*sec+300), ts200(tk.Name, exeOf(tk.Command), inst, epid), step, "task action started")
		g.run(dst, dst.at(t, 20*sec+310), proc{who: g.machine(dst.h), image: exeOf(tk.Command), cmd: tk.Command, parent: `C:\Windows\System32\svchost.exe`, step: step, what: "task command"})
		dst.add(dst.at(t, 21*sec), ts201(tk.Name, exeOf(tk.Command), inst, epid), step, "task action completed")
		g.netLogoff(dst, t, sess, 25)
	case "winrm":
		script := e.Command
		if script == "" {
			script = fmt.Sprintf(`Invoke-Command -ComputerName %s -ScriptBlock { whoami; hostname }`, dstName)
		}
		act := randGUID(r)
		if src != nil {
			ps := `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
			tool = ps
			g.run(src, src.at(t, -5*sec), proc{who: srcSess, image: ps, cmd: "powershell.exe", parent: `C:\Windows\System32\cmd.exe`, elevated: true, step: step, what: "powershell started"})
			src.add(src.at(t, 0), pso4104(g.s.SID(srcUser), script, strings.Trim(strings.ToLower(randGUID(r)), "{}")), step, "script block "+e.Technique)
			src.add(src.at(t, 100), wrm6(g.s.SID(srcUser), fmt.Sprintf("%s:5985/wsman?PSVersion=5.1.20348.1", dstName), act), step, "WinRM connection")
			g.netFlow(src, t, srcSess, ps, dstIP, dst.h, 5985, lg.port, step)
		}
		g.inbound(dst, t, 5985, srcIP, lg.port, step)
		g.netLogon(dst, t, lg, admin, step)
		dst.add(dst.at(t, 400), wrm91(g.s.SID(acct), strings.Trim(randGUID(r), "{}"), act), step, "WinRM shell created")
		host := `C:\Windows\system32\wsmprovhost.exe -Embedding`
		g.run(dst, dst.at(t, 500), proc{who: sess, image: `C:\Windows\System32\wsmprovhost.exe`, cmd: host, parent: `C:\Windows\System32\svchost.exe`, elevated: true, step: step, what: "wsmprovhost.exe"})
		rs := strings.Trim(strings.ToLower(randGUID(r)), "{}")
		dst.add(dst.at(t, 900), psc(400, "Available", "None", "ServerRemoteHost", host, rs), step, "PowerShell engine started (remote host)")
		inner := script
		if i := strings.Index(script, "{"); i >= 0 {
			inner = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(script[i+1:]), "}"))
		}
		dst.add(dst.at(t, 1000), pso4104(g.s.SID(acct), inner, strings.Trim(strings.ToLower(randGUID(r)), "{}")), step, "script block on destination")
		dst.add(dst.at(t, 8*sec), psc(403, "Stopped", "Available", "ServerRemoteHost", host, rs), "", "")
		g.netLogoff(dst, t, sess, 9)
	case "dcom":
		payload := e.Payload
		if payload == "" {
			payload = `C:\Windows\System32\cmd.exe /c whoami`
		}
		script := e.Command
		if script == "" {
			script = fmt.Sprintf(`$c = [activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application","%s")); $c.Document.ActiveView.ExecuteShellCommand("cmd.exe",$null,"/c %s","7")`, dstName, strings.TrimPrefix(payload, `C:\Windows\System32\cmd.exe /c `))
		}
		if src != nil {
			ps := `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
			tool = ps
			src.add(src.at(t, 0), pso4104(g.s.SID(srcUser), script, strings.Trim(strings.ToLower(randGUID(r)), "{}")), step, "script block dcom")
			g.netFlow(src, t, srcSess, ps, dstIP, dst.h, 135, lg.port, step)
			g.netFlow(src, t.Add(200*time.Millisecond), srcSess, ps, dstIP, dst.h, uint16(49152+r.IntN(16000)), "", step)
		}
		g.inbound(dst, t, 135, srcIP, lg.port, step)
		g.netLogon(dst, t, lg, admin, step)
		mpid := g.run(dst, dst.at(t, 700), proc{who: sess, image: `C:\Windows\System32\mmc.exe`, cmd: `"C:\Windows\system32\mmc.exe" -Embedding`, parent: `C:\Windows\System32\svchost.exe`, elevated: true, step: step, what: "mmc.exe -Embedding"})
		g.run(dst, dst.at(t, 1500), proc{who: sess, image: exeOf(payload), cmd: payload, parent: `C:\Windows\System32\mmc.exe`, ppid: mpid, elevated: true, step: step, what: "payload child of mmc.exe"})
		g.netLogoff(dst, t, sess, 20)
	case "rdp":
		target := e.Target
		if target == "" {
			target = dstName
		}
		rport := dst.port() // the client's port of the RDP connection
		if src != nil {
			mstsc := `C:\Windows\System32\mstsc.exe`
			tool = mstsc
			cmd := e.Command
			if cmd == "" {
				cmd = "mstsc.exe /v:" + target
			}
			g.run(src, src.at(t, -3*sec), proc{who: srcSess, image: mstsc, cmd: cmd, parent: `C:\Windows\explorer.exe`, step: step, what: "mstsc started", ui: true})
			src.add(src.at(t, -2*sec), rdpc(1024, g.s.SID(srcUser), "Server Name", target), step, "RDP client: server name")
			src.add(src.at(t, -1500), rdpc(1102, g.s.SID(srcUser), "ServerAddress", dstIP), step, "RDP client: server address")
			src.add(src.at(t, -1*sec), sec4648(srcSess, nullGUID, acct.Name(), acct.Domain(), guid, target, "TERMSRV/"+target, uint64(src.pid()), mstsc, "-", "-"), step, "explicit credentials for TERMSRV")
			g.netFlow(src, t, srcSess, mstsc, dstIP, dst.h, 3389, rport, step)
			if u := src.reg.user(srcUser.Name()); u != nil {
				lw := src.at(t, 5*sec)
				u.Path(`Software\Microsoft\Terminal Server Client\Default`, lw).Set(stringValue("MRU0", target))
				u.Path(`Software\Microsoft\Terminal Server Client\Servers\`+target, lw).Set(stringValue("UsernameHint", e.Account))
				docs := `C:\Users\` + srcUser.Name() + `\Documents\Default.rdp`
				src.file("file", docs, lw, artifacts.DefaultRDP(target, e.Account), step, "Default.rdp")
				src.jumpMstsc(srcUser, target, lw, step)
			}
		}
		// The TCP connection, NLA pre-authentication, then the interactive logon.
		g.inbound(dst, t, 3389, srcIP, rport, step)
		dst.add(dst.at(t, 60), rct131(srcIP, rport, randGUID(r)), step, "RDP connection accepted (RdpCoreTS 131)")
		g.netLogon(dst, t, lg, false, step)
		dst.add(dst.at(t, 200), rcm1149(acct.Name(), acct.Domain(), srcIP), step, "RDP authentication succeeded")
		L10 := dst.newLogonID()
		s10 := g.userPrincipal(acct, L10)
		dst.add(dst.at(t, 2*sec), sec4624(logon{subject: g.machine(dst.h), target: s10, logonType: 10, process: "User32 ", pkg: "Negotiate",
			workstation: dstName, guid: guid, pid: uint64(dst.pid()), processName: `C:\Windows\System32\svchost.exe`,
			ip: srcIP, port: rport, elevated: admin, restricted: "%%1843", impersonation: "%%1833"}), step, "logon type 10")
		if admin {
			dst.add(dst.at(t, 2*sec+1), sec4672(s10), step, "special privileges")
		}
		session := uint32(2 + r.IntN(3))
		dst.add(dst.at(t, 2500), lsm(21, e.Account, session, srcIP), step, "session logon")
		dst.add(dst.at(t, 2700), lsm(22, e.Account, session, srcIP), step, "shell start")
		if off := time.Duration(e.Disconnect); off > 0 || src == nil {
			if off == 0 {
				off = 40 * time.Minute
			}
			client := "-" // an unknown source's computer name is not known
			if src != nil {
				client = srcName
			}
			rdpSession := fmt.Sprintf("RDP-Tcp#%d", r.IntN(20))
			ms := int(off / time.Millisecond)
			dst.add(dst.at(t, ms), lsm(24, e.Account, session, srcIP), step, "session disconnected")
			dst.add(dst.at(t, ms+5), sec4778(4779, s10, rdpSession, client, srcIP), step, "session disconnected (4779)")
			dst.add(dst.at(t, ms+60*sec), sec4778(4778, s10, rdpSession, client, srcIP), step, "session reconnected (4778)")
			dst.add(dst.at(t, ms+60*sec+5), lsm(25, e.Account, session, srcIP), step, "session reconnected")
		}
		g.run(dst, dst.at(t, 3*sec), proc{who: s10, image: `C:\Windows\System32\rdpclip.exe`, cmd: "rdpclip", parent: `C:\Windows\System32\svchost.exe`, step: "", what: ""})
	}
	_ = tool
	return nil
}

func isLoopback(ip string) bool { return strings.HasPrefix(ip, "127.") || ip == "::1" }

// path1 quotes nothing; it exists so copies read naturally.
func path1(p string) string { return p }

func (g *gen) dcState() *hostState {
	if g.dc == nil {
		return nil
	}
	return g.host(g.dc.Name)
}

// clientStart writes the source side of a network technique: explicit
// credentials (4648), the client process and its connection.
func (g *gen) clientStart(src *hostState, e *Edge, t time.Time, sess principal, cmd, dstIP string, dst *Host, port uint16, srcPort, step string) uint32 {
	img := exeOf(cmd)
	pid := g.run(src, src.at(t, -1*sec), proc{who: sess, image: img, cmd: cmd, parent: `C:\Windows\System32\cmd.exe`, elevated: true, step: step, what: "client command line"})
	if e.Authentication == "explicit-credentials" {
		acct := g.s.User(e.Account)
		src.add(src.at(t, -500), sec4648(sess, nullGUID, acct.Name(), acct.Domain(), nullGUID, strings.ToUpper(dst.Name), strings.ToUpper(dst.Name), uint64(pid), img, "-", "-"), step, "explicit credentials (4648)")
	}
	g.netFlow(src, t, sess, img, dstIP, dst, port, srcPort, step)
	return pid
}

// netFlow is the source's record of its connection: Sysmon 3 when Sysmon
// runs there, 5156 when the host audits the filtering platform. SMB is
// attributed to System, as the kernel owns it. srcPort is the client port
// the destination's logon shows ("" picks one).
func (g *gen) netFlow(src *hostState, t time.Time, sess principal, image, dstIP string, dst *Host, port uint16, srcPort, step string) {
	if !src.h.Sysmon && !src.h.audits(AuditWFP) {
		return
	}
	if srcPort == "" {
		srcPort = src.port()
	}
	sp, _ := strconv.ParseUint(srcPort, 10, 16)
	user := sess.qualified()
	pid := uint32(0)
	if port == 445 {
		image, user, pid = "System", `NT AUTHORITY\SYSTEM`, 4
	} else {
		pid = src.pid()
	}
	tm := src.at(t, -200)
	what := fmt.Sprintf("connection to %s:%d", dst.Name, port)
	if src.h.Sysmon {
		src.add(tm, sm3(tm, randGUID(src.rng), pid, image, user, true, src.h.AddressAt(t), g.s.FQDN(src.h), uint16(sp),
			dstIP, g.s.FQDN(dst), port), step, what)
	}
	if src.h.audits(AuditWFP) {
		src.add(tm+1, sec5156(uint64(pid), image, false, src.h.AddressAt(t), srcPort, dstIP, fmt.Sprint(port)), step, what+" (5156)")
	}
}

// inbound is the destination's 5156 of the connection it accepted, when it
// audits the filtering platform. Listeners: the kernel (System) for SMB
// and HTTP.sys (WinRM), svchost.exe for RPC and RDP.
func (g *gen) inbound(dst *hostState, t time.Time, port uint16, srcIP, srcPort, step string) {
	if !dst.h.audits(AuditWFP) || srcIP == "" {
		return
	}
	image, pid := "System", uint64(4)
	switch port {
	case 135:
		image, pid = `C:\Windows\System32\svchost.exe`, 920
	case 3389:
		image, pid = `C:\Windows\System32\svchost.exe`, 1168
	}
	local := dst.h.AddressAt(t)
	if isLoopback(srcIP) {
		local = srcIP
	}
	dst.add(dst.at(t, 50), sec5156(pid, image, true, local, fmt.Sprint(port), srcIP, srcPort), step, fmt.Sprintf("connection from %s to port %d accepted (5156)", srcIP, port))
}

func (g *gen) netLogon(dst *hostState, t time.Time, lg logon, admin bool, step string) {
	dst.add(dst.at(t, 100), sec4624(lg), step, fmt.Sprintf("logon type %d %s from %s", lg.logonType, lg.pkg, lg.ip))
	if admin {
		dst.add(dst.at(t, 101), sec4672(lg.target), step, "special privileges")
	}
}

func (g *gen) netLogoff(dst *hostState, t time.Time, p principal, after int) {
	dst.add(dst.at(t, after*sec), sec4634(p, 3), "", "")
}

// taskFile is the task as schtasks registers it (forge/artifacts'
// TaskXML): times in the host's local zone, a boot or daily trigger whose
// StartBoundary is the registration minute.
func (g *gen) taskFile(h *Host, t time.Time, author string, tk *Task, runAs string) []byte {
	reg := event.FromTime(t.Add(time.Duration(h.ClockOffset)))
	minute := event.FromTime(t.Add(time.Duration(h.ClockOffset)).Truncate(time.Minute))
	trigger := artifacts.Trigger{Kind: artifacts.BootTrigger, Start: minute}
	if tk.Trigger == "daily" {
		trigger.Kind = artifacts.CalendarTrigger
	}
	user, logonType := "S-1-5-18", ""
	if runAs != "SYSTEM" {
		user, logonType = runAs, "Password"
		if u := g.s.User(runAs); u != nil {
			user = u.Account
		}
	}
	command, args := splitCommand(tk.Command)
	return artifacts.TaskXML(artifacts.Task{URI: tk.Name, Author: author, Date: reg, Zone: location(h.TimeZone),
		Triggers: []artifacts.Trigger{trigger}, UserID: user, LogonType: logonType, Command: command, Arguments: args})
}

// splitCommand splits a command line into the program (unquoted) and its
// arguments, as the task's Exec element keeps them.
func splitCommand(cmd string) (string, string) {
	cmd = strings.TrimSpace(cmd)
	if strings.HasPrefix(cmd, `"`) {
		if prog, rest, ok := strings.Cut(cmd[1:], `"`); ok {
			return prog, strings.TrimSpace(rest)
		}
	}
	prog, args, _ := strings.Cut(cmd, " ")
	return prog, strings.TrimSpace(args)
}

// utf16Text decodes UTF-16LE (with or without a byte-order mark): the 4698
// TaskContent is the task file's text, CRLF line ends included.
func utf16Text(b []byte) string {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe {
		b = b[2:]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}
