package regf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/forge/wire"
	"github.com/foothold/foothold/parsers/event"
)

// ft parses an ISO-8601 UTC time with up to seven fractional digits.
func ft(s string) event.FileTime {
	f, err := event.Parse(s)
	if err != nil {
		panic(err)
	}
	return f
}

func unix(s string) uint32 { return uint32(ft(s).Time().Unix()) }

func u16str(s string) ([]byte, []byte) {
	d := wire.UTF16(s)
	return binary.LittleEndian.AppendUint32(nil, uint32(len(d))), d
}

// fixture is one realistic hive built the way the forge builds them.
type fixture struct {
	name string // file name under t.TempDir
	opts Options
	root *Key
}

const (
	userAssistExe = `{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}`
	userAssistLnk = `{F4E57C4B-2036-45F0-A9AB-443BCFE33D9F}`
	domainSID     = `S-1-5-21-3623811015-3361044348-30300820`
)

// systemFixture is DC01's SYSTEM hive after the RasAuto ServiceDll hijack,
// with WS-TRADER01-style DHCP interfaces, a Windows 10 AppCompatCache big
// enough to need big-data segments, BAM entries and LSA class names.
func systemFixture() (fixture, []ShimEntry) {
	t0 := ft("2023-02-20T08:00:00.1000001Z")
	root := &Key{Name: "ROOT", LastWrite: ft("2023-03-15T01:41:00.5555555Z")}
	root.Path("Select", t0).Set(DWORD("Current", 1), DWORD("Default", 1), DWORD("Failed", 0), DWORD("LastKnownGood", 1))
	cs := root.Path("ControlSet001", t0)
	root.Path("ControlSet002", t0) // a stale control set, empty
	root.Path("MountedDevices", t0).Set(Binary(`\DosDevices\C:`, []byte{0x44, 0x4D, 0x49, 0x4F, 0x3A, 0x49, 0x44, 0x3A, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
	cs.Path(`Control\ComputerName\ComputerName`, ft("2023-01-10T12:00:00.0000001Z")).Set(String("ComputerName", "DC01"))
	cs.Path(`Control\ComputerName\ActiveComputerName`, t0).Set(String("ComputerName", "DC01"))
	tz := cs.Path(`Control\TimeZoneInformation`, ft("2023-01-10T12:00:01.9999999Z"))
	tz.Set(DWORD("Bias", 0), DWORD("ActiveTimeBias", 0), DWORD("DaylightBias", 0xFFFFFFC4),
		String("DaylightName", "@tzres.dll,-931"), String("StandardName", "@tzres.dll,-932"),
		Binary("StandardStart", make([]byte, 16)), Binary("DaylightStart", make([]byte, 16)),
		String("TimeZoneKeyName", "UTC"), DWORD("DynamicDaylightTimeDisabled", 0))
	cs.Path(`Control\Windows`, ft("2023-03-15T03:00:00.7654321Z")).Set(
		Binary("ShutdownTime", binary.LittleEndian.AppendUint64(nil, uint64(ft("2023-03-15T02:59:58.1234567Z")))),
		DWORD("ShutdownTime_Clean", 1), ExpandString("SystemDirectory", `%SystemRoot%\system32`))
	for _, n := range []string{"JD", "Skew1", "GBG", "Data"} {
		k := cs.Path(`Control\Lsa\`+n, t0)
		k.Class = map[string]string{"JD": "b3a1c0de", "Skew1": "9f2e4c61", "GBG": "0d7a55e2", "Data": "4c8b1f09"}[n]
	}
	cs.Path(`Control\Lsa`, t0).Set(MultiString("Authentication Packages", "msv1_0"), DWORD("LmCompatibilityLevel", 3))

	tcp := cs.Path(`Services\Tcpip\Parameters`, ft("2023-01-10T12:05:00Z"))
	tcp.Set(String("Hostname", "DC01"), String("NV Hostname", "DC01"), String("Domain", "corp.example"),
		String("NV Domain", "corp.example"), MultiString("SearchList"), DWORD("EnableICMPRedirect", 1))
	static := tcp.Path(`Interfaces\{4B8E2A3C-91D0-4F6A-8C2E-7D15B0A9E3F1}`, ft("2023-01-10T12:05:01.0000002Z"))
	static.Set(DWORD("EnableDHCP", 0), MultiString("IPAddress", "10.10.10.5"), MultiString("SubnetMask", "255.255.255.0"),
		MultiString("DefaultGateway", "10.10.10.1"), DWORD("DefaultGatewayMetric", 0), String("NameServer", "127.0.0.1"),
		String("Domain", ""))
	dhcp := tcp.Path(`Interfaces\{0E5D7B21-6C3F-4A88-B9E4-2F1C8D7A6B50}`, ft("2023-03-07T08:00:03.3333333Z"))
	dhcp.Set(DWORD("EnableDHCP", 1), String("DhcpIPAddress", "10.10.20.11"), String("DhcpSubnetMask", "255.255.255.0"),
		String("DhcpServer", "10.10.10.5"), MultiString("DhcpDefaultGateway", "10.10.20.1"), String("DhcpDomain", "corp.example"),
		DWORD("Lease", 691200), DWORD("LeaseObtainedTime", unix("2023-03-07T08:00:03Z")),
		DWORD("T1", unix("2023-03-11T08:00:03Z")), DWORD("T2", unix("2023-03-13T05:00:03Z")),
		DWORD("LeaseTerminatesTime", unix("2023-03-15T08:00:03Z")), DWORD("AddressType", 0),
		MultiString("IPAddress", "0.0.0.0"))
	tcp.Path(`Interfaces\{7F00A1B2-0000-4C3D-8E9F-123456789ABC}`, t0).Set(DWORD("EnableDHCP", 1)) // never leased

	svc := cs.Path(`Services\WinSvcUpd`, ft("2023-03-09T12:05:02.2500000Z"))
	svc.Set(ExpandString("ImagePath", `%COMSPEC% /Q /c copy \\FS01\C$\Windows\Temp\wlbsctrl.dll C:\Windows\System32\wlbsctrl.dll`),
		DWORD("Start", 3), DWORD("Type", 0x10), DWORD("ErrorControl", 0), String("ObjectName", "LocalSystem"),
		String("DisplayName", "WinSvcUpd"))
	ras := cs.Path(`Services\RasAuto`, ft("2023-03-15T01:41:00.0000001Z"))
	ras.Set(String("DisplayName", "@%SystemRoot%\\system32\\rasauto.dll,-200"),
		ExpandString("ImagePath", `%SystemRoot%\System32\svchost.exe -k netsvcs -p`), DWORD("Start", 2),
		DWORD("Type", 0x20), DWORD("ErrorControl", 1), String("ObjectName", "localSystem"),
		MultiString("DependOnService", "RasMan", "Tapisrv"),
		MultiString("RequiredPrivileges", "SeChangeNotifyPrivilege", "SeImpersonatePrivilege", "SeCreateGlobalPrivilege"))
	cs.Path(`Services\RasAuto\Parameters`, ft("2023-03-15T01:41:00.4000000Z")).Set(
		ExpandString("ServiceDll", `C:\Windows\System32\rasautou64.dll`), DWORD("ServiceDllUnloadOnStop", 1))
	cs.Path(`Services\IKEEXT`, t0).Set(ExpandString("ImagePath", `%systemroot%\system32\svchost.exe -k netsvcs -p`),
		DWORD("Start", 3), DWORD("Type", 0x20), String("ObjectName", "LocalSystem"))
	cs.Path(`Services\IKEEXT\Parameters`, t0).Set(ExpandString("ServiceDll", `%SystemRoot%\System32\ikeext.dll`))
	cs.Path(`Services\NTDS\Parameters`, t0).Set(String("DSA Working Directory", `C:\Windows\NTDS`),
		String("DSA Database file", `C:\Windows\NTDS\ntds.dit`), QWORD("Schema Version", 88))
	// Several service start types, a boot driver among them.
	cs.Path(`Services\disk`, t0).Set(ExpandString("ImagePath", `System32\drivers\disk.sys`), DWORD("Start", 0), DWORD("Type", 1))
	cs.Path(`Services\TermService`, t0).Set(ExpandString("ImagePath", `%SystemRoot%\System32\svchost.exe -k NetworkService`),
		DWORD("Start", 3), DWORD("Type", 0x20), String("ObjectName", `NT Authority\NetworkService`))

	userSID := domainSID + "-1104"
	bam := cs.Path(`Services\bam\State\UserSettings\`+userSID, ft("2023-03-15T01:35:13.0000005Z"))
	bamEntry := func(path string, t event.FileTime) Value {
		d := binary.LittleEndian.AppendUint64(nil, uint64(t))
		d = append(d, make([]byte, 16)...)
		return Binary(path, d)
	}
	bam.Set(DWORD("Version", 1), DWORD("SequenceNumber", 4),
		bamEntry(`\Device\HarddiskVolume2\Windows\System32\ntdsutil.exe`, ft("2023-03-15T01:35:12.9876543Z")),
		bamEntry(`\Device\HarddiskVolume2\Windows\System32\mstsc.exe`, ft("2023-03-15T01:20:05.0000001Z")),
		bamEntry(`Microsoft.Windows.Explorer`, ft("2023-03-15T01:13:00Z")))

	// Windows 10 keeps up to 1,024 entries; 240 make the value ~31 KiB,
	// over the 16,344-byte cell limit, so it goes to big-data segments.
	var shims []ShimEntry
	named := []ShimEntry{
		{Path: `C:\Windows\System32\rasautou64.dll`, LastModified: ft("2023-03-15T01:40:58.1111111Z")},
		{Path: `C:\Windows\System32\ntdsutil.exe`, LastModified: ft("2019-12-07T09:09:41.6259993Z")},
		{Path: `C:\ProgramData\TPM\TpmVscMgrSvr.exe`, LastModified: ft("2023-03-06T14:05:40.0000001Z")},
		{Path: `C:\Program Files\WindowsApps\Microsoft.WindowsCalculator_10.2103.8.0_x64__8wekyb3d8bbwe\Calculator.exe`,
			LastModified: ft("2021-04-01T10:00:00Z"), Data: []byte{2, 0, 0, 0, 0x30, 0, 0, 0, 0xAA, 0xBB}},
	}
	shims = append(shims, named...)
	for i := 0; len(shims) < 240; i++ {
		shims = append(shims, ShimEntry{
			Path:         fmt.Sprintf(`C:\Windows\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.17763.%04d_none\TiWorker%03d.exe`, i, i),
			LastModified: event.FileTime(uint64(ft("2019-09-15T00:00:00Z")) + uint64(i)*36_000_000_001),
		})
	}
	cs.Path(`Control\Session Manager\AppCompatCache`, ft("2023-03-15T02:59:57.0000009Z")).Set(
		Binary("AppCompatCache", AppCompatCacheWin10(shims)), DWORD("CacheMainSdb", 0))
	cs.Path(`Control\Session Manager`, t0).Set(MultiString("BootExecute", "autocheck autochk *"),
		Value{Name: "ProtectionMode", Type: TypeDWORD, Data: []byte{1, 0, 0, 0}})
	return fixture{name: "SYSTEM", root: root,
		opts: Options{HiveName: `\??\C:\Windows\System32\config\SYSTEM`, LastWritten: ft("2023-03-15T03:00:00.0000001Z")}}, shims
}

// taskActions builds a TaskCache Actions blob (version 3, one exec action).
func taskActions(author, cmd, args string) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 3)
	l, d := u16str(author)
	b = append(append(b, l...), d...)
	b = binary.LittleEndian.AppendUint16(b, 0x6666)
	for _, s := range []string{"", cmd, args, ""} {
		l, d := u16str(s)
		b = append(append(b, l...), d...)
	}
	return binary.LittleEndian.AppendUint16(b, 0)
}

// softwareFixture is BUILD01's SOFTWARE hive with the E3 scheduled task,
// Run keys and Uninstall entries (one with a non-Latin name).
func softwareFixture() fixture {
	t0 := ft("2022-11-02T10:00:00.0000003Z")
	root := &Key{Name: "ROOT", LastWrite: t0}
	root.Path(`Classes\.txt`, t0).Set(String("", "txtfile"), String("Content Type", "text/plain"))
	root.Path(`Policies\Microsoft\Windows`, t0)
	cv := root.Path(`Microsoft\Windows NT\CurrentVersion`, ft("2023-03-01T04:12:00.0000001Z"))
	cv.Set(String("ProductName", "Windows Server 2022 Standard"), String("EditionID", "ServerStandard"),
		String("CurrentVersion", "6.3"), String("CurrentBuild", "20348"), String("CurrentBuildNumber", "20348"),
		String("DisplayVersion", "21H2"), DWORD("UBR", 1547), DWORD("CurrentMajorVersionNumber", 10),
		DWORD("InstallDate", unix("2022-11-02T09:41:27Z")), QWORD("InstallTime", uint64(ft("2022-11-02T09:41:27.4567891Z"))),
		String("RegisteredOwner", "CORP"), String("SystemRoot", `C:\Windows`),
		Binary("DigitalProductId", bytes.Repeat([]byte{0xA4, 0, 0, 0, 3}, 33)))
	task := `\Microsoft\Windows\UpdateOrchestrator\Backup Scan`
	taskID := `{8C4E2B1A-3F5D-4E6C-9A7B-0D1E2F3A4B5C}`
	tc := `Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache`
	tE3 := ft("2023-03-09T11:47:21.0312345Z")
	root.Path(tc+`\Tree`+task, tE3).Set(String("Id", taskID), DWORD("Index", 3),
		Binary("SD", []byte{1, 0, 4, 0x80, 0x14, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
	root.Path(tc+`\Tree\Microsoft\Windows\UpdateOrchestrator\Schedule Scan`, t0).Set(
		String("Id", "{A1B2C3D4-0000-4000-8000-000000000001}"), DWORD("Index", 3))
	dyn := binary.LittleEndian.AppendUint32(nil, 3)
	dyn = binary.LittleEndian.AppendUint64(dyn, uint64(tE3))
	dyn = binary.LittleEndian.AppendUint64(dyn, uint64(ft("2023-03-09T11:47:30.5000000Z")))
	dyn = append(dyn, 0, 0, 0, 0, 0, 0, 0, 0)
	root.Path(tc+`\Tasks\`+taskID, tE3).Set(String("Path", task), String("URI", task),
		Binary("Actions", taskActions(`CORP\svc_backup`, `C:\ProgramData\TPM\TpmVscMgrSvr.exe`, "")),
		Binary("DynamicInfo", dyn), Binary("Triggers", bytes.Repeat([]byte{0x17, 0, 0, 0}, 30)),
		Binary("Hash", bytes.Repeat([]byte{0x5A}, 32)), String("Author", `CORP\svc_backup`))
	root.Path(`Microsoft\Windows\CurrentVersion\Run`, ft("2022-11-02T10:30:00Z")).Set(
		ExpandString("SecurityHealth", `%windir%\system32\SecurityHealthSystray.exe`),
		String("VMware User Process", `"C:\Program Files\VMware\VMware Tools\vmtoolsd.exe" -n vmusr`))
	root.Path(`Wow6432Node\Microsoft\Windows\CurrentVersion\Run`, t0)
	un := `Microsoft\Windows\CurrentVersion\Uninstall\`
	root.Path(un+`{5FCE6D76-F5DC-37AB-B2B8-22AB8CEDB1D4}`, ft("2022-12-01T16:20:00.0000001Z")).Set(
		String("DisplayName", "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.34.31938"),
		String("DisplayVersion", "14.34.31938.0"), String("Publisher", "Microsoft Corporation"),
		String("InstallDate", "20221201"), DWORD("EstimatedSize", 20480), DWORD("SystemComponent", 1),
		ExpandString("UninstallString", `MsiExec.exe /X{5FCE6D76-F5DC-37AB-B2B8-22AB8CEDB1D4}`))
	root.Path(un+"7-Zip", t0).Set(String("DisplayName", "7-Zip 22.01 (x64)"), String("DisplayVersion", "22.01"),
		String("Publisher", "Igor Pavlov"), String("InstallLocation", `C:\Program Files\7-Zip\`),
		String("UninstallString", `"C:\Program Files\7-Zip\Uninstall.exe"`), DWORD("NoModify", 1))
	// Names outside Latin-1 are stored in UTF-16; Latin-1 ones compressed.
	root.Path(un+"Программа учёта", t0).Set(String("DisplayName", "Программа учёта 1.0"), String("Publisher", "ООО «Ромашка»"))
	root.Path(un+"Übersetzer", t0).Set(String("DisplayName", "Übersetzer"), String("Données", "é"))
	root.Path(un+"€uro Tool", t0).Set(String("DisplayName", "€uro"))
	return fixture{name: "SOFTWARE", root: root,
		opts: Options{HiveName: `\??\C:\Windows\System32\config\SOFTWARE`, LastWritten: ft("2023-03-15T03:00:00Z")}}
}

// uaEntry is one UserAssist entry planted in the NTUSER fixture.
type uaEntry struct {
	guid, name           string
	runs, focus, focusMS uint32
	last                 event.FileTime
}

// ntuserFixture is adm.jchen's NTUSER.DAT on BUILD01 (E7b) merged with the
// artifacts the other users' hives carry (PsExec EULA, MountPoints2, Run).
func ntuserFixture() (fixture, []uaEntry) {
	t0 := ft("2023-03-13T10:02:30.0000001Z")
	root := &Key{Name: "ROOT", LastWrite: t0}
	root.Path(`AppEvents\Schemes`, t0).Set(String("", ".Default"))
	root.Path(`Control Panel\Desktop`, t0).Set(String("Wallpaper", `C:\Windows\web\wallpaper\Windows\img0.jpg`), String("ScreenSaveActive", "1"))
	root.Path(`Environment`, t0).Set(ExpandString("TEMP", `%USERPROFILE%\AppData\Local\Temp`), ExpandString("TMP", `%USERPROFILE%\AppData\Local\Temp`))
	tsc := `Software\Microsoft\Terminal Server Client`
	root.Path(tsc+`\Default`, ft("2023-03-15T01:20:05.4444444Z")).Set(String("MRU0", "DC01"), String("MRU1", "10.10.10.20:3389"))
	root.Path(tsc+`\Servers\DC01`, ft("2023-03-15T01:20:09.1000000Z")).Set(String("UsernameHint", `CORP\adm.jchen`),
		Binary("CertHash", []byte{0x3b, 0x1c, 0x9d, 0x44, 0x81, 0x0a, 0x7e, 0x55, 0x2f, 0x66, 0x90, 0x12, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89}))
	root.Path(tsc+`\Servers\FS01`, ft("2023-02-01T09:00:00Z")).Set(String("UsernameHint", `CORP\adm.jchen`))
	ua := `Software\Microsoft\Windows\CurrentVersion\Explorer\UserAssist\`
	entries := []uaEntry{
		{userAssistExe, `{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\mstsc.exe`, 3, 5, 184_250, ft("2023-03-15T01:20:04.9000001Z")},
		{userAssistExe, `Microsoft.Windows.RemoteDesktop`, 1, 0, 0, ft("2023-03-13T10:05:00Z")},
		{userAssistExe, `C:\Users\a.reyes\Downloads\X_TRADER_r7.17.90p608.exe`, 1, 2, 61_000, ft("2023-03-06T14:05:09.3125000Z")},
		{userAssistLnk, `{0139D44E-6AFE-49F2-8690-3DAFCAE6FFB8}\Administrative Tools\Remote Desktop Connection.lnk`, 2, 0, 0, ft("2023-03-14T09:00:00Z")},
	}
	for _, g := range []string{userAssistExe, userAssistLnk} {
		root.Path(ua+g, t0).Set(DWORD("Version", 5))
		root.Path(ua+g+`\Count`, ft("2023-03-15T01:20:05Z")).Set(
			Binary("HRZR_PGYFRFFVBA", // UEME_CTLSESSION, which readers skip
				append(binary.LittleEndian.AppendUint32(nil, 0), make([]byte, 1608)...)))
	}
	for _, e := range entries {
		root.Path(ua+e.guid+`\Count`, 0).Set(UserAssistValue(e.name, e.runs, e.focus, e.focusMS, e.last))
	}
	mp2 := `Software\Microsoft\Windows\CurrentVersion\Explorer\MountPoints2\`
	root.Path(mp2+`##FS01#C$`, ft("2023-03-08T02:11:02.0000007Z")).Set(String("_LabelFromReg", ""), String("BaseClass", "Drive"))
	root.Path(mp2+`{7f2b5c1e-0000-0000-0000-100000000000}`, t0).Set(String("BaseClass", "Drive"))
	root.Path(`Software\Microsoft\Windows\CurrentVersion\Run`, ft("2023-03-06T14:05:40.0000001Z")).Set(
		String("TPM Manager", `C:\ProgramData\TPM\TpmVscMgrSvr.exe`), String("OneDrive", `"C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background`))
	root.Path(`Software\Sysinternals\PsExec`, ft("2023-03-08T02:10:45.6000000Z")).Set(DWORD("EulaAccepted", 1))
	root.Path(`Software\Sysinternals\Process Explorer`, t0).Set(DWORD("EulaAccepted", 1), Binary("Settings", make([]byte, 5)))
	root.Path(`Software\Microsoft\Windows\CurrentVersion\Explorer\RunMRU`, t0).Set(
		String("a", `mstsc /v:DC01\1`), String("MRUList", "a"))
	root.Path(`Network\Z`, t0).Set(String("RemotePath", `\\FS01\Shares`), String("UserName", ""), DWORD("ConnectionType", 1))
	return fixture{name: "NTUSER.DAT", root: root,
		opts: Options{HiveName: `\??\C:\Users\adm.jchen\ntuser.dat`, LastWritten: ft("2023-03-15T02:00:00Z")}}, entries
}

// amFile is one InventoryApplicationFile entry of the Amcache fixture.
type amFile struct {
	key, path, sha1, publisher, product, version, name string
	size                                               uint64
	linkDate                                           string
	written                                            event.FileTime
}

// amcacheFixture is WS-TRADER01's Amcache.hve with the installer and the
// backdoor it dropped.
func amcacheFixture() (fixture, []amFile) {
	t0 := ft("2023-03-01T00:00:00Z")
	root := &Key{Name: "{11517B7C-E79D-4e20-961B-75A811715ADD}", LastWrite: t0}
	files := []amFile{
		{"x_trader_r7.17.90p608.exe|5f1d2c3b4a596870", `c:\users\a.reyes\downloads\x_trader_r7.17.90p608.exe`,
			"fbc5ae0b1b5d1a9d0c6f8e2a3b4c5d6e7f8091a2", "Trading Technologies International, Inc.", "X_TRADER", "7.17.90.608",
			"X_TRADER_r7.17.90p608.exe", 91_456_512, "02/10/2023 18:22:04", ft("2023-03-06T14:05:11.1234567Z")},
		{"tpmvscmgrsvr.exe|0a1b2c3d4e5f6071", `c:\programdata\tpm\tpmvscmgrsvr.exe`,
			"3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f", "", "", "", "TpmVscMgrSvr.exe", 148_992, "01/05/2023 03:14:15",
			ft("2023-03-06T14:05:42.0000001Z")},
	}
	iaf := root.Path(`Root\InventoryApplicationFile`, t0)
	for _, f := range files {
		k := iaf.Path(f.key, f.written)
		k.Set(String("ProgramId", "0000f519feec486de87ed73cb92d3cac802400000000"), String("FileId", "0000"+f.sha1),
			String("LowerCaseLongPath", f.path), String("LongPathHash", f.key[len(f.key)-16:]), String("Name", f.name),
			String("OriginalFileName", f.name), String("Publisher", f.publisher), String("Version", f.version),
			String("BinFileVersion", f.version), String("BinaryType", "pe32_i386"), String("ProductName", f.product),
			String("ProductVersion", f.version), String("LinkDate", f.linkDate), String("BinProductVersion", f.version),
			String("AppxPackageFullName", ""), String("AppxPackageRelativeId", ""), QWORD("Size", f.size),
			DWORD("Language", 1033), DWORD("IsOsComponent", 0), QWORD("Usn", 0x2A51F80), DWORD("IsPeFile", 1))
	}
	root.Path(`Root\InventoryApplication\0000f519feec486de87ed73cb92d3cac802400000000`, files[0].written).Set(
		String("Name", "X_TRADER"), String("Publisher", "Trading Technologies International, Inc."),
		String("Version", "7.17.90"), String("Source", "AddRemoveProgram"), String("RootDirPath", `C:\TT\X_TRADER`))
	root.Path(`Root\DeviceCensus`, t0).Set(QWORD("LastRun", uint64(ft("2023-03-06T14:05:00Z"))))
	return fixture{name: "Amcache.hve", root: root,
		opts: Options{HiveName: `\??\C:\Windows\AppCompat\Programs\Amcache.hve`, LastWritten: ft("2023-03-06T14:06:00Z")}}, files
}

// bigFixture stresses the layout: ri index roots over several lh leaves,
// inline/cell/big-data value boundaries, a 1 MiB value, long and Unicode
// names, class names and every value type.
func bigFixture() fixture {
	t0 := ft("2023-01-01T00:00:00.0000001Z")
	root := &Key{Name: "CMI-CreateHive{2A7FB991-7BBE-4F9D-B91E-7CB51D4737F5}", LastWrite: t0}
	many := root.Path("Many", t0)
	// Not in sorted order on purpose: Write must sort.
	for i := 2999; i >= 0; i-- {
		many.Subkeys = append(many.Subkeys, &Key{Name: fmt.Sprintf("k%04d", i), LastWrite: t0 + event.FileTime(i)})
	}
	mid := root.Path("Mid", t0)
	for i := 0; i < 1100; i++ {
		mid.Path(fmt.Sprintf("{%08X-0000-0000-0000-%012d}", i*7919, i), t0).Set(DWORD("i", uint32(i)))
	}
	edge := root.Path("Edge", t0)
	for _, n := range []int{0, 1, 2, 3, 4, 5, 8, 4088, 16343, 16344, 16345, 16344 * 2, 16344*2 + 1, 100_000, 1 << 20} {
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(i*131 + n)
		}
		edge.Set(Binary(fmt.Sprintf("bin%d", n), d))
	}
	edge.Set(Value{Name: "", Type: TypeNone}, Value{Name: "none4", Type: TypeNone, Data: []byte{1, 2, 3, 4}},
		Value{Name: "be", Type: TypeDWORDBigEndian, Data: []byte{0, 0, 1, 2}},
		Value{Name: "link", Type: TypeLink, Data: wire.UTF16(`\Registry\Machine\System\ControlSet001`)},
		Value{Name: "odd", Type: 0x10000005, Data: []byte{9, 8, 7, 6}},
		QWORD("q", 0xFEDCBA9876543210), MultiString("multi", "a", "", "c"), MultiString("empty"),
		String("s", ""), ExpandString("x", "%TEMP%\\x"), String("名前", "値"),
		String("emoji😀", "🚀"))
	long := make([]rune, 255)
	for i := range long {
		long[i] = 'A' + rune(i%26)
	}
	root.Path(string(long), t0).Class = "LongKeyClass"
	root.Path("Юникод", t0).Set(String("Ключ", "значение"))
	root.Path("ÄÖÜ\u00ff", t0).Class = "Klasse\u00e9"
	root.Path("ctrl\u0085name", t0)
	longVal := make([]rune, 300)
	for i := range longVal {
		longVal[i] = 'v'
	}
	root.Path("Values", t0).Set(String(string(longVal), "long value name"))
	for i := 0; i < 600; i++ {
		root.Path("Values", t0).Set(DWORD(fmt.Sprintf("v%03d", i), uint32(i)))
	}
	return fixture{name: "BIG", root: root, opts: Options{HiveName: `C:\big.hive`, LastWritten: t0}}
}

// writeFixture writes f under dir and returns the path and bytes.
func writeFixture(t testing.TB, dir string, f fixture) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, f.root, f.opts); err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	p := filepath.Join(dir, f.name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, buf.Bytes()
}

func allFixtures() []fixture {
	s, _ := systemFixture()
	n, _ := ntuserFixture()
	a, _ := amcacheFixture()
	return []fixture{s, softwareFixture(), n, a, bigFixture()}
}

// flatKey is what every reader must report for one key.
type flatKey struct {
	Path      string
	LastWrite event.FileTime
	Class     string
	Values    []Value
	Subkeys   int
}

// flatten lists the input tree by path (root name first, as libregf and
// our reader print paths).
func flatten(root *Key) map[string]flatKey {
	out := map[string]flatKey{}
	var walk func(k *Key, path string)
	walk = func(k *Key, path string) {
		out[path] = flatKey{Path: path, LastWrite: k.LastWrite, Class: k.Class, Values: k.Values, Subkeys: len(k.Subkeys)}
		for _, sk := range k.Subkeys {
			walk(sk, path+`\`+sk.Name)
		}
	}
	walk(root, root.Name)
	return out
}
