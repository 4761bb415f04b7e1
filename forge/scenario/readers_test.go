package scenario

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	vevtx "www.velocidex.com/golang/evtx"

	"github.com/foothold/foothold/forge/artifacts"
	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/parsers/event"
)

// evidence is a small case that leaves every record and registry value
// the engine writes besides the technique cores: RDP disconnect and
// reconnect (4779/4778), RdpCoreTS 131, PsExec pipes under Sysmon (17/18),
// WFP connections (5156) on both sides, an audited registry change (4657),
// MountPoints2 for an admin share and an ordinary share, BAM, SRUM.
const evidence = `
name: evidence
seed: ev
start: 2023-03-01T00:00:00Z
collected_at: 2023-03-03T00:00:00Z
background: {density: 0.3}
organisation: {domain: CORP, dns: corp.example, sid: S-1-5-21-1-2-3}
hosts:
  - {name: WS1, role: workstation, os: {product: W10, build: 19045}, timezone: UTC, clock_offset: 30s, sysmon: true, prefetch: true, srum: true,
     audit: [filtering-platform-connection], addresses: [{ip: 10.0.0.1}], collected: true, image: {container: raw, scheme: gpt, size: 16MiB}}
  - {name: SRV, role: server, os: {product: W2019, build: 17763}, timezone: UTC, clock_offset: -7s, sysmon: true,
     audit: [filtering-platform-connection, registry], addresses: [{ip: 10.0.0.9}], collected: true, image: {container: raw, scheme: mbr, size: 16MiB},
     shares: [{name: Projects, path: 'C:\Shares\Projects', users: [CORP\u], files: ['plan\q1.xlsx']}]}
  - {name: DC, role: dc, os: {product: W2019, build: 17763}, timezone: UTC, addresses: [{ip: 10.0.0.5}], collected: true, image: {container: raw, scheme: mbr, size: 16MiB}}
users:
  - {account: CORP\a, rid: 1105, roles: [domain-admin]}
  - {account: CORP\u, rid: 1106, roles: [user], home: WS1}
edges:
  - {id: E1, time: 2023-03-01T10:00:00Z, source: WS1, destination: SRV, technique: psexec, account: CORP\a, authentication: kerberos, attack: true}
  - {id: E2, time: 2023-03-01T11:00:00Z, source: WS1, destination: SRV, technique: rdp, account: CORP\a, authentication: kerberos, attack: true, disconnect: 10m}
  - {id: E3, time: 2023-03-01T12:00:00Z, source: WS1, destination: SRV, technique: admin-share, account: CORP\a, authentication: ntlm, attack: true}
actions:
  - {id: beacon, time: 2023-03-01T09:00:00Z, host: WS1, kind: run, user: CORP\u, path: 'C:\x\beacon.exe', network: true}
  - {id: dll, time: 2023-03-01T13:00:00Z, host: SRV, kind: registry, user: CORP\a, key: 'HKLM\SYSTEM\CurrentControlSet\Services\RasAuto\Parameters', value: ServiceDll, type: REG_EXPAND_SZ, data: 'C:\x\evil.dll'}
  - {id: start, time: 2023-03-01T13:00:01Z, host: SRV, kind: registry, user: CORP\a, key: 'HKLM\SYSTEM\CurrentControlSet\Services\RasAuto', value: Start, type: REG_DWORD, data: "2"}
`

func generateEvidence(t *testing.T) *Result {
	t.Helper()
	s, err := Parse([]byte(evidence), false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func hostResult(t *testing.T, res *Result, name string) *HostResult {
	t.Helper()
	for _, hr := range res.Hosts {
		if hr.Host.Name == name {
			return hr
		}
	}
	t.Fatalf("no host %s", name)
	return nil
}

// newIDs are the events this test covers, per channel.
var newIDs = map[string]map[uint16]bool{
	chSecurity: {4778: true, 4779: true, 5156: true, 4657: true},
	chSysmon:   {17: true, 18: true},
	chRCT:      {131: true},
}

// readerEvent is one <Event> as evtxexport or evtx_dump.py prints it.
type readerEvent struct {
	System struct {
		EventID  uint16 `xml:"EventID"`
		RecordID uint64 `xml:"EventRecordID"`
		Computer string `xml:"Computer"`
	} `xml:"System"`
	Data []struct {
		Name string `xml:"Name,attr"`
		Text string `xml:",chardata"`
	} `xml:"EventData>Data"`
}

var xmlDeclRe = regexp.MustCompile(`<\?xml[^>]*\?>`)

func readerEvents(t *testing.T, out []byte) map[uint64]readerEvent {
	t.Helper()
	// python-evtx declares XML 1.1, which encoding/xml refuses; nothing
	// in the documents needs 1.1.
	dec := xml.NewDecoder(bytes.NewReader(xmlDeclRe.ReplaceAll(out, nil)))
	evs := map[uint64]readerEvent{}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Event" {
			var e readerEvent
			if err := dec.DecodeElement(&e, &se); err != nil {
				t.Fatalf("event after record %d: %v", len(evs), err)
			}
			evs[e.System.RecordID] = e
		}
	}
	return evs
}

// render is a value as each reader prints it: both pad HexInt64 to 16
// digits and print size_t in decimal; python-evtx prints GUIDs in lower
// case (conventions measured in forge/evtx's reader tests).
func render(reader string, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case uint32, uint64:
		return fmt.Sprint(x)
	case evtx.SID:
		return string(x)
	case evtx.HexInt64:
		return fmt.Sprintf("0x%016x", uint64(x))
	case evtx.SizeT:
		return strconv.FormatUint(uint64(x), 10)
	case evtx.GUID:
		g := "{" + strings.ToUpper(strings.Trim(string(x), "{}")) + "}"
		if reader == "python-evtx" {
			return strings.ToLower(g)
		}
		return g
	}
	return fmt.Sprintf("unexpected %T", v)
}

// TestNewEventsReaders writes the channels holding the new events and
// reads them with libevtx's evtxexport, python-evtx and Velocidex evtx:
// each new record is there under its record id, with its computer and
// every EventData name and value in order.
func TestNewEventsReaders(t *testing.T) {
	for _, tool := range []string{"evtxexport", "/usr/bin/evtx_dump.py"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	res := generateEvidence(t)
	dir := t.TempDir()
	seen := map[string]int{}
	for _, hr := range res.Hosts {
		if !hr.Host.Collected {
			continue
		}
		for ch, ids := range newIDs {
			recs := hr.Logs[ch]
			if len(recs) == 0 {
				continue
			}
			path := filepath.Join(dir, hr.Host.Name+"-"+ChannelFile(ch))
			if err := evtx.WriteFile(path, recs); err != nil {
				t.Fatal(err)
			}
			for _, reader := range []struct {
				name string
				cmd  []string
			}{{"evtxexport", []string{"evtxexport", "-f", "xml", path}}, {"python-evtx", []string{"/usr/bin/python3", "/usr/bin/evtx_dump.py", path}}} {
				cmd := exec.Command(reader.cmd[0], reader.cmd[1:]...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s %s: %v: %s", reader.name, path, err, stderr.Bytes())
				}
				evs := readerEvents(t, out)
				for _, r := range recs {
					if !ids[r.EventID] {
						continue
					}
					where := fmt.Sprintf("%s %s record %d (%d) by %s", hr.Host.Name, ch, r.RecordID, r.EventID, reader.name)
					e, ok := evs[r.RecordID]
					if !ok {
						t.Errorf("%s: missing", where)
						continue
					}
					if e.System.EventID != r.EventID || e.System.Computer != r.Computer || len(e.Data) != len(r.Data) {
						t.Errorf("%s: event %d computer %q, %d values; wrote %d %q %d", where, e.System.EventID, e.System.Computer, len(e.Data), r.EventID, r.Computer, len(r.Data))
						continue
					}
					for i, d := range r.Data {
						if e.Data[i].Name != d.Key || e.Data[i].Text != render(reader.name, d.Value) {
							t.Errorf("%s: %s=%q, wrote %s=%q", where, e.Data[i].Name, e.Data[i].Text, d.Key, render(reader.name, d.Value))
						}
					}
					seen[fmt.Sprintf("%s/%d", reader.name, r.EventID)]++
				}
			}
			for _, r := range recs {
				if ids[r.EventID] {
					checkVelocidex(t, path, velocidexRecords(t, path), r)
					seen[fmt.Sprintf("velocidex/%d", r.EventID)]++
				}
			}
		}
	}
	for _, reader := range []string{"evtxexport", "python-evtx", "velocidex"} {
		for _, id := range []int{4778, 4779, 5156, 4657, 17, 18, 131} {
			if seen[fmt.Sprintf("%s/%d", reader, id)] == 0 {
				t.Errorf("%s: no event %d compared", reader, id)
			}
		}
	}
	t.Logf("compared: %v", seen)
}

// TestNewEventsMeaning checks what the new records say against the
// story: 5156 ports equal the destination logon's IpPort, RdpCoreTS 131
// names the type 10 logon's client ip:port, 4779/4778 the RDP session
// after the disconnect delay, 4657 the old and new ServiceDll, Sysmon 17
// names the client host and PID in PsExec's pipes.
func TestNewEventsMeaning(t *testing.T) {
	res := generateEvidence(t)
	field := func(r *evtx.Record, k string) any { return fieldOf(*r, k) }
	// E3 (admin share, port 445): source 5156 out, destination 5156 in and 4624.
	logon := find(res, "SRV", chSecurity, 4624, func(m map[string]any) bool {
		return m["LogonType"] == uint32(3) && m["AuthenticationPackageName"] == "NTLM"
	})
	if logon == nil {
		t.Fatal("E3: no NTLM network logon on SRV")
	}
	port := field(logon, "IpPort")
	out := find(res, "WS1", chSecurity, 5156, func(m map[string]any) bool {
		return m["DestPort"] == "445" && m["Direction"] == "%%14593" && m["SourcePort"] == port
	})
	in := find(res, "SRV", chSecurity, 5156, func(m map[string]any) bool {
		return m["SourcePort"] == "445" && m["Direction"] == "%%14592" && m["DestAddress"] == "10.0.0.1" && m["DestPort"] == port
	})
	if out == nil || in == nil {
		t.Fatalf("E3: no 5156 with the logon's client port %v: source %v, destination %v", port, out != nil, in != nil)
	}
	if field(out, "SourcePort") != port || field(in, "DestPort") != port || field(out, "Application") != "System" || field(out, "SourceAddress") != "10.0.0.1" {
		t.Errorf("E3 5156: source port %v, destination sees %v, logon IpPort %v, application %v", field(out, "SourcePort"), field(in, "DestPort"), port, field(out, "Application"))
	}
	// E2 (rdp): 131 ClientIP is the type 10 logon's address and port.
	l10 := find(res, "SRV", chSecurity, 4624, func(m map[string]any) bool { return m["LogonType"] == uint32(10) })
	c131 := find(res, "SRV", chRCT, 131, nil)
	if l10 == nil || c131 == nil || field(c131, "ClientIP") != fmt.Sprintf("%s:%s", field(l10, "IpAddress"), field(l10, "IpPort")) {
		t.Fatalf("131 %v vs 4624 type 10 %v", c131, l10)
	}
	// 4779 ten minutes after the edge (SRV's clock: -7 s), 4778 a minute later, same session.
	d := find(res, "SRV", chSecurity, 4779, nil)
	r := find(res, "SRV", chSecurity, 4778, nil)
	edge := event.FromTime(time.Date(2023, 3, 1, 11, 10, 0, 0, time.UTC).Add(-7 * time.Second))
	if d == nil || r == nil || d.Time < edge || d.Time > edge+event.FileTime(1e5) || r.Time-d.Time < 59e7 || r.Time-d.Time > 61e7 {
		t.Fatalf("4779 %v / 4778 %v: want at %s and a minute later", d, r, edge)
	}
	for _, x := range []*evtx.Record{d, r} {
		if field(x, "LogonID") != field(l10, "TargetLogonId") || field(x, "ClientName") != "WS1" || field(x, "ClientAddress") != "10.0.0.1" || !strings.HasPrefix(field(x, "SessionName").(string), "RDP-Tcp#") {
			t.Errorf("%d: %v", x.EventID, x.Data)
		}
	}
	// 4657: the DLL replaced the baseline value; Start 3 became 2.
	dll := find(res, "SRV", chSecurity, 4657, func(m map[string]any) bool { return m["ObjectValueName"] == "ServiceDll" })
	st := find(res, "SRV", chSecurity, 4657, func(m map[string]any) bool { return m["ObjectValueName"] == "Start" })
	if dll == nil || field(dll, "ObjectName") != `\REGISTRY\MACHINE\SYSTEM\ControlSet001\Services\RasAuto\Parameters` || field(dll, "OperationType") != "%%1905" ||
		field(dll, "OldValueType") != "%%1874" || field(dll, "OldValue") != `%SystemRoot%\System32\rasauto.dll` || field(dll, "NewValue") != `C:\x\evil.dll` {
		t.Errorf("4657 ServiceDll: %v", dll)
	}
	if st == nil || field(st, "OldValueType") != "%%1876" || field(st, "OldValue") != "3" || field(st, "NewValue") != "2" {
		t.Errorf("4657 Start: %v", st)
	}
	if find(res, "WS1", chSecurity, 4657, nil) != nil {
		t.Error("4657 on WS1, which does not audit the registry")
	}
	// Sysmon 17 on SRV: PSEXESVC's pipes name the client host and its PsExec PID.
	cl := find(res, "WS1", chSecurity, 4688, func(m map[string]any) bool { return strings.Contains(fmt.Sprint(m["CommandLine"]), "PsExec") })
	if cl == nil {
		t.Fatal("no PsExec 4688 on WS1")
	}
	pipe := fmt.Sprintf(`\PSEXESVC-WS1-%d-stdin`, uint64(field(cl, "NewProcessId").(evtx.SizeT)))
	if find(res, "SRV", chSysmon, 17, func(m map[string]any) bool { return m["PipeName"] == pipe && m["Image"] == `C:\Windows\PSEXESVC.exe` }) == nil ||
		find(res, "SRV", chSysmon, 18, func(m map[string]any) bool { return m["PipeName"] == pipe && m["Image"] == "System" }) == nil {
		t.Errorf("no Sysmon 17/18 for %s", pipe)
	}

}

// hiveOf returns the bytes of a hive file from the host's disk spec.
func hiveOf(t *testing.T, hr *HostResult, path string) []byte {
	t.Helper()
	var data []byte
	for _, op := range hr.Spec.Ops {
		if strings.EqualFold(op.Path, ntPath(path)) && op.Data != nil {
			data = op.Data
		}
	}
	if data == nil {
		t.Fatalf("%s: no %s", hr.Host.Name, path)
	}
	return data
}

type pyKey struct {
	Path        string  `json:"path"`
	LastWritten uint64  `json:"last_written"`
	Values      [][]any `json:"values"`
}

// pyregfKeys reads a hive with libregf's Python binding (the dump script
// of forge/regf's tests).
func pyregfKeys(t *testing.T, file string) map[string]pyKey {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", filepath.Join("..", "regf", "testdata", "pyregf_dump.py"), file).Output()
	if err != nil {
		t.Fatalf("pyregf_dump %s: %v", file, err)
	}
	keys := map[string]pyKey{}
	for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n"))[1:] {
		var k pyKey
		if err := json.Unmarshal(l, &k); err != nil {
			t.Fatal(err)
		}
		keys[k.Path] = k
	}
	return keys
}

func (k pyKey) value(name string) ([]byte, bool) {
	for _, v := range k.Values {
		if v[0].(string) == name {
			b, _ := hex.DecodeString(v[2].(string))
			return b, true
		}
	}
	return nil, false
}

// TestNewHiveValuesReaders reads BAM (SYSTEM) and MountPoints2 (NTUSER.DAT)
// with pyregf and regfexport: the BAM value of a program holds the time of
// its last 4688 and sixteen bytes of padding; ##SRV#C$ was last written at
// the admin-share copy, ##SRV#Projects at the user's last session on the
// share as SRV logged it (clocks converted).
func TestNewHiveValuesReaders(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import pyregf").Run(); err != nil {
		t.Skip("python3-libregf (pyregf) not installed")
	}
	if _, err := exec.LookPath("regfexport"); err != nil {
		t.Skip("regfexport not installed")
	}
	res := generateEvidence(t)
	ws, srv := hostResult(t, res, "WS1"), hostResult(t, res, "SRV")
	dir := t.TempDir()
	write := func(hr *HostResult, path string) string {
		p := filepath.Join(dir, hr.Host.Name+"-"+strings.ReplaceAll(ntPath(path), `\`, "_"))
		if err := os.WriteFile(p, hiveOf(t, hr, path), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	regfexport := func(file string) string {
		out, err := exec.Command("regfexport", file).Output()
		if err != nil {
			t.Fatalf("regfexport %s: %v", file, err)
		}
		return string(out)
	}

	// BAM: beacon.exe under u's SID at its 4688's time.
	sys := write(ws, `C:\Windows\System32\config\SYSTEM`)
	keys := pyregfKeys(t, sys)
	run := find(res, "WS1", chSecurity, 4688, func(m map[string]any) bool { return m["NewProcessName"] == `C:\x\beacon.exe` })
	if run == nil {
		t.Fatal("no 4688 of beacon.exe")
	}
	bamKey := `ROOT\ControlSet001\Services\bam\State\UserSettings\S-1-5-21-1-2-3-1106`
	k, ok := keys[bamKey]
	if !ok {
		t.Fatalf("pyregf: no %s", bamKey)
	}
	name := `\Device\HarddiskVolume2\x\beacon.exe`
	data, ok := k.value(name)
	if !ok || len(data) != 24 || event.FileTime(binary.LittleEndian.Uint64(data)) != run.Time || !bytes.Equal(data[8:], make([]byte, 16)) {
		t.Errorf("BAM %s = %x, want the 4688 time %s and 16 zero bytes", name, data, run.Time)
	}
	if n := len(k.Values); n < 5 {
		t.Errorf("BAM of u lists %d values: background programs missing", n)
	}
	// regfexport: the key, then the value with its 24 bytes as a hex dump.
	ex := regfexport(sys)
	i := strings.Index(ex, "Key path: "+bamKey+"\n")
	re := regexp.MustCompile(`Value: \d+ ` + regexp.QuoteMeta(name) + `\nType: binary data \(REG_BINARY\)\nData size: 24\nData:\n00000000: ([0-9a-f ]{48})`)
	if i < 0 {
		t.Errorf("regfexport does not list %s", bamKey)
	} else if m := re.FindStringSubmatch(ex[i:]); m == nil || strings.ReplaceAll(m[1], " ", "") != hex.EncodeToString(data[:16]) {
		t.Errorf("regfexport: BAM value %s: %v, want %x", name, m, data[:16])
	}

	// MountPoints2 in the NTUSER.DAT of the admin-share's client user (a)
	// and of the share's user (u).
	mp := `ROOT\Software\Microsoft\Windows\CurrentVersion\Explorer\MountPoints2\`
	na := pyregfKeys(t, write(ws, `C:\Users\a\NTUSER.DAT`))
	copyAt := event.FromTime(time.Date(2023, 3, 1, 12, 0, 30, 0, time.UTC)) // E3 at WS1's +30 s
	if k, ok := na[mp+`##SRV#C$`]; !ok || event.FileTime(k.LastWritten) < copyAt || event.FileTime(k.LastWritten) > copyAt+event.FileTime(1e4) {
		t.Errorf("##SRV#C$: %+v, want last written at %s", na[mp+`##SRV#C$`], copyAt)
	} else if b, _ := k.value("BaseClass"); utf16Text(b) != "Drive\x00" {
		t.Errorf("##SRV#C$ BaseClass %q", b)
	}
	nu := write(ws, `C:\Users\u\NTUSER.DAT`)
	var last event.FileTime
	for _, r := range srv.Logs[chSecurity] {
		if r.EventID == 5140 && fieldOf(r, "ShareName") == `\\*\Projects` && r.Time > last {
			last = r.Time
		}
	}
	if last == 0 {
		t.Fatal("no 5140 for Projects on SRV")
	}
	want := last + event.FileTime((37*time.Second)/100) // SRV -7 s, WS1 +30 s
	if k, ok := pyregfKeys(t, nu)[mp+`##SRV#Projects`]; !ok || event.FileTime(k.LastWritten) != want {
		t.Errorf("##SRV#Projects: %+v, want last written %s", k, want)
	}
	if ex := regfexport(nu); !strings.Contains(ex, "Key path: "+mp+"##SRV#Projects\n") {
		t.Error("regfexport does not list ##SRV#Projects")
	}
}

// TestSRUMBeacon reads the SRUDB.dat of WS1 with libesedb's esedbexport:
// the network usage table holds a row of the beacon for every hour from
// its start to collection, under u's SID.
func TestSRUMBeacon(t *testing.T) {
	if _, err := exec.LookPath("esedbexport"); err != nil {
		t.Skip("esedbexport not installed")
	}
	res := generateEvidence(t)
	ws := hostResult(t, res, "WS1")
	dir := t.TempDir()
	db := filepath.Join(dir, "SRUDB.dat")
	if err := os.WriteFile(db, hiveOf(t, ws, srumPath), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("esedbexport", "-t", filepath.Join(dir, "x"), db).CombinedOutput(); err != nil {
		t.Fatalf("esedbexport: %v\n%s", err, out)
	}
	read := func(glob string) [][]string {
		m, _ := filepath.Glob(filepath.Join(dir, "x.export", glob))
		if len(m) != 1 {
			t.Fatalf("esedbexport: %s: %v", glob, m)
		}
		b, err := os.ReadFile(m[0])
		if err != nil {
			t.Fatal(err)
		}
		var rows [][]string
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			rows = append(rows, strings.Split(l, "\t"))
		}
		return rows
	}
	col := func(rows [][]string, name string) int {
		for i, c := range rows[0] {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, rows[0])
		return -1
	}
	ids := read("SruDbIdMapTable.*")
	app, user := "", ""
	for _, r := range ids[1:] {
		blob := r[col(ids, "IdBlob")]
		b, _ := hex.DecodeString(blob)
		switch {
		case strings.Contains(utf16Text(b), `\device\harddiskvolume2\x\beacon.exe`):
			app = r[col(ids, "IdIndex")]
		case r[col(ids, "IdType")] == "3" && strings.HasSuffix(blob, "52040000"): // RID 1106 (0x452)
			user = r[col(ids, "IdIndex")]
		}
	}
	if app == "" || user == "" {
		t.Fatalf("SruDbIdMapTable: beacon %q, user %q", app, user)
	}
	net := read("{973F5D5C-1D90-4944-BE8E-24B94231A174}.*")
	n := 0
	for _, r := range net[1:] {
		if r[col(net, "AppId")] == app && r[col(net, "UserId")] == user {
			n++
		}
	}
	// 09:00:30 on WS1's clock to 23:50:30 on 03-02: hourly rows 10:00 .. 23:00 of 03-02.
	if n != 38 {
		t.Errorf("beacon network usage rows: %d, want 38", n)
	}
}

// TestArtifactFiles: the task file, Default.rdp and the PsExec key are
// forge/artifacts' (checked there against Windows' own 4698 TaskContent and
// files), and the 4698 TaskContent is the task file's text.
func TestArtifactFiles(t *testing.T) {
	fileOf := func(res *Result, host, suffix string) (string, []byte) {
		for _, op := range hostResult(t, res, host).Spec.Ops {
			if strings.HasSuffix(strings.ToLower(op.Path), strings.ToLower(suffix)) && op.Data != nil {
				return op.Path, op.Data
			}
		}
		t.Fatalf("%s: no file ending %s", host, suffix)
		return "", nil
	}
	res := edgeScenario(t, "scheduled-task", "explicit-credentials", `, task: {name: '\T', command: 'C:\x.exe /q'}`)
	_, xml := fileOf(res, "SRV", `\Windows\System32\Tasks\T`)
	r := find(res, "SRV", chSecurity, 4698, nil)
	if r == nil || fieldOf(*r, "TaskContent") != utf16Text(xml) {
		t.Fatalf("4698 TaskContent differs from the task file")
	}
	if !bytes.HasPrefix(xml, []byte{0xff, 0xfe}) || !strings.Contains(utf16Text(xml), "<Command>C:\\x.exe</Command>\r\n      <Arguments>/q</Arguments>") ||
		!strings.Contains(utf16Text(xml), "<StartBoundary>2023-03-01T10:00:00</StartBoundary>") {
		t.Errorf("task file:\n%s", utf16Text(xml))
	}
	res = edgeScenario(t, "rdp", "kerberos", "")
	if _, rdp := fileOf(res, "WS1", `\Documents\Default.rdp`); !bytes.Equal(rdp, artifacts.DefaultRDP("SRV", `CORP\a`)) {
		t.Error("Default.rdp is not artifacts.DefaultRDP")
	}
	res = edgeScenario(t, "psexec", "kerberos", "")
	p, key := fileOf(res, "SRV", ".key")
	id := strings.TrimSuffix(strings.TrimPrefix(p, `\Windows\PSEXEC-WS1-`), ".key")
	if p != `\Windows\`+artifacts.PsexecKeyName("WS1", id) || !bytes.Equal(key, artifacts.PsexecKey("WS1", id)) {
		t.Errorf("key file %s (%d bytes) is not artifacts'", p, len(key))
	}
}

// velocidexRecords reads an .evtx with Velocidex evtx, by record id.
func velocidexRecords(t *testing.T, path string) map[uint64]*ordereddict.Dict {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	chunks, err := vevtx.GetChunks(fh)
	if err != nil {
		t.Fatalf("velocidex %s: %v", path, err)
	}
	out := map[uint64]*ordereddict.Dict{}
	for _, c := range chunks {
		recs, err := c.Parse(0)
		if err != nil {
			t.Fatalf("velocidex %s chunk at %d: %v", path, c.Offset, err)
		}
		for _, r := range recs {
			if d, ok := r.Event.(*ordereddict.Dict); ok {
				if ev, ok := d.Get("Event"); ok {
					out[r.Header.RecordID], _ = ev.(*ordereddict.Dict)
				}
			}
		}
	}
	return out
}

// checkVelocidex compares one written record with what Velocidex evtx
// returns: event id, computer, and the named EventData in order. The new
// records hold strings, numbers, SIDs, GUIDs and size_t; Velocidex keeps
// numbers as Go integers, GUIDs without braces, and returns size_t as its
// raw bytes (dependencies.md D12), which is what is expected here.
func checkVelocidex(t *testing.T, path string, got map[uint64]*ordereddict.Dict, r evtx.Record) {
	t.Helper()
	where := fmt.Sprintf("velocidex %s record %d (%d)", filepath.Base(path), r.RecordID, r.EventID)
	ev := got[r.RecordID]
	if ev == nil {
		t.Errorf("%s: missing", where)
		return
	}
	sysv, _ := ev.Get("System")
	sys, _ := sysv.(*ordereddict.Dict)
	var id, computer any
	if sys != nil {
		if v, ok := sys.Get("EventID"); ok {
			if d, ok := v.(*ordereddict.Dict); ok {
				id, _ = d.Get("Value")
			}
		}
		computer, _ = sys.Get("Computer")
	}
	if fmt.Sprint(id) != fmt.Sprint(r.EventID) || computer != r.Computer {
		t.Errorf("%s: event %v computer %v", where, id, computer)
		return
	}
	edv, _ := ev.Get("EventData")
	ed, _ := edv.(*ordereddict.Dict)
	if ed == nil || len(ed.Keys()) != len(r.Data) {
		t.Errorf("%s: EventData %v, wrote %d values", where, edv, len(r.Data))
		return
	}
	for i, k := range ed.Keys() {
		v, _ := ed.Get(k)
		d := r.Data[i]
		var want any = d.Value
		switch x := d.Value.(type) {
		case evtx.HexInt64:
			want = uint64(x)
		case evtx.SID:
			want = string(x)
		case evtx.GUID:
			want = strings.Trim(string(x), "{}")
		case evtx.SizeT:
			want = strings.TrimRight(string(binary.LittleEndian.AppendUint64(nil, uint64(x))), "\x00")
		}
		if k != d.Key || fmt.Sprint(v) != fmt.Sprint(want) {
			t.Errorf("%s: %s=%#v, wrote %s=%#v", where, k, v, d.Key, want)
		}
	}
}
