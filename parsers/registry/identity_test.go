package registry

import (
	"encoding/binary"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// regfexportValues returns the values of one key as regfexport prints them,
// by lower-cased name: text data as is, binary data as hex.
func regfexportValues(t *testing.T, hive, key string) map[string]string {
	t.Helper()
	out, err := exec.Command("regfexport", "-K", key, hive).Output()
	if err != nil {
		t.Fatalf("regfexport -K %s: %v", key, err)
	}
	vals := map[string]string{}
	var name string
	var hexData strings.Builder
	inHex := false
	flush := func() {
		if inHex {
			vals[name] = hexData.String()
		}
		inHex = false
		hexData.Reset()
	}
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "Value: "):
			flush()
			_, name, _ = strings.Cut(strings.TrimPrefix(l, "Value: "), " ")
			name = strings.ToLower(name) // value names are case-insensitive
		case l == "Data:":
			inHex = true
		case strings.HasPrefix(l, "Data: "):
			vals[name] = strings.TrimPrefix(l, "Data: ")
		case inHex && len(l) > 10 && l[8] == ':':
			hexData.WriteString(strings.ReplaceAll(l[10:58], " ", ""))
		case l == "":
			flush()
		}
	}
	flush()
	return vals
}

// TestIdentityMatchesRegfexport compares host identity from regipy's SYSTEM
// hives with the values regfexport prints for the same keys.
func TestIdentityMatchesRegfexport(t *testing.T) {
	needTool(t, "regfexport")
	for _, rel := range []string{"regipy/SYSTEM.xz", "regipy/SYSTEM_WIN_10_1709.xz", "regipy/SYSTEM_2.xz"} {
		t.Run(rel, func(t *testing.T) {
			data := readCorpus(t, rel)
			tmp := corpusTemp(t, "SYSTEM", data)
			h, err := Open(data)
			if err != nil {
				t.Fatal(err)
			}
			id, err := h.Identity()
			if err != nil {
				t.Fatal(err)
			}
			sel := regfexportValues(t, tmp, `Select`)
			if want := "ControlSet00" + sel["current"]; id.ControlSet != want {
				t.Errorf("control set %q, regfexport Select\\Current gives %q", id.ControlSet, want)
			}
			cs := id.ControlSet
			cn := regfexportValues(t, tmp, cs+`\Control\ComputerName\ComputerName`)
			if id.ComputerName == "" || id.ComputerName != cn["computername"] {
				t.Errorf("computer name %q, regfexport %q", id.ComputerName, cn["computername"])
			}
			tcp := regfexportValues(t, tmp, cs+`\Services\Tcpip\Parameters`)
			if id.Hostname != tcp["hostname"] || id.Domain != tcp["domain"] && id.Domain != tcp["nv domain"] {
				t.Errorf("hostname %q domain %q, regfexport %q %q", id.Hostname, id.Domain, tcp["hostname"], tcp["domain"])
			}
			tz := regfexportValues(t, tmp, cs+`\Control\TimeZoneInformation`)
			wantTZ := tz["timezonekeyname"]
			if wantTZ == "" {
				wantTZ = tz["standardname"]
			}
			bias, _ := strconv.ParseUint(tz["bias"], 10, 32)
			active, _ := strconv.ParseUint(tz["activetimebias"], 10, 32)
			if id.TimeZone != wantTZ || id.Bias != int(int32(bias)) || id.ActiveBias != int(int32(active)) {
				t.Errorf("time zone %q %d %d, regfexport %q %s %s", id.TimeZone, id.Bias, id.ActiveBias, wantTZ, tz["bias"], tz["activetimebias"])
			}
			win := regfexportValues(t, tmp, cs+`\Control\Windows`)
			if b, err := hex.DecodeString(win["shutdowntime"]); err == nil && len(b) == 8 {
				if uint64(id.LastShutdown) != binary.LittleEndian.Uint64(b) {
					t.Errorf("shutdown %v, regfexport %x", id.LastShutdown, b)
				}
			} else if id.LastShutdown != 0 {
				t.Errorf("shutdown %v, regfexport has none", id.LastShutdown)
			}
			if len(id.Interfaces) == 0 {
				t.Fatalf("no interface with an address")
			}
			for _, itf := range id.Interfaces {
				v := regfexportValues(t, tmp, cs+`\Services\Tcpip\Parameters\Interfaces\`+itf.GUID)
				if itf.DHCP {
					if itf.IP != v["dhcpipaddress"] || itf.DHCPServer != v["dhcpserver"] {
						t.Errorf("%s: DHCP %s from %s, regfexport %s from %s", itf.GUID, itf.IP, itf.DHCPServer, v["dhcpipaddress"], v["dhcpserver"])
					}
					lo, _ := strconv.ParseUint(v["leaseobtainedtime"], 10, 64)
					if itf.LeaseObtained != unixTime(lo) {
						t.Errorf("%s: lease obtained %v, regfexport %d", itf.GUID, itf.LeaseObtained, lo)
					}
				} else if b, err := hex.DecodeString(v["ipaddress"]); err != nil || !strings.HasPrefix(utf16all(b), strings.Split(itf.IP, ",")[0]) {
					t.Errorf("%s: static %s, regfexport %q", itf.GUID, itf.IP, v["ipaddress"])
				}
			}
			t.Logf("%+v", *id)
		})
	}
}

// TestOSInfoOnSoftwareOnly: OSInfo refuses other hive kinds, and Identity
// refuses non-SYSTEM hives (the corpus has no full SOFTWARE hive).
func TestOSInfoOnSoftwareOnly(t *testing.T) {
	h := openCorpus(t, "regipy/NTUSER.DAT.xz")
	if _, err := h.OSInfo(); err == nil {
		t.Error("OSInfo on an NTUSER hive")
	}
	if _, err := h.Identity(); err == nil {
		t.Error("Identity on an NTUSER hive")
	}
}

// TestKind names hives by content.
func TestKind(t *testing.T) {
	for rel, want := range map[string]string{
		"regipy/SYSTEM.xz":                               KindSystem,
		"regipy/NTUSER.DAT.xz":                           KindNTUser,
		"regipy/amcache.hve.xz":                          KindAmcache,
		"regipy/SAM.xz":                                  KindSAM,
		"regipy/SECURITY.xz":                             KindSecurity,
		"regipy/UsrClass.dat.xz":                         KindUsrClass,
		"regipy/BCD.xz":                                  KindUnknown,
		"velociraptor/Amcache.hve":                       KindAmcache,
		"EricZimmerman-Registry/SECURITY":                KindSecurity,
		"EricZimmerman-Registry/SAM":                     KindSAM,
		"EricZimmerman-Registry/NTUSER1.DAT":             KindNTUser,
		"EricZimmerman-Registry/UsrClassDeletedBags.dat": KindUsrClass,
	} {
		if got := openCorpus(t, rel).Kind(); got != want {
			t.Errorf("%s: kind %s, want %s", rel, got, want)
		}
	}
}
