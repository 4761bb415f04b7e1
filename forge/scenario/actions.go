package scenario

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf16"

	fdisk "github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/forge/regf"
)

// actor is the principal an action runs as on hs.
func (g *gen) actor(hs *hostState, account string) principal {
	if account == "" || account == "SYSTEM" {
		return g.machine(hs.h)
	}
	u := g.s.User(account)
	if hs.sessions == nil {
		hs.sessions = map[string]uint64{}
	}
	id, ok := hs.sessions[strings.ToLower(account)]
	if !ok {
		id = hs.newLogonID()
		hs.sessions[strings.ToLower(account)] = id
	}
	return g.userPrincipal(u, id)
}

func (g *gen) action(a *Action) (err error) {
	hs := g.host(a.Host)
	step := a.ID
	who := g.actor(hs, a.User)
	t := a.Time
	admin := a.User == "" || a.User == "SYSTEM"
	if u := g.s.User(a.User); u != nil {
		admin = g.isAdmin(u, hs.h)
	}
	size := int(a.Size)
	var derr error
	data := func(p string) []byte {
		if a.Content != "" {
			return []byte(a.Content)
		}
		b, err := g.binary(a.Path, g.s.Seed+p, size, a, t)
		if err != nil {
			derr = err
		}
		return b
	}
	defer func() {
		if derr != nil && err == nil {
			err = derr
		}
	}()
	switch a.Kind {
	case "download":
		at := hs.at(t, 0)
		hs.file(fdisk.OpFile, a.Path, at, data(a.Path), step, "downloaded file")
		zone := a.Zone
		if zone == 0 {
			zone = 3
		}
		z := fmt.Sprintf("[ZoneTransfer]\r\nZoneId=%d\r\n", zone)
		if a.Referrer != "" {
			z += "ReferrerUrl=" + a.Referrer + "\r\n"
		}
		z += "HostUrl=" + a.URL + "\r\n"
		hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpADS, Path: ntPath(a.Path) + ":Zone.Identifier", At: at, Data: []byte(z)})
		hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpUSN, Path: ntPath(a.Path), At: at, Reason: fdisk.ReasonStreamChange | fdisk.ReasonNamedDataExtend | fdisk.ReasonClose})
		hs.files = append(hs.files, fileKey{step: step, path: a.Path + ":Zone.Identifier", what: "Zone.Identifier", at: at})
		hs.downloads = append(hs.downloads, *a)
	case "run", "lsass-dump", "tunnel":
		img := a.Path
		cmd := a.Command
		if img == "" {
			img = exeOf(cmd)
		}
		if cmd == "" {
			cmd = `"` + img + `"`
		}
		parent := a.Parent
		what := "process " + baseName(img)
		if a.Kind == "lsass-dump" {
			what = "LSASS dump"
		}
		started := hs.at(t, 0)
		pid := g.run(hs, started, proc{who: who, image: img, cmd: cmd, parent: parent, elevated: admin, step: step, what: what, ui: a.Interactive})
		if a.Network {
			hs.usage = append(hs.usage, use{at: started, sid: who.sid, key: strings.ToUpper(img), network: true, step: step})
		}
		if a.Kind == "lsass-dump" && hs.h.Sysmon {
			at := hs.at(t, 150)
			hs.add(at, sm10(at, randGUID(hs.rng), pid, pid+4, img, randGUID(hs.rng), 712, `C:\Windows\system32\lsass.exe`, who.qualified()), step, "LSASS opened (Sysmon 10)")
		}
		if a.Kind == "tunnel" && hs.h.Sysmon {
			ap := netip.MustParseAddrPort(a.Remote)
			at := hs.at(t, 800)
			hs.add(at, sm3(at, randGUID(hs.rng), pid, img, who.qualified(), true, hs.h.AddressAt(t), g.s.FQDN(hs.h), uint16(49152+hs.rng.IntN(16000)),
				ap.Addr().String(), "-", ap.Port()), step, "tunnel connection to "+a.Remote)
		}
		for i, p := range a.Creates {
			at := hs.at(t, 1000+i*200)
			b, err := g.binary(p, g.s.Seed+p, 8192, nil, t)
			if err != nil {
				return err
			}
			hs.file(fdisk.OpFile, p, at, b, step, "created by "+baseName(img))
			if hs.h.Sysmon {
				hs.add(at, sm11(at, randGUID(hs.rng), pid, img, p, who.qualified()), step, "file created (Sysmon 11)")
			}
		}
		for i, p := range a.Deletes {
			hs.deleteFile(p, hs.at(t, 60*sec+i*200), step)
		}
	case "file", "copy":
		at := hs.at(t, 0)
		src := a.Path
		if a.Kind == "copy" {
			src = a.From
		}
		hs.file(fdisk.OpFile, a.Path, at, data(src), step, a.Kind)
		if hs.h.Sysmon {
			hs.add(at, sm11(at, randGUID(hs.rng), hs.pid(), `C:\Windows\explorer.exe`, a.Path, who.qualified()), step, "file created (Sysmon 11)")
		}
	case "delete":
		hs.deleteFile(a.Path, hs.at(t, 0), step)
	case "read":
		at := hs.atExact(t)
		hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpRawTimes, Path: ntPath(a.Path), SI: fdisk.Times{A: at}})
		hs.files = append(hs.files, fileKey{step: step, path: a.Path, what: "read ($SI accessed)", at: at})
	case "registry":
		lw := hs.at(t, 0)
		var root *regf.Key
		var rel string
		switch {
		case strings.HasPrefix(a.Key, `HKLM\SYSTEM\`):
			root, rel = hs.reg.system, strings.Replace(strings.TrimPrefix(a.Key, `HKLM\SYSTEM\`), "CurrentControlSet", "ControlSet001", 1)
		case strings.HasPrefix(a.Key, `HKLM\SOFTWARE\`):
			root, rel = hs.reg.software, strings.TrimPrefix(a.Key, `HKLM\SOFTWARE\`)
		default:
			root, rel = hs.reg.user(g.s.User(a.User).Name()), strings.TrimPrefix(a.Key, `HKCU\`)
		}
		var v regf.Value
		switch a.Type {
		case "REG_SZ":
			v = regf.String(a.Value, a.Data)
		case "REG_EXPAND_SZ":
			v = regf.ExpandString(a.Value, a.Data)
		case "REG_DWORD":
			n, _ := strconv.ParseUint(a.Data, 0, 32)
			v = regf.DWORD(a.Value, uint32(n))
		}
		k := key(root, rel, lw)
		oldType, oldData := valueText(k, a.Value)
		k.Set(v)
		hs.regKeys = append(hs.regKeys, regKey{step: step, key: a.Key, value: a.Value, at: lw})
		if hs.h.audits(AuditRegistry) {
			var object string
			switch {
			case strings.HasPrefix(a.Key, `HKLM\SOFTWARE\`):
				object = `\REGISTRY\MACHINE\SOFTWARE\` + rel
			case strings.HasPrefix(a.Key, `HKLM\SYSTEM\`):
				object = `\REGISTRY\MACHINE\SYSTEM\` + rel
			default:
				object = `\REGISTRY\USER\` + who.sid + `\` + rel
			}
			newData := a.Data
			if a.Type == "REG_DWORD" {
				n, _ := strconv.ParseUint(a.Data, 0, 32)
				newData = strconv.FormatUint(n, 10)
			}
			hs.add(lw, sec4657(who, object, a.Value, oldType, oldData, a.Type, newData, uint64(0x100+4*hs.rng.IntN(200)), uint64(hs.pid()), `C:\Windows\regedit.exe`),
				step, "registry value set (4657)")
		}
		if hs.h.Sysmon {
			hs.add(lw, sm13(lw, randGUID(hs.rng), hs.pid(), `C:\Windows\regedit.exe`, strings.Replace(a.Key, `HKLM\SYSTEM\`, `HKLM\System\`, 1)+`\`+a.Value, a.Data, who.qualified()), step, "registry value set (Sysmon 13)")
		}
	case "log-clear":
		at := hs.at(t, 0)
		hs.cleared[a.Channel] = at
		if a.Channel == chSecurity {
			hs.add(at, sec1102(who), step, "Security log cleared")
		} else {
			hs.add(at, sys104(who, a.Channel), step, a.Channel+" log cleared")
		}
	}
	return nil
}

type regKey struct {
	step, key, value string
	at               interface{ String() string }
}

func baseName(p string) string {
	if i := strings.LastIndex(p, `\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// valueText is a value's type and data as 4657 renders them ("" if the
// value does not exist).
func valueText(k *regf.Key, name string) (string, string) {
	for _, v := range k.Values {
		if !strings.EqualFold(v.Name, name) {
			continue
		}
		switch v.Type {
		case regf.TypeString, regf.TypeExpandString:
			u := make([]uint16, len(v.Data)/2)
			for i := range u {
				u[i] = uint16(v.Data[2*i]) | uint16(v.Data[2*i+1])<<8
			}
			typ := "REG_SZ"
			if v.Type == regf.TypeExpandString {
				typ = "REG_EXPAND_SZ"
			}
			return typ, strings.TrimRight(string(utf16.Decode(u)), "\x00")
		case regf.TypeDWORD:
			if len(v.Data) == 4 {
				return "REG_DWORD", strconv.FormatUint(uint64(binary.LittleEndian.Uint32(v.Data)), 10)
			}
		}
		return "REG_BINARY", fmt.Sprintf("%X", v.Data)
	}
	return "", ""
}
