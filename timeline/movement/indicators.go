package movement

import (
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Indicator is one event that shows a technique on one side, whether or
// not it became part of an edge (standalone logs rarely hold both sides).
type Indicator struct {
	Host      string         `json:"host"`
	Technique string         `json:"technique"`
	Side      string         `json:"side"` // destination or source
	EventID   int64          `json:"event_id"`
	Time      event.FileTime `json:"time"`
	Rule      string         `json:"rule"`
}

// destIndicator classifies a single destination-side event (§5).
func destIndicator(e *ev) (string, string) {
	if e.Artifact != "evtx" {
		return "", ""
	}
	switch e.Type {
	case "7045", "4697":
		img := e.s("image_path")
		if img == "" {
			img = e.s("data.ServiceFileName")
		}
		if psexecName.MatchString(e.s("service_name")) || psexecName.MatchString(img) {
			return PsExec, "service install (psexec-style)"
		}
		return RemoteService, "service install"
	case "5145", "5140":
		share := strings.ToUpper(e.s("share_name"))
		rel := strings.ToLower(e.s("relative_target"))
		switch {
		case strings.Contains(rel, "psexesvc") || strings.Contains(rel, "remcom") || strings.Contains(rel, "-stdin") || strings.Contains(rel, "-stdout"),
			strings.HasSuffix(share, `\ADMIN$`) && strings.HasSuffix(rel, ".exe"):
			return PsExec, "psexec pipe"
		case rel == "svcctl":
			return RemoteService, "IPC$ svcctl"
		case rel == "atsvc":
			return ScheduledTask, "IPC$ atsvc"
		case strings.HasSuffix(share, `\C$`) || strings.HasSuffix(share, `\ADMIN$`):
			return AdminShare, "admin share access"
		}
	case "4688", "1":
		proc := strings.ToLower(e.s("process"))
		parent := strings.ToLower(e.s("parent_process"))
		cmd := strings.ToLower(e.s("command_line"))
		switch {
		case strings.HasSuffix(parent, `\wmiprvse.exe`):
			return WMI, "child of WmiPrvSE"
		case strings.HasSuffix(proc, `\wsmprovhost.exe`) || strings.HasSuffix(proc, `\winrshost.exe`) ||
			strings.HasSuffix(parent, `\wsmprovhost.exe`) || strings.HasSuffix(parent, `\winrshost.exe`):
			return WinRM, "WinRM host process"
		case strings.HasSuffix(proc, `\mmc.exe`) && strings.Contains(cmd, "-embedding"), strings.HasSuffix(parent, `\mmc.exe`):
			return DCOM, "mmc DCOM"
		case strings.HasSuffix(parent, `\psexesvc.exe`) || strings.HasSuffix(proc, `\psexesvc.exe`):
			return PsExec, "PSEXESVC process"
		}
	case "91", "169":
		if strings.Contains(strings.ToLower(e.s("provider")), "winrm") {
			return WinRM, "WinRM shell/authentication"
		}
	case "10016":
		for k, v := range e.F {
			if strings.HasPrefix(k, "data.") && strings.EqualFold(strings.TrimSpace(str(v)), "Remote") {
				return DCOM, "DCOM remote launch denied"
			}
		}
	case "4698", "4702":
		return ScheduledTask, "task registered/updated"
	case "4624":
		if lt := e.n("logon_type"); lt == 10 || lt == 12 {
			return RDP, "remote interactive logon"
		}
	case "1149", "131":
		return RDP, "RDP connection"
	case "21", "25":
		if a := e.s("src_ip"); a != "" {
			return RDP, "RDP session"
		}
	}
	return "", ""
}

func indicatorsOf(evs []*ev, inds []*indicator) []Indicator {
	var out []Indicator
	for _, e := range evs {
		if tech, rule := destIndicator(e); tech != "" {
			out = append(out, Indicator{Host: e.Host, Technique: tech, Side: "destination", EventID: e.ID, Time: e.TS, Rule: rule})
		}
	}
	for _, in := range inds {
		if in.tech != "" {
			out = append(out, Indicator{Host: in.host, Technique: in.tech, Side: "source", EventID: in.e.ID, Time: in.e.TS, Rule: in.rule})
		}
	}
	return out
}
