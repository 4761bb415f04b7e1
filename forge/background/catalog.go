package background

import (
	"fmt"
	"strings"
	"time"
)

// The catalogues below name real Windows services, tasks and programs
// with their usual command lines, so the background reads as ordinary.

// service is a trigger-started service that Windows starts and stops
// through the day.
type service struct {
	display, key string
	image, cmd   string // process services.exe starts
	account      string // SYSTEM, LOCAL SERVICE, NETWORK SERVICE
	roles        string // which roles run it: w s d
	perDay       float64
	minRun       time.Duration
	maxRun       time.Duration
}

const svchost = `C:\Windows\System32\svchost.exe`

var services = []service{
	{"Windows Update", "wuauserv", svchost, `C:\Windows\system32\svchost.exe -k netsvcs -p -s wuauserv`, "SYSTEM", "wsd", 5, 3 * time.Minute, 20 * time.Minute},
	{"Background Intelligent Transfer Service", "BITS", svchost, `C:\Windows\System32\svchost.exe -k netsvcs -p -s BITS`, "SYSTEM", "wsd", 3, 2 * time.Minute, 15 * time.Minute},
	{"Update Orchestrator Service", "UsoSvc", svchost, `C:\Windows\system32\svchost.exe -k netsvcs -p -s UsoSvc`, "SYSTEM", "wsd", 3, 5 * time.Minute, 30 * time.Minute},
	{"Windows Modules Installer", "TrustedInstaller", `C:\Windows\servicing\TrustedInstaller.exe`, `C:\Windows\servicing\TrustedInstaller.exe`, "SYSTEM", "wsd", 1, 10 * time.Minute, 40 * time.Minute},
	{"Delivery Optimization", "DoSvc", svchost, `C:\Windows\System32\svchost.exe -k NetworkService -p -s DoSvc`, "NETWORK SERVICE", "ws", 2, 5 * time.Minute, 30 * time.Minute},
	{"Software Protection", "sppsvc", `C:\Windows\System32\sppsvc.exe`, `C:\Windows\system32\sppsvc.exe`, "NETWORK SERVICE", "wsd", 2, 30 * time.Second, 3 * time.Minute},
	{"WinHTTP Web Proxy Auto-Discovery Service", "WinHttpAutoProxySvc", svchost, `C:\Windows\system32\svchost.exe -k LocalServiceNetworkRestricted -p -s WinHttpAutoProxySvc`, "LOCAL SERVICE", "wsd", 2, 10 * time.Minute, 60 * time.Minute},
	{"Windows Error Reporting Service", "WerSvc", svchost, `C:\Windows\System32\svchost.exe -k WerSvcGroup`, "SYSTEM", "wsd", 0.5, time.Minute, 5 * time.Minute},
	{"Device Setup Manager", "DsmSvc", svchost, `C:\Windows\system32\svchost.exe -k netsvcs -p -s DsmSvc`, "SYSTEM", "ws", 1, 2 * time.Minute, 10 * time.Minute},
	{"Microsoft Account Sign-in Assistant", "wlidsvc", svchost, `C:\Windows\system32\svchost.exe -k netsvcs -p -s wlidsvc`, "SYSTEM", "w", 2, 5 * time.Minute, 30 * time.Minute},
	{"Microsoft Store Install Service", "InstallService", svchost, `C:\Windows\System32\svchost.exe -k netsvcs -p -s InstallService`, "SYSTEM", "w", 1, 5 * time.Minute, 20 * time.Minute},
	{"Application Information", "Appinfo", svchost, `C:\Windows\system32\svchost.exe -k netsvcs -p -s Appinfo`, "SYSTEM", "w", 1, 10 * time.Minute, 60 * time.Minute},
	{"Volume Shadow Copy", "VSS", `C:\Windows\System32\VSSVC.exe`, `C:\Windows\system32\vssvc.exe`, "SYSTEM", "sd", 1, 2 * time.Minute, 4 * time.Minute},
	{"Microsoft Software Shadow Copy Provider", "swprv", svchost, `C:\Windows\System32\svchost.exe -k swprv`, "SYSTEM", "sd", 1, 2 * time.Minute, 4 * time.Minute},
	{"Network Setup Service", "NetSetupSvc", svchost, `C:\Windows\System32\svchost.exe -k netsvcs -p -s NetSetupSvc`, "SYSTEM", "ws", 0.5, time.Minute, 5 * time.Minute},
}

func (s service) runsOn(role string) bool {
	return strings.ContainsRune(s.roles, rune(roleLetter(role)))
}

func roleLetter(role string) byte {
	switch role {
	case Workstation:
		return 'w'
	case DC:
		return 'd'
	}
	return 's'
}

// account returns the SID, name, domain and logon id of a service account.
func serviceAccount(name string) (sid, user, domain string, logonID uint64) {
	switch name {
	case "LOCAL SERVICE":
		return "S-1-5-19", "LOCAL SERVICE", "NT AUTHORITY", 0x3e5
	case "NETWORK SERVICE":
		return "S-1-5-20", "NETWORK SERVICE", "NT AUTHORITY", 0x3e4
	}
	return "S-1-5-18", "SYSTEM", "NT AUTHORITY", 0x3e7
}

// task is a scheduled maintenance task with an executable action.
type task struct {
	name   string
	exe    string
	args   string
	user   string // UserContext
	roles  string
	every  time.Duration // 24h daily, 168h weekly, 1h hourly
	needs  string        // "chrome", "msedge": only where that browser is installed
	runFor time.Duration
}

const defenderPlatform = `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.2302.7-0`

var tasks = []task{
	{`\Microsoft\Windows\UpdateOrchestrator\Schedule Scan`, `C:\Windows\system32\usoclient.exe`, "StartScan", `NT AUTHORITY\SYSTEM`, "wsd", 24 * time.Hour, "", 40 * time.Second},
	{`\Microsoft\Windows\WindowsUpdate\Scheduled Start`, `C:\Windows\system32\sc.exe`, "start wuauserv", `NT AUTHORITY\SYSTEM`, "wsd", 24 * time.Hour, "", 2 * time.Second},
	{`\Microsoft\Windows\Windows Defender\Windows Defender Scheduled Scan`, defenderPlatform + `\MpCmdRun.exe`, "Scan -ScheduleJob -ScanTrigger 55 -IdleScheduledJob", `NT AUTHORITY\SYSTEM`, "wsd", 24 * time.Hour, "", 9 * time.Minute},
	{`\Microsoft\Windows\Windows Defender\Windows Defender Cache Maintenance`, defenderPlatform + `\MpCmdRun.exe`, "-IdleTask -TaskName WdCacheMaintenance", `NT AUTHORITY\SYSTEM`, "wsd", 24 * time.Hour, "", 20 * time.Second},
	{`\Microsoft\Windows\Windows Defender\Windows Defender Cleanup`, defenderPlatform + `\MpCmdRun.exe`, "-IdleTask -TaskName WdCleanup", `NT AUTHORITY\SYSTEM`, "wsd", 24 * time.Hour, "", 15 * time.Second},
	{`\Microsoft\Windows\Application Experience\Microsoft Compatibility Appraiser`, `C:\Windows\system32\compattelrunner.exe`, "", `NT AUTHORITY\SYSTEM`, "ws", 24 * time.Hour, "", 4 * time.Minute},
	{`\Microsoft\Windows\Customer Experience Improvement Program\Consolidator`, `C:\Windows\system32\wsqmcons.exe`, "", `NT AUTHORITY\SYSTEM`, "wsd", 24 * time.Hour, "", 5 * time.Second},
	{`\Microsoft\Windows\Windows Error Reporting\QueueReporting`, `C:\Windows\system32\wermgr.exe`, "-upload", `NT AUTHORITY\SYSTEM`, "wsd", 24 * time.Hour, "", 10 * time.Second},
	{`\Microsoft\Windows\Defrag\ScheduledDefrag`, `C:\Windows\system32\defrag.exe`, "-c -h -o -$", `NT AUTHORITY\SYSTEM`, "wsd", 7 * 24 * time.Hour, "", 3 * time.Minute},
	{`\Microsoft\Windows\DiskCleanup\SilentCleanup`, `C:\Windows\system32\cleanmgr.exe`, "/autoclean /d C:", `NT AUTHORITY\SYSTEM`, "w", 7 * 24 * time.Hour, "", 90 * time.Second},
	{`\Microsoft\Windows\Time Synchronization\SynchronizeTime`, `C:\Windows\system32\sc.exe`, "start w32time task_started", `NT AUTHORITY\LOCAL SERVICE`, "ws", 7 * 24 * time.Hour, "", 2 * time.Second},
	{`\GoogleUpdateTaskMachineUA`, `C:\Program Files (x86)\Google\Update\GoogleUpdate.exe`, "/ua /installsource scheduler", `NT AUTHORITY\SYSTEM`, "w", time.Hour, "chrome", 25 * time.Second},
	{`\MicrosoftEdgeUpdateTaskMachineUA`, `C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe`, "/ua /installsource scheduler", `NT AUTHORITY\SYSTEM`, "ws", time.Hour, "msedge", 25 * time.Second},
}

func (t task) runsOn(h Host) bool {
	if !strings.ContainsRune(t.roles, rune(roleLetter(h.Role))) {
		return false
	}
	switch t.needs {
	case "chrome":
		return h.Role == Workstation && h.Browser == "chrome"
	case "msedge":
		// Edge ships with Windows 10/11 and Server 2022, not Server 2019.
		return h.OSBuild != 17763
	}
	return true
}

// program is an executable with the metadata Sysmon 1 reports.
type program struct {
	image, description, product, company, original, version string
}

var programs = map[string]program{}

func init() {
	ms := "Microsoft Corporation"
	winOS := "Microsoft® Windows® Operating System"
	for _, p := range []program{
		{`C:\Windows\System32\svchost.exe`, "Host Process for Windows Services", winOS, ms, "svchost.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\servicing\TrustedInstaller.exe`, "Windows Modules Installer", winOS, ms, "TrustedInstaller.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\sppsvc.exe`, "Microsoft Software Protection Platform Service", winOS, ms, "sppsvc.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\VSSVC.exe`, "Microsoft® Volume Shadow Copy Service", winOS, ms, "VSSVC.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\usoclient.exe`, "UsoClient", winOS, ms, "usoclient.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\sc.exe`, "Service Control Manager Configuration Tool", winOS, ms, "sc.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{defenderPlatform + `\MpCmdRun.exe`, "Microsoft Malware Protection Command Line Utility", "Microsoft® Windows® Operating System", ms, "MpCmdRun.exe", "4.18.2302.7 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\CompatTelRunner.exe`, "Microsoft Compatibility Telemetry", winOS, ms, "CompatTelRunner.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\wsqmcons.exe`, "Windows SQM Consolidator", winOS, ms, "wsqmcons.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\wermgr.exe`, "Windows Problem Reporting", winOS, ms, "WerMgr", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\Defrag.exe`, "Disk Defragmenter Module", winOS, ms, "Defrag.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\cleanmgr.exe`, "Disk Space Cleanup Manager for Windows", winOS, ms, "CLEANMGR.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Program Files (x86)\Google\Update\GoogleUpdate.exe`, "Google Installer", "Google Update", "Google LLC", "GoogleUpdate.exe", "1.3.36.152"},
		{`C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe`, "Microsoft Edge Update", "Microsoft Edge Update", ms, "msedgeupdate.dll", "1.3.173.45"},
		{`C:\Windows\System32\userinit.exe`, "Userinit Logon Application", winOS, ms, "USERINIT.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\explorer.exe`, "Windows Explorer", winOS, ms, "EXPLORER.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\sihost.exe`, "Shell Infrastructure Host", winOS, ms, "sihost.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\taskhostw.exe`, "Host Process for Windows Tasks", winOS, ms, "taskhostw.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\ctfmon.exe`, "CTF Loader", winOS, ms, "CTFMON.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\RuntimeBroker.exe`, "Runtime Broker", winOS, ms, "RuntimeBroker.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\SecurityHealthSystray.exe`, "Windows Security notification icon", winOS, ms, "SecurityHealthSystray.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\backgroundTaskHost.exe`, "Background Task Host", winOS, ms, "backgroundTaskHost.exe", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\notepad.exe`, "Notepad", winOS, ms, "NOTEPAD.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\conhost.exe`, "Console Window Host", winOS, ms, "CONHOST.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "Windows PowerShell", winOS, ms, "PowerShell.EXE", "10.0.%d.1 (WinBuild.160101.0800)"},
		{`C:\Program Files\Google\Chrome\Application\chrome.exe`, "Google Chrome", "Google Chrome", "Google LLC", "chrome.exe", "111.0.5563.65"},
		{`C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, "Microsoft Edge", "Microsoft Edge", ms, "msedge.exe", "111.0.1661.41"},
		{`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, "Microsoft Outlook", "Microsoft Outlook", ms, "Outlook.exe", "16.0.16130.20218"},
		{`C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`, "Microsoft Excel", "Microsoft Office", ms, "Excel.exe", "16.0.16130.20218"},
		{`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "Microsoft Word", "Microsoft Office", ms, "WinWord.exe", "16.0.16130.20218"},
		{`C:\Program Files\Microsoft Office\root\Office16\POWERPNT.EXE`, "Microsoft PowerPoint", "Microsoft Office", ms, "POWERPNT.EXE", "16.0.16130.20218"},
	} {
		programs[strings.ToLower(p.image)] = p
	}
}

// meta returns the Sysmon metadata of an image, with the OS build filled in.
func meta(image string, build int) program {
	p, ok := programs[strings.ToLower(image)]
	if !ok {
		name := image[strings.LastIndexByte(image, '\\')+1:]
		return program{image: image, description: "-", product: "-", company: "-", original: name, version: "-"}
	}
	if strings.Contains(p.version, "%d") {
		p.version = fmt.Sprintf(p.version, build)
	}
	return p
}

// update is a Windows Update entry.
type update struct {
	title   string
	service string // serviceGuid
}

const (
	windowsUpdateService   = "{9482F4B4-E343-43B6-B170-9A65BC822C77}"
	microsoftUpdateService = "{7971F918-A847-4430-9279-4A52D1EFE18D}"
)

// definitionUpdate is the daily Defender security-intelligence update;
// the version grows through the days and the updates of a day.
func definitionUpdate(day time.Time, k int) update {
	n := int(day.Sub(time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)).Hours()/24)*57 + 23*k
	minor := 381 + n/2000
	return update{fmt.Sprintf("Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.%d.%d.0)", minor, n%2000), microsoftUpdateService}
}

// patchTuesday is the second Tuesday of day's month.
func patchTuesday(day time.Time) time.Time {
	d := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	for d.Weekday() != time.Tuesday {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 7)
}

// monthlyUpdates are installed on the day after Patch Tuesday.
func monthlyUpdates(build int, pt time.Time) []update {
	month := pt.Format("2006-01")
	kb := func(known map[int]string) string {
		if month == "2023-03" {
			if s, ok := known[build]; ok {
				return s
			}
		}
		return fmt.Sprintf("KB50%05d", hash64(month, fmt.Sprint(build))%100000)
	}
	var product string
	switch build {
	case 19045:
		product = "Windows 10 Version 22H2 for x64-based Systems"
	case 22621:
		product = "Windows 11 Version 22H2 for x64-based Systems"
	case 17763:
		product = "Windows Server 2019 for x64-based Systems"
	case 20348:
		product = "Microsoft server operating system version 21H2 for x64-based Systems"
	default:
		product = fmt.Sprintf("Windows (build %d) for x64-based Systems", build)
	}
	cu := kb(map[int]string{19045: "KB5023696", 22621: "KB5023706", 17763: "KB5023702", 20348: "KB5023705"})
	out := []update{{fmt.Sprintf("%s Cumulative Update for %s (%s)", month, product, cu), windowsUpdateService}}
	if month == "2023-03" {
		out = append(out, update{"Windows Malicious Software Removal Tool x64 - v5.111 (KB890830)", windowsUpdateService})
	}
	return out
}

// psVersion is the Windows PowerShell engine version of an OS build.
func psVersion(build int) string {
	switch build {
	case 19045:
		return "5.1.19041.2673"
	case 22621:
		return "5.1.22621.1344"
	case 17763:
		return "5.1.17763.4010"
	case 20348:
		return "5.1.20348.1547"
	}
	return fmt.Sprintf("5.1.%d.1", build)
}

// psCommands are ordinary PowerShell one-liners: inventory and checks.
var psCommands = []string{
	`Get-CimInstance -ClassName Win32_LogicalDisk -Filter "DriveType=3" | Select-Object DeviceID,FreeSpace,Size`,
	`Get-Service -Name wuauserv,BITS | Select-Object Name,Status`,
	`Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 5`,
	`Get-Date -Format o`,
	`Get-MpComputerStatus | Select-Object AntivirusSignatureVersion,AntivirusSignatureLastUpdated`,
	`Test-NetConnection -ComputerName www.microsoft.com -Port 443 -InformationLevel Quiet`,
}

// webSites are ordinary browsing destinations (Sysmon 3 of the browser).
var webSites = []struct{ host, ip string }{
	{"www.google.com", "142.250.80.36"},
	{"outlook.office365.com", "52.96.165.18"},
	{"login.microsoftonline.com", "20.190.151.68"},
	{"www.bloomberg.com", "151.101.2.62"},
	{"www.reuters.com", "151.101.66.217"},
	{"github.com", "140.82.112.4"},
	{"stackoverflow.com", "151.101.193.69"},
	{"www.wikipedia.org", "208.80.154.224"},
}

// updateHosts are Windows Update and Defender endpoints.
var updateHosts = []struct{ host, ip string }{
	{"fe3cr.delivery.mp.microsoft.com", "20.72.205.209"},
	{"sls.update.microsoft.com", "20.54.89.106"},
	{"definitionupdates.microsoft.com", "13.107.4.52"},
	{"wdcp.microsoft.com", "20.42.73.26"},
}
