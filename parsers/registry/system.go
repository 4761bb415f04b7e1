package registry

import (
	"fmt"
	"strings"
)

var startTypes = map[uint64]string{0: "boot", 1: "system", 2: "auto", 3: "demand", 4: "disabled"}

// systemKeys emits the SYSTEM keys of interest from the current control set:
// Select, ComputerName, TimeZoneInformation, Tcpip interfaces and services.
func (h *Hive) systemKeys(em *emitter) error {
	root := h.Root()
	if sel, ok := root.Subkey("Select"); ok {
		e := keyEvent("key", em.path("Select"), sel)
		cur, _ := num(sel, "Current")
		e.Message = fmt.Sprintf("Select key: current control set %d", cur)
		e.Add("key", "Select").Add("current", cur)
		if err := em.emit(e); err != nil {
			return err
		}
	}
	cs, csName, ok := h.currentControlSet()
	if !ok {
		return nil
	}
	id, _ := h.Identity()
	if k, ok := cs.Open(`Control\ComputerName\ComputerName`); ok {
		e := keyEvent("key", em.path(csName+`\Control\ComputerName\ComputerName`), k)
		name := str(k, "ComputerName")
		e.Message = "ComputerName key: " + name
		e.Add("key", "ComputerName").Add("computer_name", name)
		if err := em.emit(e); err != nil {
			return err
		}
	}
	if k, ok := cs.Open(`Control\TimeZoneInformation`); ok && id != nil {
		e := keyEvent("key", em.path(csName+`\Control\TimeZoneInformation`), k)
		e.Message = fmt.Sprintf("TimeZoneInformation key: %s (bias %d min, active bias %d min)", id.TimeZone, id.Bias, id.ActiveBias)
		e.Add("key", "TimeZoneInformation").Add("time_zone", id.TimeZone).Add("bias", id.Bias).Add("active_bias", id.ActiveBias)
		if err := em.emit(e); err != nil {
			return err
		}
	}
	if ifs, ok := cs.Open(`Services\Tcpip\Parameters\Interfaces`); ok {
		for _, ik := range em.subkeysOf(ifs) {
			itf, ok := readInterface(ik)
			if !ok {
				continue
			}
			e := keyEvent("key", em.path(csName+`\Services\Tcpip\Parameters\Interfaces\`+ik.Name()), ik)
			mode := "static"
			if itf.DHCP {
				mode = "DHCP"
			}
			e.Message = fmt.Sprintf("TCP/IP interface %s: %s address %s", itf.GUID, mode, itf.IP)
			e.Add("key", "Interface").Add("interface", itf.GUID).Add("ip", itf.IP).Add("mask", itf.Mask).Add("dhcp", itf.DHCP)
			if itf.Gateway != "" {
				e.Add("gateway", itf.Gateway)
			}
			if itf.DHCPServer != "" {
				e.Add("dhcp_server", itf.DHCPServer)
			}
			if itf.Domain != "" {
				e.Add("domain", itf.Domain)
			}
			if itf.LeaseObtained != 0 {
				e.Add("lease_obtained", itf.LeaseObtained)
			}
			if itf.LeaseExpires != 0 {
				e.Add("lease_expires", itf.LeaseExpires)
			}
			if err := em.emit(e); err != nil {
				return err
			}
		}
	}
	if svcs, ok := cs.Subkey("Services"); ok {
		for _, sk := range em.subkeysOf(svcs) {
			if err := em.service(csName, sk); err != nil {
				return err
			}
		}
	}
	return nil
}

func (em *emitter) service(csName string, sk Key) error {
	name := sk.Name()
	e := keyEvent("service", em.path(csName+`\Services\`+name), sk)
	image := str(sk, "ImagePath")
	account := str(sk, "ObjectName")
	e.Add("service_name", name)
	if image != "" {
		e.Add("image_path", image)
	}
	start, hasStart := num(sk, "Start")
	startName := ""
	if hasStart {
		startName = startTypes[start]
		if startName == "" {
			startName = fmt.Sprint(start)
		}
		e.Add("start_type", startName)
	}
	if t, ok := num(sk, "Type"); ok {
		e.Add("service_type", t)
	}
	if account != "" {
		e.Add("account", account)
	}
	if p, ok := sk.Subkey("Parameters"); ok {
		if dll := str(p, "ServiceDll"); dll != "" {
			e.Add("service_dll", dll)
		}
	}
	if dn := str(sk, "DisplayName"); dn != "" && !strings.HasPrefix(dn, "@") {
		e.Add("display_name", dn)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Service %s", name)
	if startName != "" {
		fmt.Fprintf(&b, " (%s start)", startName)
	}
	if image != "" {
		fmt.Fprintf(&b, ": %s", image)
	}
	if account != "" {
		fmt.Fprintf(&b, " as %s", account)
	}
	e.Message = b.String()
	return em.emit(e)
}

// runKeys are the autostart keys below SOFTWARE (machine) or NTUSER (user).
var machineRunKeys = []string{
	`Microsoft\Windows\CurrentVersion\Run`,
	`Microsoft\Windows\CurrentVersion\RunOnce`,
	`Microsoft\Windows\CurrentVersion\RunOnceEx`,
	`Microsoft\Windows\CurrentVersion\Policies\Explorer\Run`,
	`Wow6432Node\Microsoft\Windows\CurrentVersion\Run`,
	`Wow6432Node\Microsoft\Windows\CurrentVersion\RunOnce`,
}

var userRunKeys = []string{
	`Software\Microsoft\Windows\CurrentVersion\Run`,
	`Software\Microsoft\Windows\CurrentVersion\RunOnce`,
	`Software\Microsoft\Windows\CurrentVersion\Policies\Explorer\Run`,
	`Software\Microsoft\Windows NT\CurrentVersion\Windows\Run`,
}

// runValues emits one event per value of each Run key: the key's last-write
// time is the only time Windows keeps for them.
func (h *Hive) runValues(em *emitter, paths []string) error {
	for _, p := range paths {
		k, ok := h.Root().Open(p)
		if !ok {
			continue
		}
		for _, v := range em.valuesOf(k) {
			name, cmd := v.Name(), strings.TrimSpace(v.String())
			e := keyEvent("run", em.path(p), k)
			e.Message = fmt.Sprintf("Run key value %q: %s", name, cmd)
			e.Add("name", name).Add("command", cmd).Add("key", p[strings.LastIndex(p, `\`)+1:])
			if err := em.emit(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// softwareKeys emits machine Run keys and the scheduled-task cache.
func (h *Hive) softwareKeys(em *emitter) error {
	if err := h.runValues(em, machineRunKeys); err != nil {
		return err
	}
	return h.taskCache(em)
}

// ntuserKeys emits the user's Run keys, RDP client history, MountPoints2
// and Sysinternals EULA acceptances.
func (h *Hive) ntuserKeys(em *emitter) error {
	if err := h.runValues(em, userRunKeys); err != nil {
		return err
	}
	root := h.Root()
	const tsc = `Software\Microsoft\Terminal Server Client`
	if k, ok := root.Open(tsc + `\Default`); ok {
		for _, v := range em.valuesOf(k) {
			name := v.Name()
			if !strings.HasPrefix(strings.ToUpper(name), "MRU") {
				continue
			}
			pos := strings.TrimPrefix(strings.ToUpper(name), "MRU")
			target := strings.TrimSpace(v.String())
			e := keyEvent("rdp-mru", em.path(tsc+`\Default`), k)
			e.Message = fmt.Sprintf("RDP client MRU %s: %s", pos, target)
			e.Add("target_server", target).Add("mru_position", pos)
			if err := em.emit(e); err != nil {
				return err
			}
		}
	}
	if k, ok := root.Open(tsc + `\Servers`); ok {
		for _, sk := range em.subkeysOf(k) {
			srv, hint := sk.Name(), str(sk, "UsernameHint")
			e := keyEvent("rdp-server", em.path(tsc+`\Servers\`+srv), sk)
			e.Message = "RDP client connected to " + srv
			if hint != "" {
				e.Message += " as " + hint
			}
			e.Add("target_server", srv)
			if hint != "" {
				e.Add("username_hint", hint)
			}
			if err := em.emit(e); err != nil {
				return err
			}
		}
	}
	const mp2 = `Software\Microsoft\Windows\CurrentVersion\Explorer\MountPoints2`
	if k, ok := root.Open(mp2); ok {
		for _, sk := range em.subkeysOf(k) {
			name := sk.Name()
			e := keyEvent("mountpoint", em.path(mp2+`\`+name), sk)
			e.Add("mount", name)
			if strings.HasPrefix(name, "##") {
				unc := `\\` + strings.ReplaceAll(name[2:], "#", `\`)
				e.Add("unc", unc)
				e.Message = "Mount point " + unc
			} else {
				e.Message = "Mount point " + name
			}
			if err := em.emit(e); err != nil {
				return err
			}
		}
	}
	if k, ok := root.Open(`Software\Sysinternals`); ok {
		for _, sk := range em.subkeysOf(k) {
			if _, ok := sk.Value("EulaAccepted"); !ok {
				continue
			}
			acc, _ := num(sk, "EulaAccepted")
			tool := sk.Name()
			e := keyEvent("eula", em.path(`Software\Sysinternals\`+tool), sk)
			e.Message = "Sysinternals EULA accepted for " + tool
			e.Add("tool", tool).Add("eula_accepted", acc)
			if err := em.emit(e); err != nil {
				return err
			}
		}
	}
	return nil
}
