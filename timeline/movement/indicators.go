package movement

import (
	"regexp"
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

// finding is one technique an event shows, on one side.
type finding struct {
	tech, side, rule string
}

func dest(tech, rule string) finding { return finding{tech, "destination", rule} }

// fromProvider reports whether the event's provider name contains p: event
// ids are only unique within a provider (Sysmon 21 is a WMI binding, LSM 21
// a session logon; System 104 is a cleared log, RdpCoreTS 104 a client
// time zone).
func fromProvider(e *ev, p string) bool {
	return strings.Contains(strings.ToLower(e.s("provider")), p)
}

func baseName(p string) string {
	p = strings.ToLower(strings.TrimSpace(strings.Trim(p, `"`)))
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// dcomServers are the executables that known DCOM lateral-movement
// objects start or run in: MMC20.Application (mmc), Excel/Word/Outlook/
// PowerPoint/Visio automation, htafile (mshta, LethalHTA),
// InternetExplorer.Application, ShellWindows/ShellBrowserWindow (the
// existing explorer).
var dcomServers = map[string]bool{
	"mmc.exe": true, "excel.exe": true, "winword.exe": true, "outlook.exe": true, "powerpnt.exe": true,
	"visio.exe": true, "mshta.exe": true, "iexplore.exe": true, "explorer.exe": true,
}

// dcomLaunch: a DCOM server process started for a client (-Embedding or
// /automation). Explorer is never launched that way: it is already running.
func dcomLaunch(proc, cmd string) bool {
	b := baseName(proc)
	if !dcomServers[b] || b == "explorer.exe" {
		return false
	}
	cmd = strings.ToLower(cmd)
	return strings.Contains(cmd, "-embedding") || strings.Contains(cmd, "/automation")
}

var (
	// PsExec's service pipe and its per-client pipes
	// <service>-<client host>-<client pid>-stdin|stdout|stderr (the service
	// name changes with -r), and RemCom's (Impacket psexec).
	psexecPipe = regexp.MustCompile(`(?i)(psexesvc|remcom|-[a-z0-9_.\-]+-\d+-(stdin|stdout|stderr)$)`)
	// PsExec ≥ 2.30 leaves C:\Windows\PSEXEC-<client host>-<8 hex>.key.
	psexecKey = regexp.MustCompile(`(?i)\\psexec-[a-z0-9_.\-]+-[0-9a-f]{8}\.key$`)
	// netsh interface portproxy add v4tov4 ... connectport=3389; netsh
	// accepts any unambiguous prefix of each word ("i p a v ... connectp=").
	rdpPortProxy = regexp.MustCompile(`(?i)\s(i|in|int|inte|inter|interf|interfa|interfac|interface)\s+p[a-z]*\s+a[a-z]*\s+v[a-z0-9]*\s.*\bconnectp[a-z]*=\s*3389\b`)
)

// conn is a network connection event (Sysmon 3 or Security 5156) seen from
// the recording host: the local and remote ends and the direction.
type conn struct {
	localIP, remoteIP     string
	localPort, remotePort int64
	outbound              bool
}

// servicePorts are listening ports that identify the service side of a
// connection when Sysmon writes an inbound connection with the remote peer
// as Source (builds differ).
var servicePorts = map[int64]bool{135: true, 139: true, 445: true, 3389: true, 5985: true, 5986: true}

// connOf reads a Sysmon 3 or 5156 event. 5156 writes the local end as
// Source in both directions; Sysmon writes Source as the local end for
// outbound connections, and for inbound ones either way round, so the
// service port decides.
func connOf(e *ev) (conn, bool) {
	if e.Artifact != "evtx" {
		return conn{}, false
	}
	src, dst := normIP(e.s("src_ip")), normIP(e.s("dst_ip"))
	sp, dp := e.n("src_port"), e.n("dst_port")
	if src == "" || dst == "" {
		return conn{}, false
	}
	switch {
	case e.Type == "3" && fromProvider(e, "sysmon"):
		if strings.EqualFold(e.s("data.Initiated"), "true") {
			return conn{src, dst, sp, dp, true}, true
		}
		if servicePorts[dp] && !servicePorts[sp] {
			return conn{dst, src, dp, sp, false}, true
		}
		return conn{src, dst, sp, dp, false}, true
	case e.Type == "5156" && fromProvider(e, "security"):
		switch d := strings.ToLower(e.s("data.Direction")); {
		case d == "%%14593" || d == "outbound":
			return conn{src, dst, sp, dp, true}, true
		case d == "%%14592" || d == "inbound":
			return conn{src, dst, sp, dp, false}, true
		}
	}
	return conn{}, false
}

// procIndex resolves a process creation's parent image when the event does
// not name it (4688 before Windows 10 has no ParentProcessName; Sysmon
// writes "?" when it missed the parent's start), from the creator's process
// id and the latest earlier creation of that id on the same host.
type procIndex struct {
	parent map[*ev]string
}

func indexProcesses(evs []*ev) *procIndex {
	px := &procIndex{parent: map[*ev]string{}}
	type hostPID struct {
		host string
		pid  int64
	}
	images := map[hostPID]string{}
	for _, e := range evs {
		if e.Artifact != "evtx" || (e.Type != "4688" && e.Type != "1") {
			continue
		}
		if p := e.s("parent_process"); p == "" || p == "?" {
			ppid := e.n("data.ProcessId") // 4688: the creator's id
			if e.Type == "1" {
				ppid = e.n("data.ParentProcessId")
			}
			if img, ok := images[hostPID{e.Host, ppid}]; ok && ppid != 0 {
				px.parent[e] = img
			}
		}
		if pid := e.n("process_id"); pid != 0 && e.s("process") != "" {
			images[hostPID{e.Host, pid}] = e.s("process")
		}
	}
	return px
}

// parentOf is the event's parent image, named or resolved.
func (px *procIndex) parentOf(e *ev) string {
	if p := e.s("parent_process"); p != "" && p != "?" {
		return p
	}
	if px == nil {
		return ""
	}
	return px.parent[e]
}

// eventFindings classifies a single event (lateral-movement.md §5 and
// well-known DFIR practice): which technique it shows, on which side.
func eventFindings(e *ev, px *procIndex) []finding {
	if e.Artifact != "evtx" {
		return nil
	}
	switch e.Type {
	case "7045", "4697":
		img := e.s("image_path")
		if img == "" {
			img = e.s("data.ServiceFileName")
		}
		if psexecName.MatchString(e.s("service_name")) || psexecName.MatchString(img) {
			return []finding{dest(PsExec, "service install (psexec-style)")}
		}
		return []finding{dest(RemoteService, "service install")}
	case "5145", "5140":
		share := strings.ToUpper(e.s("share_name"))
		rel := strings.ToLower(e.s("relative_target"))
		switch {
		case psexecPipe.MatchString(rel),
			strings.HasSuffix(share, `\ADMIN$`) && strings.HasSuffix(rel, ".exe"):
			return []finding{dest(PsExec, "psexec pipe")}
		case rel == "svcctl":
			return []finding{dest(RemoteService, "IPC$ svcctl")}
		case rel == "atsvc":
			return []finding{dest(ScheduledTask, "IPC$ atsvc")}
		case strings.HasSuffix(share, `\C$`) || strings.HasSuffix(share, `\ADMIN$`):
			return []finding{dest(AdminShare, "admin share access")}
		}
	case "4688", "1":
		if e.Type == "1" && !fromProvider(e, "sysmon") {
			return nil
		}
		proc := strings.ToLower(e.s("process"))
		parent := strings.ToLower(px.parentOf(e))
		cmd := strings.ToLower(e.s("command_line"))
		switch {
		case strings.HasSuffix(parent, `\wmiprvse.exe`):
			return []finding{dest(WMI, "child of WmiPrvSE")}
		case strings.HasSuffix(proc, `\wsmprovhost.exe`) || strings.HasSuffix(proc, `\winrshost.exe`) ||
			strings.HasSuffix(parent, `\wsmprovhost.exe`) || strings.HasSuffix(parent, `\winrshost.exe`):
			return []finding{dest(WinRM, "WinRM host process")}
		case dcomLaunch(proc, cmd):
			return []finding{dest(DCOM, "DCOM server process "+baseName(proc)+" -Embedding")}
		case strings.HasSuffix(parent, `\mmc.exe`):
			return []finding{dest(DCOM, "child of mmc")}
		case strings.HasSuffix(parent, `\psexesvc.exe`) || strings.HasSuffix(proc, `\psexesvc.exe`):
			return []finding{dest(PsExec, "PSEXESVC process")}
		case strings.HasPrefix(proc, `\\tsclient\`):
			// Drive redirection: the program sits on the RDP client's disk.
			return []finding{dest(RDP, `program run from the RDP client's drive (\\tsclient)`)}
		case strings.HasSuffix(parent, `\services.exe`) && commandInterpreter[baseName(proc)]:
			// A service whose ImagePath is a command line (sc/smbexec style).
			return []finding{dest(RemoteService, "command interpreter started by services.exe")}
		case baseName(proc) == "netsh.exe" && rdpPortProxy.MatchString(cmd):
			// The host relays RDP to another (§5.5 port proxy pivot).
			return []finding{{RDP, "source", "RDP port forward (netsh portproxy to 3389)"}}
		}
	case "11":
		if !fromProvider(e, "sysmon") {
			return nil
		}
		target := strings.ToLower(e.s("data.TargetFilename"))
		proc := baseName(e.s("process"))
		var out []finding
		if baseName(target) == "psexesvc.exe" || psexecKey.MatchString(target) {
			out = append(out, dest(PsExec, "psexec service file created"))
		}
		switch {
		case proc == "system":
			// The SMB server writes files for remote clients as System.
			out = append(out, dest(AdminShare, "file written by System (SMB server)"))
		case proc == "mstsc.exe":
			// The RDP client writes into its own disk only for a server
			// that uses the redirected drive (\\tsclient).
			out = append(out, finding{RDP, "source", `file written by mstsc.exe (drive redirection from the RDP server)`})
		}
		if strings.Contains(target, `\windows\system32\tasks\`) {
			out = append(out, dest(ScheduledTask, "task file created"))
		}
		return out
	case "17", "18":
		if fromProvider(e, "sysmon") && psexecPipe.MatchString(e.s("pipe_name")) {
			return []finding{dest(PsExec, "psexec pipe (Sysmon)")}
		}
	case "19", "20":
		if fromProvider(e, "sysmon") {
			return []finding{dest(WMI, "WMI event subscription (Sysmon)")}
		}
	case "5860", "5861":
		if fromProvider(e, "wmi") {
			return []finding{dest(WMI, "WMI event subscription (WMI-Activity)")}
		}
	case "91", "169":
		if fromProvider(e, "winrm") {
			return []finding{dest(WinRM, "WinRM shell/authentication")}
		}
	case "10016":
		for k, v := range e.F {
			if strings.HasPrefix(k, "data.") && strings.EqualFold(strings.TrimSpace(str(v)), "Remote") {
				return []finding{dest(DCOM, "DCOM remote launch denied")}
			}
		}
	case "4698", "4702":
		return []finding{dest(ScheduledTask, "task registered/updated")}
	case "4624":
		if lt := e.n("logon_type"); lt == 10 || lt == 12 {
			return []finding{dest(RDP, "remote interactive logon")}
		}
	case "1149":
		return []finding{dest(RDP, "RDP connection")}
	case "131", "98", "104":
		if e.Type == "131" || fromProvider(e, "rdpcorets") {
			return []finding{dest(RDP, "RDP connection (RdpCoreTS "+e.Type+")")}
		}
	case "21", "25":
		if fromProvider(e, "sysmon") {
			return []finding{dest(WMI, "WMI event subscription (Sysmon)")}
		}
		if a := e.s("src_ip"); a != "" {
			return []finding{dest(RDP, "RDP session")}
		}
	case "4778", "4779":
		if ip := normIP(e.s("src_ip")); ip != "" {
			return []finding{dest(RDP, "RDP session reconnected/disconnected")}
		}
	case "3", "5156":
		c, ok := connOf(e)
		if !ok || c.outbound {
			return nil
		}
		switch {
		case c.localPort == 3389 && isLoopback(c.remoteIP):
			return []finding{dest(RDP, "inbound RDP from loopback (tunnel)")}
		case c.localPort == 3389 && c.remoteIP != c.localIP:
			return []finding{dest(RDP, "inbound RDP connection")}
		case (c.localPort == 5985 || c.localPort == 5986) && !isLoopback(c.remoteIP):
			return []finding{dest(WinRM, "inbound WinRM connection")}
		case dcomServers[baseName(e.s("process"))] && !isLoopback(c.remoteIP) && c.remoteIP != c.localIP:
			// A desktop/Office process accepting a network connection is
			// serving a remote DCOM client.
			return []finding{dest(DCOM, "inbound connection to DCOM server "+baseName(e.s("process")))}
		}
	}
	return nil
}

// commandInterpreter: what a command-line service runs.
var commandInterpreter = map[string]bool{"cmd.exe": true, "powershell.exe": true, "pwsh.exe": true}

// rpcThenWmi is how long after an inbound RPC connection a WmiPrvSE start
// is taken as serving it.
const rpcThenWmi = 30 * second

func indicatorsOf(evs []*ev, inds []*indicator, px *procIndex) []Indicator {
	var out []Indicator
	lastRPC := map[string]*ev{} // host -> latest inbound RPC (135) from another address
	for _, e := range evs {
		for _, f := range eventFindings(e, px) {
			out = append(out, Indicator{Host: e.Host, Technique: f.tech, Side: f.side, EventID: e.ID, Time: e.TS, Rule: f.rule})
		}
		if c, ok := connOf(e); ok && !c.outbound && c.localPort == 135 && !isLoopback(c.remoteIP) && c.remoteIP != c.localIP {
			lastRPC[e.Host] = e
		}
		if (e.Type == "4688" || e.Type == "1") && baseName(e.s("process")) == "wmiprvse.exe" {
			// The WMI provider host starts for a remote caller right after
			// the caller's RPC endpoint-mapper connection.
			if r := lastRPC[e.Host]; r != nil && e.TS >= r.TS && e.TS-r.TS <= rpcThenWmi {
				c, _ := connOf(r)
				out = append(out, Indicator{Host: e.Host, Technique: WMI, Side: "destination", EventID: e.ID, Time: e.TS,
					Rule: "WmiPrvSE started after inbound RPC from " + c.remoteIP})
			}
		}
	}
	for _, in := range inds {
		if in.tech != "" {
			out = append(out, Indicator{Host: in.host, Technique: in.tech, Side: "source", EventID: in.e.ID, Time: in.e.TS, Rule: in.rule})
		}
	}
	return out
}
