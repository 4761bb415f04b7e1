package scenario

import (
	"fmt"
	"strings"
	"time"
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
			g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 445, step)
		}
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
			g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 135, step)
		}
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
			cpid = g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 445, step)
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
		g.netLogon(dst, t, lg, admin, step)
		dst.add(dst.at(t, 300), sec5140(sess, srcIP, lg.port, `\\*\ADMIN$`, `\??\C:\Windows`), step, "ADMIN$ opened")
		dst.add(dst.at(t, 350), sec5145(sess, srcIP, lg.port, `\\*\ADMIN$`, `\??\C:\Windows`, svc+".exe", 0x2, "%%4417\n\t\t\t\t"), step, svc+".exe written")
		dst.file("file", `C:\Windows\`+svc+".exe", dst.at(t, 400), content("PSEXESVC.exe", 389120), step, "service binary")
		dst.add(dst.at(t, 500), sec5145(sess, srcIP, lg.port, `\\*\IPC$`, "", "svcctl", 0x3, "%%4416\n\t\t\t\t%%4417\n\t\t\t\t"), step, "svcctl pipe")
		dst.add(dst.at(t, 600), sys7045(sess.sid, svc, `%SystemRoot%\`+svc+".exe", "demand start", "LocalSystem"), step, "service installed")
		dst.add(dst.at(t, 600), sec4697(sess, svc, `%SystemRoot%\`+svc+".exe", 3, "LocalSystem"), step, "service installed (Security)")
		dst.reg.service(svc, `%SystemRoot%\`+svc+".exe", 3, "", dst.at(t, 600))
		dst.add(dst.at(t, 800), sys7036(svc, svc, "running", 4), step, "service running")
		keyName := fmt.Sprintf(`C:\Windows\PSEXEC-%s-%08X.key`, srcName, r.Uint32())
		dst.file("file", keyName, dst.at(t, 900), content(keyName, 1024), step, "PsExec key file")
		spid := g.run(dst, dst.at(t, 850), proc{who: g.machine(dst.h), image: `C:\Windows\` + svc + ".exe", cmd: `C:\Windows\` + svc + ".exe",
			parent: `C:\Windows\System32\services.exe`, step: step, what: svc + " started by services.exe"})
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
			g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 445, step)
			g.run(src, src.at(t, 3*sec), proc{who: srcSess, image: tool, cmd: fmt.Sprintf(`sc \\%s start %s`, dstName, sv.Name), parent: `C:\Windows\System32\cmd.exe`, elevated: true, step: step, what: "sc start"})
			g.run(src, src.at(t, 9*sec), proc{who: srcSess, image: tool, cmd: fmt.Sprintf(`sc \\%s delete %s`, dstName, sv.Name), parent: `C:\Windows\System32\cmd.exe`, elevated: true, step: step, what: "sc delete"})
		}
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
			g.clientStart(src, e, t, srcSess, cmd, dstIP, dst.h, 135, step)
			g.run(src, src.at(t, 20*sec), proc{who: srcSess, image: tool, cmd: fmt.Sprintf(`schtasks /run /s %s /u %s /p ******** /tn "%s"`, dstName, e.Account, tk.Name), parent: `C:\Windows\System32\cmd.exe`, step: step, what: "schtasks /run"})
		}
		g.netLogon(dst, t, lg, admin, step)
		xml := taskXML(g.s, dst.h, t, e.Account, tk, runAs)
		dst.add(dst.at(t, 500), sec4698(sess, tk.Name, xml), step, "task registered (Security)")
		dst.add(dst.at(t, 510), ts106(tk.Name, e.Account), step, "task registered")
		dst.file("file", `C:\Windows\System32\Tasks`+tk.Name, dst.at(t, 520), utf16BOM(xml), step, "task XML")
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
			g.netFlow(src, t, srcSess, ps, dstIP, dst.h, 5985, step)
		}
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
			g.netFlow(src, t, srcSess, ps, dstIP, dst.h, 135, step)
			g.netFlow(src, t.Add(200*time.Millisecond), srcSess, ps, dstIP, dst.h, uint16(49152+r.IntN(16000)), step)
		}
		g.netLogon(dst, t, lg, admin, step)
		mpid := g.run(dst, dst.at(t, 700), proc{who: sess, image: `C:\Windows\System32\mmc.exe`, cmd: `"C:\Windows\system32\mmc.exe" -Embedding`, parent: `C:\Windows\System32\svchost.exe`, elevated: true, step: step, what: "mmc.exe -Embedding"})
		g.run(dst, dst.at(t, 1500), proc{who: sess, image: exeOf(payload), cmd: payload, parent: `C:\Windows\System32\mmc.exe`, ppid: mpid, elevated: true, step: step, what: "payload child of mmc.exe"})
		g.netLogoff(dst, t, sess, 20)
	case "rdp":
		target := e.Target
		if target == "" {
			target = dstName
		}
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
			g.netFlow(src, t, srcSess, mstsc, dstIP, dst.h, 3389, step)
			if u := src.reg.user(srcUser.Name()); u != nil {
				lw := src.at(t, 5*sec)
				u.Path(`Software\Microsoft\Terminal Server Client\Default`, lw).Set(stringValue("MRU0", target))
				u.Path(`Software\Microsoft\Terminal Server Client\Servers\`+target, lw).Set(stringValue("UsernameHint", e.Account))
				docs := `C:\Users\` + srcUser.Name() + `\Documents\Default.rdp`
				src.file("file", docs, lw, utf16BOM(defaultRDP(target, e.Account)), step, "Default.rdp")
				src.jumpMstsc(srcUser, target, lw, step)
			}
		}
		// NLA pre-authentication, then the interactive logon.
		g.netLogon(dst, t, lg, false, step)
		dst.add(dst.at(t, 200), rcm1149(acct.Name(), acct.Domain(), srcIP), step, "RDP authentication succeeded")
		L10 := dst.newLogonID()
		s10 := g.userPrincipal(acct, L10)
		rport := dst.port()
		dst.add(dst.at(t, 2*sec), sec4624(logon{subject: g.machine(dst.h), target: s10, logonType: 10, process: "User32 ", pkg: "Negotiate",
			workstation: dstName, guid: guid, pid: uint64(dst.pid()), processName: `C:\Windows\System32\svchost.exe`,
			ip: srcIP, port: rport, elevated: admin, restricted: "%%1843", impersonation: "%%1833"}), step, "logon type 10")
		if admin {
			dst.add(dst.at(t, 2*sec+1), sec4672(s10), step, "special privileges")
		}
		session := uint32(2 + r.IntN(3))
		dst.add(dst.at(t, 2500), lsm(21, e.Account, session, srcIP), step, "session logon")
		dst.add(dst.at(t, 2700), lsm(22, e.Account, session, srcIP), step, "shell start")
		if src == nil {
			dst.add(dst.at(t, 40*60*sec), lsm(24, e.Account, session, srcIP), step, "session disconnected")
			dst.add(dst.at(t, 41*60*sec), lsm(25, e.Account, session, srcIP), step, "session reconnected")
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
func (g *gen) clientStart(src *hostState, e *Edge, t time.Time, sess principal, cmd, dstIP string, dst *Host, port uint16, step string) uint32 {
	img := exeOf(cmd)
	pid := g.run(src, src.at(t, -1*sec), proc{who: sess, image: img, cmd: cmd, parent: `C:\Windows\System32\cmd.exe`, elevated: true, step: step, what: "client command line"})
	if e.Authentication == "explicit-credentials" {
		acct := g.s.User(e.Account)
		src.add(src.at(t, -500), sec4648(sess, nullGUID, acct.Name(), acct.Domain(), nullGUID, strings.ToUpper(dst.Name), strings.ToUpper(dst.Name), uint64(pid), img, "-", "-"), step, "explicit credentials (4648)")
	}
	g.netFlow(src, t, sess, img, dstIP, dst, port, step)
	return pid
}

// netFlow is the source's Sysmon 3 (when Sysmon runs there). SMB is
// attributed to System, as the kernel owns it.
func (g *gen) netFlow(src *hostState, t time.Time, sess principal, image, dstIP string, dst *Host, port uint16, step string) {
	if !src.h.Sysmon {
		return
	}
	user := sess.qualified()
	pid := uint32(0)
	if port == 445 {
		image, user, pid = "System", `NT AUTHORITY\SYSTEM`, 4
	} else {
		pid = src.pid()
	}
	tm := src.at(t, -200)
	src.add(tm, sm3(tm, randGUID(src.rng), pid, image, user, true, src.h.AddressAt(t), g.s.FQDN(src.h), uint16(49152+src.rng.IntN(16000)),
		dstIP, g.s.FQDN(dst), port), step, fmt.Sprintf("connection to %s:%d", dst.Name, port))
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

func taskXML(s *Scenario, h *Host, t time.Time, author string, tk *Task, runAs string) string {
	// Task Scheduler writes these two times in the host's local time,
	// without a zone.
	local := t.Add(time.Duration(h.ClockOffset)).In(location(h.TimeZone)).Format("2006-01-02T15:04:05")
	user := "S-1-5-18"
	if runAs != "SYSTEM" {
		if u := s.User(runAs); u != nil {
			user = s.SID(u)
		}
	}
	trigger := "    <BootTrigger>\n      <Enabled>true</Enabled>\n    </BootTrigger>\n"
	if tk.Trigger == "daily" {
		trigger = "    <CalendarTrigger>\n      <StartBoundary>" + local + "</StartBoundary>\n      <Enabled>true</Enabled>\n      <ScheduleByDay>\n        <DaysInterval>1</DaysInterval>\n      </ScheduleByDay>\n    </CalendarTrigger>\n"
	}
	command, args, _ := strings.Cut(tk.Command, " ")
	argEl := ""
	if args != "" {
		argEl = "      <Arguments>" + xmlEscape(args) + "</Arguments>\n"
	}
	return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Date>` + local + `</Date>
    <Author>` + xmlEscape(author) + `</Author>
    <URI>` + xmlEscape(tk.Name) + `</URI>
  </RegistrationInfo>
  <Triggers>
` + trigger + `  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>` + user + `</UserId>
      <RunLevel>HighestAvailable</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>` + xmlEscape(command) + `</Command>
` + argEl + `    </Exec>
  </Actions>
</Task>`
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func utf16BOM(s string) []byte {
	return append([]byte{0xff, 0xfe}, utf16le(strings.ReplaceAll(s, "\n", "\r\n"))...)
}

func defaultRDP(target, user string) string {
	return "screen mode id:i:2\nuse multimon:i:0\ndesktopwidth:i:1920\ndesktopheight:i:1080\nsession bpp:i:32\ncompression:i:1\nkeyboardhook:i:2\naudiocapturemode:i:0\nvideoplaybackmode:i:1\nconnection type:i:7\nnetworkautodetect:i:1\nbandwidthautodetect:i:1\ndisplayconnectionbar:i:1\nusername:s:" + user + "\nenableworkspacereconnect:i:0\ndisable wallpaper:i:0\nallow font smoothing:i:0\nallow desktop composition:i:0\nfull address:s:" + target + "\naudiomode:i:0\nredirectprinters:i:1\nredirectclipboard:i:1\nautoreconnection enabled:i:1\nauthentication level:i:2\nprompt for credentials:i:0\nnegotiate security layer:i:1\nremoteapplicationmode:i:0\ngatewayusagemethod:i:4\npromptcredentialonce:i:0\nuse redirection server name:i:0\n"
}
