package scenario

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log"
	"sort"
	"strings"
	"time"

	fdisk "github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/forge/prefetch"
	"github.com/foothold/foothold/forge/regf"
	"github.com/foothold/foothold/parsers/event"
)

// LogDir is where Windows keeps its event logs, as a volume path.
const LogDir = `C:\Windows\System32\winevt\Logs\`

// finish orders the records, assigns record ids, applies log clears,
// writes hives, Prefetch and logs as files, and returns the host's disk.
func (g *gen) finish(hs *hostState) (*HostResult, error) {
	h := hs.h
	hr := &HostResult{Host: h, Logs: map[string][]evtx.Record{}}
	byCh := map[string][]*rec{}
	for _, x := range hs.recs {
		byCh[x.r.Channel] = append(byCh[x.r.Channel], x)
	}
	chans := make([]string, 0, len(byCh))
	for c := range byCh {
		chans = append(chans, c)
	}
	sort.Strings(chans)
	for _, c := range chans {
		recs := byCh[c]
		sortRecs(recs)
		// A long-running log does not start at record 1; a cleared one
		// restarts there with the records written after the clear.
		next := uint64(1 + g.rng("recid", h.Name, c).IntN(40000))
		if at, ok := hs.cleared[c]; ok {
			var kept []*rec
			for _, x := range recs {
				if x.r.Time >= at {
					kept = append(kept, x)
				}
			}
			recs, next = kept, 1
		}
		out := make([]evtx.Record, 0, len(recs))
		for _, x := range recs {
			x.r.RecordID = next
			next++
			x.r.Computer = g.s.FQDN(h)
			out = append(out, x.r)
			if x.step != "" && h.Collected {
				g.keys = append(g.keys, KeyEvent{Step: x.step, Host: h.Name, Channel: c, EventID: int(x.r.EventID), RecordID: x.r.RecordID, Time: x.r.Time, What: x.what})
			}
		}
		hr.Logs[c] = out
	}
	if !h.Collected {
		return hr, nil
	}
	inst := installTime(g.s, h)
	formatted := event.FromTime(inst.Add(time.Duration(h.ClockOffset)))
	collected := event.FromTime(g.s.CollectedAt.Add(time.Duration(h.ClockOffset)))
	setup := formatted + event.FileTime(3600*1e7)
	serial := g.rng("serial", h.Name).Uint64()
	hs.reg.dhcp(h, g.s.CollectedAt)
	if err := g.writeChromeHistory(hs); err != nil {
		return nil, err
	}
	if err := hs.writeJumpLists(); err != nil {
		return nil, err
	}
	if err := g.executionTraces(hs, uint32(serial), formatted); err != nil {
		return nil, err
	}
	if err := g.writeSRUM(hs, collected-event.FileTime(600*1e7)); err != nil {
		return nil, err
	}
	// Files and values of the steps, those the writers above added
	// (Prefetch, jump lists, SRUM) included.
	for _, fk := range hs.files {
		g.keys = append(g.keys, KeyEvent{Step: fk.step, Host: h.Name, Path: fk.path, Time: fk.at, What: fk.what})
	}
	for _, rk := range hs.regKeys {
		g.keys = append(g.keys, KeyEvent{Step: rk.step, Host: h.Name, Path: rk.key + `\` + rk.value, Time: rk.at.(event.FileTime), What: "registry value (key last-write)"})
	}
	var ops []fdisk.Op
	for _, d := range []string{`\Windows\System32\winevt\Logs`, `\Windows\System32\config`, `\Windows\Prefetch`, `\Windows\Temp`,
		`\Windows\AppCompat\Programs`, `\Windows\System32\Tasks\Microsoft\Windows`, `\ProgramData\Microsoft`, `\Program Files`, `\Users\Public`} {
		ops = append(ops, fdisk.Op{Kind: fdisk.OpMkdir, Path: d, At: setup})
	}
	// Ordinary system files, so the volume is not only evidence.
	for _, p := range []string{`\Windows\System32\cmd.exe`, `\Windows\System32\svchost.exe`, `\Windows\System32\services.exe`,
		`\Windows\System32\lsass.exe`, `\Windows\System32\mstsc.exe`, `\Windows\System32\sc.exe`, `\Windows\System32\schtasks.exe`,
		`\Windows\System32\wbem\WMIC.exe`, `\Windows\System32\wbem\WmiPrvSE.exe`, `\Windows\System32\rundll32.exe`,
		`\Windows\System32\comsvcs.dll`, `\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `\Windows\explorer.exe`} {
		// Signed by "Microsoft" (the case's test CA): the genuine system
		// copies beside which a dropped unsigned namesake stands out.
		img, err := g.binary(p, p, 16384, &Action{Signed: true, Publisher: "Microsoft Corporation"}, setup.Time())
		if err != nil {
			return nil, err
		}
		ops = append(ops, fdisk.Op{Kind: fdisk.OpFile, Path: p, At: setup, Data: img})
	}
	// Logs exist from setup and are last written at collection.
	for _, c := range chans {
		// A cleared log keeps its file even when nothing was written since.
		if _, cleared := hs.cleared[c]; len(hr.Logs[c]) == 0 && !cleared {
			continue
		}
		var b bytes.Buffer
		if err := evtx.Write(&b, hr.Logs[c]); err != nil {
			return nil, fmt.Errorf("log %s: %w", c, err)
		}
		p := ntPath(LogDir) + ChannelFile(c)
		ops = append(ops, fdisk.Op{Kind: fdisk.OpFile, Path: p, At: setup, Data: []byte{}})
		hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpWrite, Path: p, At: collected - event.FileTime(600*1e7), Data: b.Bytes()})
	}
	hiveFiles := []struct {
		path string
		root *regf.Key
		name string
	}{
		{`C:\Windows\System32\config\SYSTEM`, hs.reg.system, `\REGISTRY\MACHINE\SYSTEM`},
		{`C:\Windows\System32\config\SOFTWARE`, hs.reg.software, `\REGISTRY\MACHINE\SOFTWARE`},
		{`C:\Windows\AppCompat\Programs\Amcache.hve`, hs.reg.amcache, `\??\C:\Windows\AppCompat\Programs\Amcache.hve`},
	}
	users := make([]string, 0, len(hs.reg.users))
	for u := range hs.reg.users {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		hiveFiles = append(hiveFiles, struct {
			path string
			root *regf.Key
			name string
		}{`C:\Users\` + u + `\NTUSER.DAT`, hs.reg.users[u], `\??\C:\Users\` + u + `\ntuser.dat`})
	}
	for _, hf := range hiveFiles {
		b, err := regf.Bytes(hf.root, regf.Options{HiveName: hf.name, LastWritten: collected - event.FileTime(600*1e7)})
		if err != nil {
			return nil, fmt.Errorf("hive %s: %w", hf.path, err)
		}
		hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpFile, Path: ntPath(hf.path), At: collected - event.FileTime(600*1e7), Data: b})
	}
	sort.SliceStable(hs.ops, func(i, j int) bool {
		ai, aj := hs.ops[i].At, hs.ops[j].At
		if hs.ops[i].Kind == fdisk.OpRawTimes {
			ai = collected
		}
		if hs.ops[j].Kind == fdisk.OpRawTimes {
			aj = collected
		}
		return ai < aj
	})
	ops = append(ops, fillers(hs.ops, setup)...)
	ops = append(ops, hs.ops...)
	sort.SliceStable(ops, func(i, j int) bool {
		ai, aj := ops[i].At, ops[j].At
		if ops[i].Kind == fdisk.OpRawTimes {
			ai = collected
		}
		if ops[j].Kind == fdisk.OpRawTimes {
			aj = collected
		}
		return ai < aj
	})
	// A file made again over an existing one (a nightly copy) is an
	// overwrite; decide that in time order.
	exists := map[string]bool{}
	for i := range ops {
		k := strings.ToUpper(ops[i].Path)
		switch ops[i].Kind {
		case fdisk.OpFile:
			if exists[k] {
				ops[i].Kind = fdisk.OpWrite
			}
			exists[k] = true
		case fdisk.OpDelete:
			delete(exists, k)
		}
	}
	hr.Spec = &fdisk.Spec{
		Size: int64(h.Image.Size), Label: strings.ToUpper(h.Name), Formatted: formatted, Scheme: h.Image.Scheme,
		Journal: &fdisk.Journal{Created: formatted + event.FileTime(1800*1e7), MaxSize: 32 << 20, First: 1 << 20},
		Ops:     ops, Serial: serial,
		Warn: func(msg string) {
			if !strings.Contains(msg, `~DF`) {
				log.Printf("forge %s: %s", h.Name, msg)
			}
		},
	}
	if h.Image.Scheme == "mbr" {
		hr.Spec.DiskID = fmt.Sprintf("0x%08x", uint32(serial>>32))
	}
	return hr, nil
}

// executionTraces writes what a program run leaves besides logs: Prefetch
// (when enabled), ShimCache, Amcache and UserAssist.
func (g *gen) executionTraces(hs *hostState, serial uint32, formatted event.FileTime) error {
	keys := make([]string, 0, len(hs.runs))
	for k := range hs.runs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var shim []regf.ShimEntry
	vol := fmt.Sprintf(`\VOLUME{%016x-%08x}`, uint64(formatted), serial)
	for _, k := range keys {
		r := hs.runs[k]
		sort.Slice(r.times, func(i, j int) bool { return r.times[i] < r.times[j] })
		first, last := r.times[0], r.times[len(r.times)-1]
		shim = append(shim, regf.ShimEntry{Path: r.path, LastModified: formatted + event.FileTime(3600*1e7)})
		h := fnv.New32a()
		h.Write([]byte(k))
		name := strings.ToLower(baseName(r.path))
		id := "0000" + sha1hex(content(r.path, 16384))
		key(hs.reg.amcache, `Root\InventoryApplicationFile\`+fmt.Sprintf("%s|%08x", name, h.Sum32()), first).Set(
			regf.String("LowerCaseLongPath", strings.ToLower(r.path)), regf.String("Name", baseName(r.path)), regf.String("FileId", id),
			regf.String("ProgramId", fmt.Sprintf("0000%040x", h.Sum32())), regf.DWORD("Size", 16384), regf.String("LinkDate", "03/01/2023 10:00:00"))
		if r.ui && r.user != "" && !strings.HasSuffix(r.user, "$") {
			u := hs.reg.user(r.user)
			key(u, `Software\Microsoft\Windows\CurrentVersion\Explorer\UserAssist\{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}\Count`, last).Set(
				regf.UserAssistValue(r.path, uint32(len(r.times)), uint32(len(r.times)), uint32(60000*len(r.times)), last))
		}
		if !hs.h.Prefetch {
			continue
		}
		dev := `\DEVICE\HARDDISKVOLUME2` + strings.ToUpper(ntPath(r.path))
		times := make([]event.FileTime, 0, 8)
		for i := len(r.times) - 1; i >= 0 && len(times) < 8; i-- {
			times = append(times, r.times[i])
		}
		exe := strings.ToUpper(baseName(r.path))
		if len(exe) > 29 {
			exe = exe[:29]
		}
		pf := prefetch.File{Executable: exe, Path: dev, RunCount: uint32(len(r.times)), RunTimes: times,
			Files:   []string{vol + `\WINDOWS\SYSTEM32\NTDLL.DLL`, vol + `\WINDOWS\SYSTEM32\KERNEL32.DLL`, vol + strings.ToUpper(ntPath(r.path))},
			Volumes: []prefetch.Volume{{DevicePath: vol, Serial: serial, Created: formatted, Directories: []string{vol + `\WINDOWS`, vol + `\WINDOWS\SYSTEM32`}}}}
		var b bytes.Buffer
		if err := prefetch.Write(&b, pf, true); err != nil {
			return fmt.Errorf("prefetch of %s: %w", r.path, err)
		}
		p := `C:\Windows\Prefetch\` + prefetch.Name(pf)
		hs.file(fdisk.OpFile, p, first+event.FileTime(10*1e7), b.Bytes(), "", "")
		if last != first {
			hs.ops = append(hs.ops, fdisk.Op{Kind: fdisk.OpWrite, Path: ntPath(p), At: last + event.FileTime(10*1e7), Data: b.Bytes()})
		}
		if r.step != "" {
			hs.files = append(hs.files, fileKey{step: r.step, path: p, what: fmt.Sprintf("Prefetch, run count %d", len(r.times)), at: last + event.FileTime(10*1e7)})
		}
	}
	hs.writeBAM()
	// ShimCache lists the most recent first.
	sort.SliceStable(shim, func(i, j int) bool {
		ti, tj := hs.runs[strings.ToUpper(shim[i].Path)].times, hs.runs[strings.ToUpper(shim[j].Path)].times
		return ti[len(ti)-1] > tj[len(tj)-1]
	})
	key(hs.reg.system, `ControlSet001\Control\Session Manager\AppCompatCache`, formatted).Set(regf.Binary("AppCompatCache", regf.AppCompatCacheWin10(shim)))
	return nil
}

// fillers keep deleted files' MFT entries from being reused, as the
// scenario wants them recoverable: ntfs-3g gives a new file the lowest free
// entry, so temporary files made at setup and deleted just before the first
// deletion leave lower free entries for every later file.
func fillers(ops []fdisk.Op, setup event.FileTime) []fdisk.Op {
	first := -1
	for i, op := range ops {
		if op.Kind == fdisk.OpDelete {
			first = i
			break
		}
	}
	if first < 0 {
		return nil
	}
	n := 16
	for _, op := range ops[first:] {
		if op.Kind == fdisk.OpFile || op.Kind == fdisk.OpMkdir || op.Kind == fdisk.OpMove {
			n += 3 // the file and up to two new parent directories
		}
	}
	var out []fdisk.Op
	for i := 0; i < n; i++ {
		out = append(out, fdisk.Op{Kind: fdisk.OpFile, Path: fmt.Sprintf(`\Windows\Temp\~DF%04X.TMP`, 0x3A10+i*7), At: setup, Data: []byte{}})
	}
	for i := 0; i < n; i++ {
		out = append(out, fdisk.Op{Kind: fdisk.OpDelete, Path: fmt.Sprintf(`\Windows\Temp\~DF%04X.TMP`, 0x3A10+i*7), At: ops[first].At - 1})
	}
	return out
}

// writeBAM records each user's (and SYSTEM's) programs in the Background
// Activity Moderator's key, as Windows 10 1809 and later keep it
// (bam\State\UserSettings; 1709-1803 used bam\UserSettings): one value per
// program named by its device path, holding the last run's FILETIME and 16
// bytes of padding.
func (hs *hostState) writeBAM() {
	if hs.h.OS.Build < 16299 || len(hs.bam) == 0 {
		return
	}
	root := `ControlSet001\Services\bam\State\UserSettings\`
	if hs.h.OS.Build < 17763 {
		root = `ControlSet001\Services\bam\UserSettings\`
	}
	sids := make([]string, 0, len(hs.bam))
	for sid := range hs.bam {
		sids = append(sids, sid)
	}
	sort.Strings(sids)
	for i, sid := range sids {
		progs := make([]string, 0, len(hs.bam[sid]))
		var last event.FileTime
		for p, t := range hs.bam[sid] {
			progs = append(progs, p)
			if t > last {
				last = t
			}
		}
		sort.Strings(progs)
		k := key(hs.reg.system, root+sid, last)
		k.Set(regf.DWORD("Version", 1), regf.DWORD("SequenceNumber", uint32(i+2)))
		for _, p := range progs {
			data := make([]byte, 24)
			binary.LittleEndian.PutUint64(data, uint64(hs.bam[sid][p]))
			k.Set(regf.Binary(BAMDevicePrefix+ntPath(hs.runs[p].path), data))
		}
	}
}

// BAMDevicePrefix is the device the forged volumes have in BAM value
// names and Prefetch (the system volume is the second partition).
const BAMDevicePrefix = `\Device\HarddiskVolume2`
