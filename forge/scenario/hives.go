package scenario

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/jumplist"
	"github.com/foothold/foothold/forge/lnk"
	"github.com/foothold/foothold/forge/regf"
	"github.com/foothold/foothold/parsers/event"
)

var (
	dwordValue  = regf.DWORD
	stringValue = regf.String
)

// hives are the registry trees of one host.
type hives struct {
	s                         *Scenario
	h                         *Host
	system, software, amcache *regf.Key
	users                     map[string]*regf.Key // lower-case account name → NTUSER.DAT root
}

// key finds or creates path below root and moves its last-write time
// forward to lw (keys only ever get newer).
func key(root *regf.Key, path string, lw event.FileTime) *regf.Key {
	k := root.Path(path, lw)
	if lw > k.LastWrite {
		k.LastWrite = lw
	}
	return k
}

func newHives(s *Scenario, h *Host) *hives {
	inst := installTime(s, h)
	hv := &hives{s: s, h: h, users: map[string]*regf.Key{}}
	base := event.FromTime(inst.Add(time.Duration(h.ClockOffset)))
	hv.system = &regf.Key{Name: "ROOT", LastWrite: base}
	hv.software = &regf.Key{Name: "ROOT", LastWrite: base}
	hv.amcache = &regf.Key{Name: "ROOT", LastWrite: base}
	sys := hv.system
	key(sys, "Select", base).Set(regf.DWORD("Current", 1), regf.DWORD("Default", 1), regf.DWORD("Failed", 0), regf.DWORD("LastKnownGood", 1))
	cs := `ControlSet001\`
	key(sys, cs+`Control\ComputerName\ComputerName`, base).Set(regf.String("ComputerName", strings.ToUpper(h.Name)))
	key(sys, cs+`Control\ComputerName\ActiveComputerName`, base).Set(regf.String("ComputerName", strings.ToUpper(h.Name)))
	tp := key(sys, cs+`Services\Tcpip\Parameters`, base)
	tp.Set(regf.String("Hostname", h.Name), regf.String("NV Hostname", h.Name), regf.String("Domain", s.Organisation.DNS), regf.String("NV Domain", s.Organisation.DNS))
	if tz, ok := timeZones[h.TimeZone]; ok {
		st := func(d [8]uint16) []byte {
			b := make([]byte, 16)
			for i, v := range d {
				binary.LittleEndian.PutUint16(b[2*i:], v)
			}
			return b
		}
		key(sys, cs+`Control\TimeZoneInformation`, base).Set(
			regf.DWORD("Bias", uint32(tz.bias)), regf.DWORD("ActiveTimeBias", uint32(tz.bias)),
			regf.String("StandardName", tz.std), regf.DWORD("StandardBias", uint32(tz.stdBias)), regf.Binary("StandardStart", st(tz.stdDate)),
			regf.String("DaylightName", tz.dlt), regf.DWORD("DaylightBias", uint32(tz.dltBias)), regf.Binary("DaylightStart", st(tz.dltDate)),
			regf.String("TimeZoneKeyName", h.TimeZone), regf.DWORD("DynamicDaylightTimeDisabled", 0))
	}
	// Services the story's persistence touches exist from setup, so a
	// change to them is a modification (4657 old value, key last-write).
	for _, sv := range []struct{ name, display, dll string }{
		{"RasAuto", "Remote Access Auto Connection Manager", `%SystemRoot%\System32\rasauto.dll`},
		{"IKEEXT", "IKE and AuthIP IPsec Keying Modules", `%SystemRoot%\System32\ikeext.dll`},
	} {
		key(sys, cs+`Services\`+sv.name, base).Set(regf.String("DisplayName", sv.display), regf.ExpandString("ImagePath", `%SystemRoot%\System32\svchost.exe -k netsvcs -p`),
			regf.DWORD("Type", 0x20), regf.DWORD("Start", 3), regf.DWORD("ErrorControl", 1), regf.String("ObjectName", "LocalSystem"))
		key(sys, cs+`Services\`+sv.name+`\Parameters`, base).Set(regf.ExpandString("ServiceDll", sv.dll), regf.DWORD("ServiceDllUnloadOnStop", 1))
	}
	sw := hv.software
	key(sw, `Microsoft\Windows NT\CurrentVersion`, base).Set(
		regf.String("ProductName", h.OS.Product), regf.String("DisplayVersion", h.OS.Version), regf.String("CurrentBuild", fmt.Sprint(h.OS.Build)),
		regf.String("CurrentBuildNumber", fmt.Sprint(h.OS.Build)), regf.String("RegisteredOwner", "IT"), regf.String("RegisteredOrganization", s.Organisation.Domain),
		regf.DWORD("InstallDate", uint32(inst.Unix())), regf.String("SystemRoot", `C:\Windows`))
	key(sw, `Microsoft\Windows\CurrentVersion\Run`, base).Set(regf.ExpandString("SecurityHealth", `%windir%\system32\SecurityHealthSystray.exe`))
	key(sw, `Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tree`, base)
	key(sw, `Microsoft\Windows\CurrentVersion\Uninstall\{90160000-008C-0000-1000-0000000FF1CE}`, base).Set(
		regf.String("DisplayName", "Office 16 Click-to-Run Extensibility Component"), regf.String("Publisher", "Microsoft Corporation"), regf.String("InstallDate", inst.Format("20060102")))
	key(hv.amcache, `Root\InventoryApplicationFile`, base)
	return hv
}

// installTime is when the host's system was installed (volume format).
func installTime(s *Scenario, h *Host) time.Time {
	if !h.Installed.IsZero() {
		return h.Installed
	}
	return s.Start.Add(-30 * 24 * time.Hour).Truncate(time.Hour)
}

// user returns the NTUSER.DAT root of the account name, creating it.
func (hv *hives) user(name string) *regf.Key {
	k := hv.users[strings.ToLower(name)]
	if k == nil {
		lw := event.FromTime(installTime(hv.s, hv.h).Add(24 * time.Hour))
		k = &regf.Key{Name: "ROOT", LastWrite: lw}
		key(k, `Software\Microsoft\Windows\CurrentVersion\Explorer`, lw)
		key(k, `Environment`, lw).Set(regf.ExpandString("TEMP", `%USERPROFILE%\AppData\Local\Temp`), regf.ExpandString("TMP", `%USERPROFILE%\AppData\Local\Temp`))
		hv.users[strings.ToLower(name)] = k
	}
	return k
}

func (hv *hives) service(name, image string, start uint32, dll string, lw event.FileTime) {
	k := key(hv.system, `ControlSet001\Services\`+name, lw)
	k.Set(regf.ExpandString("ImagePath", image), regf.DWORD("Type", 0x10), regf.DWORD("Start", start), regf.DWORD("ErrorControl", 1), regf.String("ObjectName", "LocalSystem"))
	if dll != "" {
		key(hv.system, `ControlSet001\Services\`+name+`\Parameters`, lw).Set(regf.ExpandString("ServiceDll", dll))
	}
}

func (hv *hives) task(name, id, command string, lw event.FileTime) {
	key(hv.software, `Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tree`+name, lw).Set(regf.String("Id", id), regf.DWORD("Index", 3))
	key(hv.software, `Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tasks\`+id, lw).Set(regf.String("Path", name), regf.String("URI", name), regf.String("Description", command))
}

// dhcp records the host's latest lease: the registry holds only that one.
func (hv *hives) dhcp(h *Host, collected time.Time) {
	last := h.Addresses[len(h.Addresses)-1]
	var from time.Time
	if len(h.Addresses) > 1 {
		from = h.Addresses[len(h.Addresses)-2].Until
	} else {
		from = installTime(hv.s, h)
	}
	lw := event.FromTime(from.Add(time.Duration(h.ClockOffset)))
	ip := netip.MustParseAddr(last.IP).As4()
	gw := fmt.Sprintf("%d.%d.%d.1", ip[0], ip[1], ip[2])
	k := key(hv.system, `ControlSet001\Services\Tcpip\Parameters\Interfaces\{4D36E972-E325-11CE-BFC1-08002BE10318}`, lw)
	if last.Static || len(h.Addresses) == 1 && h.Role != "workstation" {
		k.Set(regf.DWORD("EnableDHCP", 0), regf.MultiString("IPAddress", last.IP), regf.MultiString("SubnetMask", "255.255.255.0"),
			regf.MultiString("DefaultGateway", gw), regf.String("NameServer", dcAddress(hv.s)), regf.String("Domain", hv.s.Organisation.DNS))
		return
	}
	obtained := from.Add(time.Duration(h.ClockOffset))
	k.Set(regf.DWORD("EnableDHCP", 1), regf.String("DhcpIPAddress", last.IP), regf.String("DhcpSubnetMask", "255.255.255.0"),
		regf.String("DhcpServer", dcAddress(hv.s)), regf.MultiString("DhcpDefaultGateway", gw), regf.String("DhcpNameServer", dcAddress(hv.s)),
		regf.String("DhcpDomain", hv.s.Organisation.DNS), regf.DWORD("Lease", 691200),
		regf.DWORD("LeaseObtainedTime", uint32(obtained.Unix())), regf.DWORD("LeaseTerminatesTime", uint32(obtained.Add(8*24*time.Hour).Unix())))
}

func dcAddress(s *Scenario) string {
	for i := range s.Hosts {
		if s.Hosts[i].Role == "dc" {
			return s.Hosts[i].AddressAt(s.CollectedAt)
		}
	}
	return "192.0.2.53"
}

// jumpMstsc adds a /v:target destination to the user's mstsc jump list.
func (hs *hostState) jumpMstsc(u *User, target string, lw event.FileTime, step string) {
	hs.jumps = append(hs.jumps, jumpEntry{user: u.Name(), target: target, at: lw, step: step})
}

type jumpEntry struct {
	user, target, step string
	at                 event.FileTime
}

func (hs *hostState) writeJumpLists() error {
	by := map[string][]jumpEntry{}
	var order []string
	for _, j := range hs.jumps {
		if _, ok := by[j.user]; !ok {
			order = append(order, j.user)
		}
		by[j.user] = append(by[j.user], j)
	}
	for _, user := range order {
		var entries []jumplist.Entry
		last := event.FileTime(0)
		for i, j := range by[user] {
			entries = append(entries, jumplist.Entry{
				Link: lnk.Link{Target: `C:\Windows\System32\mstsc.exe`, Arguments: "/v:" + j.target, Created: j.at, Modified: j.at, Accessed: j.at,
					Size: 1343488, Attributes: 0x20, VolumeSerial: 0x5A1F30C2, DriveType: 3, MachineID: strings.ToLower(hs.h.Name), MAC: macOf(hs.h.Name)},
				LastAccess: j.at, AccessCount: uint32(i + 1), Hostname: strings.ToLower(hs.h.Name),
			})
			last = j.at
		}
		var b strings.Builder
		if err := jumplist.WriteAutomatic(&b, jumplist.AppIDMstsc, entries); err != nil {
			return fmt.Errorf("jump list of %s: %w", user, err)
		}
		p := `C:\Users\` + user + `\AppData\Roaming\Microsoft\Windows\Recent\AutomaticDestinations\` + jumplist.AppIDMstsc + ".automaticDestinations-ms"
		hs.file("file", p, last, []byte(b.String()), by[user][0].step, "mstsc jump list")
	}
	return nil
}

// macOf is a stable, locally administered MAC address for a host.
func macOf(name string) string {
	s := sha1.Sum([]byte(strings.ToUpper(name)))
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", s[0], s[1], s[2], s[3], s[4])
}
