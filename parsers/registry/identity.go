package registry

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Identity is what a SYSTEM hive says about its host.
type Identity struct {
	ComputerName string
	Hostname     string // Tcpip\Parameters\Hostname (DNS host label)
	Domain       string // Tcpip\Parameters\Domain, else NV Domain
	TimeZone     string // TimeZoneKeyName, else StandardName
	Bias         int    // minutes, UTC = local + Bias
	ActiveBias   int    // ActiveTimeBias: the bias in force at last shutdown
	Interfaces   []Interface
	ControlSet   string // the ControlSet00N that Select\Current names

	// From the SOFTWARE hive: see SetOS.
	ProductName, Version, Build string
	InstallDate                 event.FileTime

	LastShutdown event.FileTime
}

// Interface is one TCP/IP interface with an address.
type Interface struct {
	GUID, IP, Mask, DHCPServer string
	Gateway, Domain            string
	DHCP                       bool
	LeaseObtained              event.FileTime
	LeaseExpires               event.FileTime
}

// OSInfo is what a SOFTWARE hive says about the installed Windows.
type OSInfo struct {
	ProductName    string
	EditionID      string
	DisplayVersion string // DisplayVersion (20H2+), else ReleaseId, else CSDVersion
	Version        string // CurrentVersion (6.3 on every Windows 10/11)
	Build          string // CurrentBuild[.UBR]
	InstallDate    event.FileTime
	Owner          string
}

// SetOS copies the SOFTWARE hive's product, version and install date.
func (id *Identity) SetOS(o *OSInfo) {
	if o == nil {
		return
	}
	id.ProductName, id.Build, id.InstallDate = o.ProductName, o.Build, o.InstallDate
	id.Version = o.DisplayVersion
	if id.Version == "" {
		id.Version = o.Version
	}
}

// currentControlSet resolves Select\Current (falling back to Default, then
// to the lowest ControlSet present).
func (h *Hive) currentControlSet() (Key, string, bool) {
	root := h.Root()
	if sel, ok := root.Subkey("Select"); ok {
		for _, name := range []string{"Current", "Default", "LastKnownGood"} {
			if n, ok := num(sel, name); ok && n > 0 && n < 1000 {
				cs := fmt.Sprintf("ControlSet%03d", n)
				if k, ok := root.Subkey(cs); ok {
					return k, cs, true
				}
			}
		}
	}
	sets := h.controlSets()
	if len(sets) == 0 {
		return Key{}, "", false
	}
	return sets[0].key, sets[0].name, true
}

type namedKey struct {
	name string
	key  Key
}

// controlSets lists every ControlSet00N of a SYSTEM hive, sorted by name.
func (h *Hive) controlSets() []namedKey {
	sks, _ := h.Root().Subkeys()
	var out []namedKey
	for _, sk := range sks {
		n := sk.Name()
		if strings.HasPrefix(strings.ToLower(n), "controlset") {
			out = append(out, namedKey{n, sk})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Identity reads host identity from a SYSTEM hive.
func (h *Hive) Identity() (id *Identity, err error) {
	defer func() {
		if r := recover(); r != nil {
			id, err = nil, fmt.Errorf("registry identity: parser panic: %v", r)
		}
	}()
	if h.kind != KindSystem {
		return nil, fmt.Errorf("registry identity: hive is %s, not SYSTEM", h.kind)
	}
	cs, csName, ok := h.currentControlSet()
	if !ok {
		return nil, fmt.Errorf("registry identity: no control set in SYSTEM hive")
	}
	id = &Identity{ControlSet: csName}
	if k, ok := cs.Open(`Control\ComputerName\ComputerName`); ok {
		id.ComputerName = str(k, "ComputerName")
	}
	if k, ok := cs.Open(`Services\Tcpip\Parameters`); ok {
		id.Hostname = str(k, "Hostname")
		if id.Domain = str(k, "Domain"); id.Domain == "" {
			id.Domain = str(k, "NV Domain")
		}
		if ifs, ok := k.Subkey("Interfaces"); ok {
			sks, _ := ifs.Subkeys()
			for _, ik := range sks {
				if itf, ok := readInterface(ik); ok {
					id.Interfaces = append(id.Interfaces, itf)
				}
			}
		}
	}
	if k, ok := cs.Open(`Control\TimeZoneInformation`); ok {
		if id.TimeZone = str(k, "TimeZoneKeyName"); id.TimeZone == "" {
			id.TimeZone = str(k, "StandardName")
		}
		if n, ok := num(k, "Bias"); ok {
			id.Bias = int(int32(uint32(n)))
		}
		if n, ok := num(k, "ActiveTimeBias"); ok {
			id.ActiveBias = int(int32(uint32(n)))
		}
	}
	if k, ok := cs.Open(`Control\Windows`); ok {
		if v, ok := k.Value("ShutdownTime"); ok {
			if d, err := v.Data(); err == nil && len(d) == 8 {
				id.LastShutdown = event.FileTime(binary.LittleEndian.Uint64(d))
			}
		}
	}
	return id, nil
}

// readInterface reads one Tcpip\Parameters\Interfaces\{GUID} key; interfaces
// with no address at all are left out.
func readInterface(k Key) (Interface, bool) {
	itf := Interface{GUID: k.Name()}
	dhcp, _ := num(k, "EnableDHCP")
	itf.DHCP = dhcp == 1
	static := multi(k, "IPAddress")
	if itf.DHCP {
		itf.IP = str(k, "DhcpIPAddress")
		itf.Mask = str(k, "DhcpSubnetMask")
		itf.DHCPServer = str(k, "DhcpServer")
		itf.Gateway = strings.Join(multi(k, "DhcpDefaultGateway"), ",")
		itf.Domain = str(k, "DhcpDomain")
		if n, ok := num(k, "LeaseObtainedTime"); ok {
			itf.LeaseObtained = unixTime(n)
		}
		if n, ok := num(k, "LeaseTerminatesTime"); ok {
			itf.LeaseExpires = unixTime(n)
		}
	}
	if itf.IP == "" || itf.IP == "0.0.0.0" {
		itf.IP = strings.Join(static, ",")
		itf.Mask = strings.Join(multi(k, "SubnetMask"), ",")
		itf.Gateway = strings.Join(multi(k, "DefaultGateway"), ",")
	}
	if itf.Domain == "" {
		itf.Domain = str(k, "Domain")
	}
	if itf.IP == "" || itf.IP == "0.0.0.0" {
		return itf, false
	}
	return itf, true
}

func multi(k Key, name string) []string {
	v, ok := k.Value(name)
	if !ok {
		return nil
	}
	var out []string
	if v.Type() == RegMultiSZ {
		for _, s := range v.MultiSz() {
			if s = strings.TrimSpace(s); s != "" && s != "0.0.0.0" {
				out = append(out, s)
			}
		}
		return out
	}
	if s := strings.TrimSpace(v.String()); s != "" && s != "0.0.0.0" {
		out = append(out, s)
	}
	return out
}

// unixTime converts Unix seconds (DHCP lease and install times) to FILETIME.
func unixTime(sec uint64) event.FileTime {
	if sec == 0 || sec > 1<<40 {
		return 0
	}
	return event.FileTime(sec*10_000_000 + 116444736000000000)
}

// OSInfo reads the product, version, build and install date from a
// SOFTWARE hive.
func (h *Hive) OSInfo() (o *OSInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			o, err = nil, fmt.Errorf("registry OS info: parser panic: %v", r)
		}
	}()
	if h.kind != KindSoftware {
		return nil, fmt.Errorf("registry OS info: hive is %s, not SOFTWARE", h.kind)
	}
	k, ok := h.Root().Open(`Microsoft\Windows NT\CurrentVersion`)
	if !ok {
		return nil, fmt.Errorf(`registry OS info: no Microsoft\Windows NT\CurrentVersion key`)
	}
	o = &OSInfo{
		ProductName: str(k, "ProductName"),
		EditionID:   str(k, "EditionID"),
		Version:     str(k, "CurrentVersion"),
		Owner:       str(k, "RegisteredOwner"),
	}
	for _, n := range []string{"DisplayVersion", "ReleaseId", "CSDVersion"} {
		if o.DisplayVersion = str(k, n); o.DisplayVersion != "" {
			break
		}
	}
	if o.Build = str(k, "CurrentBuild"); o.Build == "" {
		o.Build = str(k, "CurrentBuildNumber")
	}
	if ubr, ok := num(k, "UBR"); ok && o.Build != "" {
		o.Build += fmt.Sprintf(".%d", ubr)
	}
	// InstallTime (a FILETIME, Windows 10+) is exact; InstallDate is whole
	// Unix seconds and is reset by feature updates just the same.
	if n, ok := num(k, "InstallTime"); ok && n != 0 {
		o.InstallDate = event.FileTime(n)
	} else if n, ok := num(k, "InstallDate"); ok {
		o.InstallDate = unixTime(n)
	}
	return o, nil
}
