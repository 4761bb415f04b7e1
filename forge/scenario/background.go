package scenario

import (
	"fmt"
	"strings"
	"time"
)

// background gives a host ordinary activity around the story: boots,
// service and interactive logons, service state changes, scheduled
// maintenance, machine Kerberos traffic to the DC, program runs and (on
// file servers) ordinary share use. None of it is tagged as a key event.
func (g *gen) background(hs *hostState) {
	per := 120
	if g.s.Background != nil && g.s.Background.EventsPerDay > 0 {
		per = g.s.Background.EventsPerDay
	}
	r := g.rng("background", hs.h.Name)
	sys := g.machine(hs.h)
	var home []*User
	for i := range g.s.Users {
		if strings.EqualFold(g.s.Users[i].Home, hs.h.Name) {
			home = append(home, &g.s.Users[i])
		}
	}
	dc := g.dcState()
	realm := strings.ToUpper(g.s.Organisation.DNS)
	day := g.s.Start.Truncate(24 * time.Hour)
	services := []struct{ display, key string }{
		{"Windows Update", "wuauserv"}, {"Background Intelligent Transfer Service", "BITS"}, {"Windows Modules Installer", "TrustedInstaller"},
		{"Microsoft Store Install Service", "InstallService"}, {"Windows Error Reporting Service", "WerSvc"}, {"Delivery Optimization", "DoSvc"},
	}
	tasks := []string{`\Microsoft\Windows\UpdateOrchestrator\Schedule Scan`, `\Microsoft\Windows\Defrag\ScheduledDefrag`,
		`\Microsoft\Windows\Windows Defender\Windows Defender Scheduled Scan`, `\Microsoft\Windows\Diagnosis\Scheduled`}
	programs := []string{`C:\Program Files\Google\Chrome\Application\chrome.exe`, `C:\Windows\System32\notepad.exe`,
		`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`, `C:\Windows\explorer.exe`}
	if hs.h.Role != "workstation" {
		programs = []string{`C:\Windows\System32\svchost.exe`, `C:\Windows\System32\taskhostw.exe`, `C:\Windows\System32\conhost.exe`, `C:\Windows\System32\wbem\WmiPrvSE.exe`}
	}
	for ; day.Before(g.s.CollectedAt); day = day.Add(24 * time.Hour) {
		n := 0
		emit := func(t time.Time, f func(t time.Time)) {
			if t.Before(g.s.Start) || !t.Before(g.s.CollectedAt) {
				return
			}
			f(t)
			n++
		}
		// A boot each Sunday (and on the first day), with its service logons.
		if day.Weekday() == time.Sunday || day.Equal(g.s.Start.Truncate(24*time.Hour)) {
			emit(day.Add(4*time.Hour+time.Duration(r.IntN(3600))*time.Second), func(t time.Time) {
				at := hs.at(t, 0)
				hs.add(at, kernel12(at), "", "")
				for i, sv := range services[:3] {
					hs.add(hs.at(t, 20*sec+i*300), sys7036(sv.display, sv.key, "running", 4), "", "")
				}
			})
		}
		for tries := 0; n < per && tries < 4*per; tries++ {
			t := day.Add(time.Duration(r.IntN(86400)) * time.Second)
			switch k := r.IntN(10); {
			case k < 3:
				emit(t, func(t time.Time) {
					id := hs.newLogonID()
					p := principal{sid: sidSystem, name: "SYSTEM", domain: "NT AUTHORITY", logonID: id}
					hs.add(hs.at(t, 0), sec4624(logon{subject: sys, target: p, logonType: 5, process: "Advapi  ", pkg: "Negotiate",
						pid: 0x2b0, processName: `C:\Windows\System32\services.exe`, ip: "-", port: "-", elevated: true, impersonation: "%%1833"}), "", "")
					hs.add(hs.at(t, 1), sec4672(p), "", "")
				})
			case k < 5:
				sv := services[r.IntN(len(services))]
				emit(t, func(t time.Time) {
					hs.add(hs.at(t, 0), sys7036(sv.display, sv.key, "running", 4), "", "")
					hs.add(hs.at(t, 120*sec), sys7036(sv.display, sv.key, "stopped", 1), "", "")
				})
			case k < 6:
				name := tasks[r.IntN(len(tasks))]
				emit(t, func(t time.Time) {
					inst := randGUID(r)
					hs.add(hs.at(t, 0), ts200(name, `C:\Windows\system32\svchost.exe`, inst, uint32(1000+r.IntN(9000))), "", "")
					hs.add(hs.at(t, 30*sec), ts201(name, `C:\Windows\system32\svchost.exe`, inst, uint32(1000+r.IntN(9000))), "", "")
				})
			case k < 8:
				prog := programs[r.IntN(len(programs))]
				emit(t, func(t time.Time) {
					who := sys
					if len(home) > 0 && hs.h.Role == "workstation" {
						who = g.actor(hs, home[r.IntN(len(home))].Account)
					}
					g.run(hs, hs.at(t, 0), proc{who: who, image: prog, cmd: `"` + prog + `"`, parent: `C:\Windows\explorer.exe`})
				})
			case k < 9:
				// The machine's own Kerberos traffic: binds its address of the day
				// to its name on the DC.
				if dc == nil || dc == hs {
					emit(t, func(t time.Time) {
						hs.add(hs.at(t, 0), pso4104(sidSystem, "Get-Service | Where-Object Status -eq 'Running' | Select-Object -First 5", strings.Trim(strings.ToLower(randGUID(r)), "{}")), "", "")
					})
					continue
				}
				emit(t, func(t time.Time) {
					ip := hs.h.AddressAt(t)
					name := strings.ToUpper(hs.h.Name) + "$"
					sid := fmt.Sprintf("%s-%d", g.s.Organisation.SID, g.machineRID(hs.h))
					dc.add(dc.at(t, 0), sec4768(name, g.s.Organisation.Domain, sid, g.s.Organisation.SID+"-502", 0x12, ip, dc.port()), "", "")
					dc.add(dc.at(t, 20), sec4769(name, realm, strings.ToUpper(g.dc.Name)+"$", fmt.Sprintf("%s-%d", g.s.Organisation.SID, g.machineRID(g.dc)), 0x12, ip, dc.port(), randGUID(r)), "", "")
				})
			default:
				// Interactive work on workstations; elsewhere an admin check-in
				// shows up as a service logoff.
				if len(home) == 0 {
					emit(t, func(t time.Time) {
						hs.add(hs.at(t, 0), sec4634(principal{sid: sidSystem, name: "SYSTEM", domain: "NT AUTHORITY", logonID: hs.newLogonID()}, 5), "", "")
					})
					continue
				}
				u := home[r.IntN(len(home))]
				emit(t, func(t time.Time) {
					p := g.userPrincipal(u, hs.newLogonID())
					hs.add(hs.at(t, 0), sec4624(logon{subject: sys, target: p, logonType: 2, process: "User32 ", pkg: "Negotiate",
						workstation: strings.ToUpper(hs.h.Name), guid: randGUID(r), pid: 0x3a8, processName: `C:\Windows\System32\svchost.exe`,
						ip: "127.0.0.1", port: "0", impersonation: "%%1833"}), "", "")
					hs.add(hs.at(t, 9*3600*sec), sec4634(p, 2), "", "")
				})
			}
		}
	}
}
