package movement

import (
	"strings"
	"testing"
)

// mayTarget is only a pre-check: it must never reject a command line that
// commandTarget reads a target from.
func TestMayTargetKeepsEveryTarget(t *testing.T) {
	for _, c := range []struct{ cmd, tech, host string }{
		{`PsExec64.exe -accepteula \\FS01 -s cmd.exe`, PsExec, "FS01"},
		{`WMIC /NODE:"WS-DEV02" process call create "x.exe"`, WMI, "WS-DEV02"},
		{`schtasks /create /S BUILD01 /u CORP\svc /tn x /tr y`, ScheduledTask, "BUILD01"},
		{"schtasks /create /s\tBUILD01 /tn x /tr y", ScheduledTask, "BUILD01"},
		{"schtasks /create /s\nBUILD01 /tn x /tr y", ScheduledTask, "BUILD01"},
		{"schtasks /create /\u017f BUILD01 /tn x /tr y", ScheduledTask, "BUILD01"},
		{`sc \\BUILD01 create WinSvcUpd binPath= "cmd"`, RemoteService, "BUILD01"},
		{`Invoke-Command -ComputerName DC01 -ScriptBlock {whoami}`, WinRM, "DC01"},
		{`winrs -r:http://SRV1:5985 cmd`, WinRM, "SRV1"},
		{`winrs -remote:SRV1 cmd`, WinRM, "SRV1"},
		{`Invoke-WmiMethod -ComputerName SRV2 -Class Win32_Process -Name Create`, WMI, "SRV2"},
		{`[activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application","FS01"))`, DCOM, "FS01"},
		{`[type]::GETTYPEFROMCLSID("9BA05972-F6A8-11CF-A442-00A0C90A8F39","SRV3")`, DCOM, "SRV3"},
		{`mstsc.exe /V:DC01`, RDP, "DC01"},
		{`SharpRDP.exe computername=SRV4 command=calc`, RDP, "SRV4"},
		{`net use \\FS01\C$ /user:CORP\x`, AdminShare, "FS01"},
		{`cmd.exe /c copy a.exe \\WS-DEV02\C$\ProgramData\a.exe`, AdminShare, "WS-DEV02"},
	} {
		tech, host := commandTarget(c.cmd)
		if tech != c.tech || host != c.host {
			t.Errorf("commandTarget(%q) = %s %s, want %s %s", c.cmd, tech, host, c.tech, c.host)
		}
		if !mayTarget(c.cmd) {
			t.Errorf("mayTarget(%q) = false; commandTarget reads %s %s from it", c.cmd, tech, host)
		}
	}
	for _, cmd := range []string{`C:\Windows\system32\svchost.exe -k netsvcs -p -s wuauserv`, `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer`, ``} {
		if mayTarget(cmd) {
			t.Errorf("mayTarget(%q) = true", cmd)
		}
	}
}

// FuzzMayTarget: the pre-check never hides a target commandTarget finds.
func FuzzMayTarget(f *testing.F) {
	for _, s := range []string{`psexec \\h cmd`, `wmic /NODE:h process`, "schtasks /S\th", `winrs -R:h x`, `mstsc /V:h`,
		`GetTypeFromProgID("a","h")`, `Invoke-Command -ComputerName h`, `SharpRDP computername=h`, `net use \\h\c$`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		if tech, host := commandTarget(cmd); tech != "" && !mayTarget(cmd) {
			t.Fatalf("commandTarget(%q) = %s %s but mayTarget says no", cmd, tech, host)
		}
	})
}

// FuzzCommandParts: splitting and reading paths from any command line
// never panics, and the executable is a normalised path.
func FuzzCommandParts(f *testing.F) {
	for _, s := range []string{`"C:\Program Files\x.exe" -a "C:\b c\d.txt"`, `%COMSPEC% /Q /c copy \\FS01\C$\a.dll C:\b.dll`, `"`, `\\h\admin$\x`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		exe, _ := splitCommand(cmd)
		if exe != strings.ToLower(exe) && !strings.HasPrefix(exe, `\\`) {
			// NormalizePath lower-cases everything it returns.
			t.Fatalf("splitCommand(%q) executable %q not normalised", cmd, exe)
		}
		for _, p := range commandPaths(cmd) {
			if p == "" {
				t.Fatalf("commandPaths(%q) returned an empty path", cmd)
			}
		}
		logonID(cmd)
	})
}
