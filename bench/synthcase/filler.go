package synthcase

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/scenario"
	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// Filler directories: where a Windows volume's files are.
var fillDirs = []string{
	`\Windows\System32`, `\Windows\System32\DriverStore\FileRepository\netrndis.inf_amd64_1a2b3c`, `\Windows\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35`,
	`\Windows\SysWOW64`, `\Windows\Temp`, `\Windows\Logs\CBS`, `\Windows\Prefetch`, `\Program Files\Microsoft Office\root\Office16`,
	`\Program Files\Google\Chrome\Application\111.0.5563.65`, `\Program Files (x86)\Microsoft\Edge\Application`, `\ProgramData\Microsoft\Windows Defender\Scans`,
	`\Users\%s\AppData\Local\Google\Chrome\User Data\Default\Cache\Cache_Data`, `\Users\%s\AppData\Local\Microsoft\Windows\INetCache\IE`,
	`\Users\%s\AppData\Roaming\Microsoft\Windows\Recent`, `\Users\%s\Documents`, `\Users\%s\Downloads`, `\Users\%s\AppData\Local\Temp`,
}

var fillExt = []string{".dll", ".exe", ".mui", ".cat", ".tmp", ".log", ".dat", ".xml", ".js", ".png", ".docx", ".xlsx", ".pf", ".etl", ".manifest"}

var fillPrograms = []string{`\Windows\System32\svchost.exe`, `\Windows\System32\conhost.exe`, `\Windows\System32\taskhostw.exe`,
	`\Windows\System32\backgroundTaskHost.exe`, `\Windows\System32\RuntimeBroker.exe`, `\Program Files\Google\Chrome\Application\chrome.exe`,
	`\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, `\Windows\System32\SearchProtocolHost.exe`, `\Windows\System32\dllhost.exe`,
	`\Windows\System32\MpCmdRun.exe`, `\Windows\explorer.exe`, `\Windows\System32\notepad.exe`}

var usnReasons = []struct {
	code uint32
	text string
}{
	{0x00000100, "FILE_CREATE"}, {0x00000002, "DATA_EXTEND"}, {0x80000002, "DATA_EXTEND|CLOSE"}, {0x80000100, "FILE_CREATE|CLOSE"},
	{0x00000001, "DATA_OVERWRITE"}, {0x80000200, "FILE_DELETE|CLOSE"}, {0x00008000, "BASIC_INFO_CHANGE"}, {0x00001000, "RENAME_OLD_NAME"},
	{0x00002000, "RENAME_NEW_NAME"}, {0x80000004, "DATA_TRUNCATION|CLOSE"},
}

// filler writes n events of the host's file system and registry: MFT
// $SI/$FN rows (55%), USN records (30%), Prefetch runs (8%) and registry
// key writes (7%), with the parsers' field names, at the host's clock.
type filler struct {
	r     *rand.Rand
	h     *scenario.Host
	user  string
	from  int64 // FILETIME range of background activity
	span  int64
	entry int64
	usn   int64
	ev    event.Event
}

func (f *filler) time() event.FileTime {
	return event.FileTime(f.from + f.r.Int64N(f.span))
}

func (f *filler) path() (dir, name string) {
	dir = fillDirs[f.r.IntN(len(fillDirs))]
	if strings.Contains(dir, "%s") {
		dir = fmt.Sprintf(dir, f.user)
	}
	name = fmt.Sprintf("%s%05x%s", []string{"tmp", "data", "cache_", "f_", "setup", "msi", "wer", "log"}[f.r.IntN(8)], f.r.IntN(1<<20), fillExt[f.r.IntN(len(fillExt))])
	return dir, name
}

func emitFiller(in *timeline.Ingest, s *scenario.Scenario, h *scenario.Host, n int64) (int64, error) {
	off := time.Duration(h.ClockOffset)
	f := &filler{r: hostRand(h), h: h, user: "administrator",
		from: int64(event.FromTime(s.Start.Add(off))), span: int64(event.FromTime(s.CollectedAt.Add(off))) - int64(event.FromTime(s.Start.Add(off))),
		entry: 1000, usn: 1 << 30}
	for _, u := range s.Users {
		if strings.EqualFold(u.Home, h.Name) {
			_, f.user, _ = strings.Cut(u.Account, `\`)
		}
	}
	var total int64
	mft := in.BeginSource(0, `$MFT`, "ntfs.mft", event.MFT)
	// The download's Zone.Identifier, as the MFT parser reports it.
	for _, a := range s.Actions {
		if a.Kind != "download" || !strings.EqualFold(a.Host, h.Name) {
			continue
		}
		p := a.Path
		if len(p) > 2 && p[1] == ':' {
			p = p[2:]
		}
		t := event.FromTime(a.Time.Add(off))
		f.entry++
		name := p[strings.LastIndexByte(p, '\\')+1:]
		e := &event.Event{Time: t, TimeDesc: "Zone.Identifier (file created)", Artifact: event.MFT, Type: "zone", Path: p,
			Message: fmt.Sprintf("Downloaded from %s (ZoneId=%d, Internet) %s", a.URL, a.Zone, p), Record: f.entry, Offset: f.entry * 1024}
		f.mftFields(e, name, t, t, t, t)
		e.Add("ads", []string{"Zone.Identifier"}).Add("zone_id", fmt.Sprint(a.Zone)).Add("host_url", a.URL).Add("referrer_url", a.Referrer)
		if err := mft.Emit(e); err != nil {
			return total, err
		}
		total++
	}
	nMFT, nUSN, nPF := n*55/100, n*30/100, n*8/100
	nReg := n - nMFT - nUSN - nPF
	var err error
	for k := int64(0); k < nMFT && err == nil; {
		var c int64
		c, err = f.mftEntry(mft, nMFT-k)
		k += c
		total += c
	}
	mft.Done(total, 0, err)
	if err != nil {
		return total, err
	}
	usn := in.BeginSource(0, `$Extend\$UsnJrnl:$J`, "ntfs.usn", event.USN)
	for k := int64(0); k < nUSN && err == nil; k++ {
		err = f.usnRecord(usn)
	}
	usn.Done(nUSN, 0, err)
	if err != nil {
		return total, err
	}
	total += nUSN
	pf := in.BeginSource(0, `\Windows\Prefetch`, "prefetch", event.Prefetch)
	for k := int64(0); k < nPF && err == nil; k++ {
		err = f.prefetchRun(pf)
	}
	pf.Done(nPF, 0, err)
	if err != nil {
		return total, err
	}
	total += nPF
	reg := in.BeginSource(0, `\Windows\System32\config\SOFTWARE`, "registry", event.Registry)
	for k := int64(0); k < nReg && err == nil; k++ {
		err = f.registryKey(reg)
	}
	reg.Done(nReg, 0, err)
	total += nReg
	return total, err
}

func (f *filler) mftFields(e *event.Event, name string, b, m, c, a event.FileTime) {
	e.Fields = e.Fields[:0]
	e.Add("entry", f.entry).Add("seq", int64(1+f.entry%7)).Add("inode", fmt.Sprintf("%d-128-%d", f.entry, 1+f.entry%5)).
		Add("attr", "$SI").Add("name", name).Add("parent_entry", int64(5+f.entry%900)).Add("parent_seq", int64(1+f.entry%3)).
		Add("size", int64(f.r.IntN(1<<22))).Add("alloc_size", int64(4096*(1+f.r.IntN(1024)))).Add("flags", "Archive").
		Add("in_use", true).Add("deleted", false).Add("dir", false).
		Add("si_b", b).Add("si_m", m).Add("si_c", c).Add("si_a", a).Add("fn_b", b).Add("fn_m", b).Add("fn_c", b).Add("fn_a", b)
}

// mftEntry emits one file's rows: $SI groups of distinct times and one $FN
// row, at most max.
func (f *filler) mftEntry(sink event.Sink, max int64) (int64, error) {
	f.entry++
	dir, name := f.path()
	p := dir + `\` + name
	b := f.time()
	m := b + event.FileTime(f.r.Int64N(3600*10_000_000))
	a := m
	if f.r.IntN(2) == 0 {
		a = b
	}
	vals, macbs := groups(m, a, m, b)
	e := &f.ev
	var n int64
	for i, v := range vals {
		if n >= max {
			return n, nil
		}
		*e = event.Event{Time: v, TimeDesc: "$SI [" + macbs[i] + "]", MACB: macbs[i], Artifact: event.MFT, Type: "si", Path: p,
			Message: "$SI " + macbs[i] + " " + p, Record: f.entry, Offset: f.entry * 1024, Fields: e.Fields}
		f.mftFields(e, name, b, m, m, a)
		if err := sink.Emit(e); err != nil {
			return n, err
		}
		n++
	}
	if n < max {
		*e = event.Event{Time: b, TimeDesc: "$FN [MACB]", MACB: "MACB", Artifact: event.MFT, Type: "fn", Path: p,
			Message: "$FN MACB " + p, Record: f.entry, Offset: f.entry * 1024, Fields: e.Fields}
		f.mftFields(e, name, b, m, m, a)
		if err := sink.Emit(e); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func groups(m, a, c, b event.FileTime) ([]event.FileTime, []string) {
	var vals []event.FileTime
	var macb []string
	for _, v := range [4]event.FileTime{m, a, c, b} {
		dup := false
		for _, x := range vals {
			dup = dup || x == v
		}
		if dup {
			continue
		}
		s := []byte("....")
		for i, x := range [4]event.FileTime{m, a, c, b} {
			if x == v {
				s[i] = "MACB"[i]
			}
		}
		vals = append(vals, v)
		macb = append(macb, string(s))
	}
	return vals, macb
}

func (f *filler) usnRecord(sink event.Sink) error {
	f.usn += int64(64 + f.r.IntN(64))
	dir, name := f.path()
	rs := usnReasons[f.r.IntN(len(usnReasons))]
	e := &f.ev
	*e = event.Event{Time: f.time(), TimeDesc: "USN record", Artifact: event.USN, Type: "usn", Path: dir + `\` + name,
		Message: "USN " + rs.text + " " + dir + `\` + name, Record: f.usn, Offset: f.usn, Fields: e.Fields[:0]}
	e.Add("usn", f.usn).Add("entry", int64(2000+f.r.IntN(200000))).Add("seq", int64(1+f.r.IntN(9))).
		Add("parent_entry", int64(5+f.r.IntN(900))).Add("parent_seq", int64(1+f.r.IntN(3))).
		Add("reason", fmt.Sprintf("0x%08x", rs.code)).Add("reasons", strings.Split(rs.text, "|")).
		Add("source_info", "0x00000000").Add("attributes", "Archive").Add("name", name).Add("version", "2.0")
	return sink.Emit(e)
}

func (f *filler) prefetchRun(sink event.Sink) error {
	prog := fillPrograms[f.r.IntN(len(fillPrograms))]
	exe := strings.ToUpper(prog[strings.LastIndexByte(prog, '\\')+1:])
	hash := fmt.Sprintf("%08X", f.r.Uint32())
	files := make([]string, 0, 10)
	for i := 0; i < 10; i++ {
		dir, name := f.path()
		files = append(files, `\VOLUME{01d94c1e2f3a4b5c-1a2b3c4d}`+strings.ToUpper(dir+`\`+name))
	}
	e := &f.ev
	*e = event.Event{Time: f.time(), TimeDesc: "Prefetch last run", Artifact: event.Prefetch, Type: "run",
		Path: `\Windows\Prefetch\` + exe + "-" + hash + ".pf", Message: "Prefetch: " + exe + " ran", Record: -1, Offset: -1, Fields: e.Fields[:0]}
	e.Add("executable", exe).Add("prefetch_hash", hash).Add("run_count", 1+f.r.IntN(200)).Add("target_path", prog).
		Add("format_version", 30).Add("compressed", true).Add("run_slot", f.r.IntN(8)).Add("files", files).
		Add("volumes", []string{`\VOLUME{01d94c1e2f3a4b5c-1a2b3c4d}`})
	return sink.Emit(e)
}

func (f *filler) registryKey(sink event.Sink) error {
	key := fmt.Sprintf(`HKLM\SOFTWARE\Classes\CLSID\{%08X-%04X-%04X-%04X-%012X}\InprocServer32`,
		f.r.Uint32(), f.r.IntN(1<<16), f.r.IntN(1<<16), f.r.IntN(1<<16), f.r.Int64N(1<<48))
	e := &f.ev
	*e = event.Event{Time: f.time(), TimeDesc: "Key last written", Artifact: event.Registry, Type: "key", Path: key,
		Message: "Key last written " + key, Record: -1, Offset: int64(4096 + f.r.IntN(1<<24)), Fields: e.Fields[:0]}
	e.Add("hive", `\Windows\System32\config\SOFTWARE`).Add("key", key).Add("values", 1+f.r.IntN(6)).Add("subkeys", f.r.IntN(3))
	return sink.Emit(e)
}
