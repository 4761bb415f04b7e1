package scenario

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/parsers/event"
)

// edgeScenario is minimal with one edge of the given technique and
// authentication from WS1 to SRV, with a DC; all three collected.
func edgeScenario(t *testing.T, technique, auth, extra string) *Result {
	t.Helper()
	src := fmt.Sprintf(`
name: t
seed: s
start: 2023-03-01T00:00:00Z
collected_at: 2023-03-02T00:00:00Z
background: {off: true}
organisation: {domain: CORP, dns: corp.example, sid: S-1-5-21-1-2-3}
hosts:
  - {name: WS1, role: workstation, os: {product: W10, build: 19045}, timezone: UTC, clock_offset: 30s, sysmon: true, prefetch: true, addresses: [{ip: 10.0.0.1}], collected: true, image: {container: raw, scheme: gpt, size: 16MiB}}
  - {name: SRV, role: server, os: {product: W2019, build: 17763}, timezone: UTC, sysmon: true, addresses: [{ip: 10.0.0.9}], collected: true, image: {container: raw, scheme: mbr, size: 16MiB}}
  - {name: DC, role: dc, os: {product: W2019, build: 17763}, timezone: UTC, addresses: [{ip: 10.0.0.5}], collected: true, image: {container: raw, scheme: mbr, size: 16MiB}}
users:
  - {account: CORP\a, rid: 1105, roles: [domain-admin]}
edges:
  - {id: E1, time: 2023-03-01T10:00:00Z, source: WS1, destination: SRV, technique: %s, account: CORP\a, authentication: %s, attack: true%s}
actions: []
`, technique, auth, extra)
	s, err := Parse([]byte(src), false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ids lists "channel/eid" of a host's records.
func ids(res *Result, host string) map[string]int {
	out := map[string]int{}
	for _, hr := range res.Hosts {
		if hr.Host.Name != host {
			continue
		}
		for c, recs := range hr.Logs {
			for _, r := range recs {
				out[fmt.Sprintf("%s/%d", shortChannel(c), r.EventID)]++
			}
		}
	}
	return out
}

func shortChannel(c string) string {
	switch c {
	case chSecurity:
		return "Sec"
	case chSystem:
		return "Sys"
	case chSysmon:
		return "SM"
	case chTask:
		return "TS"
	case chLSM:
		return "LSM"
	case chRCM:
		return "RCM"
	case chRDPC:
		return "RDPC"
	case chWinRM:
		return "WRM"
	case chWMI:
		return "WMI"
	case chPSo:
		return "PSo"
	case chPSc:
		return "PSc"
	}
	return c
}

// TestEdgeEvents checks each technique leaves the event IDs of
// lateral-movement.md §5 on the source, the destination and the DC.
func TestEdgeEvents(t *testing.T) {
	cases := []struct {
		tech, auth, extra string
		src, dst, dc      []string
	}{
		{"admin-share", "pass-the-hash", "", []string{"Sec/4624", "Sec/4688", "SM/1", "SM/3"}, []string{"Sec/4624", "Sec/4672", "Sec/5140", "Sec/5145"}, []string{"Sec/4776"}},
		{"wmi", "ntlm", "", []string{"Sec/4688", "SM/3"}, []string{"Sec/4624", "Sec/4672", "Sec/4688", "WMI/5857", "SM/1"}, []string{"Sec/4776"}},
		{"psexec", "kerberos", "", []string{"Sec/4688", "SM/3"}, []string{"Sec/4624", "Sec/4672", "Sec/5140", "Sec/5145", "Sys/7045", "Sec/4697", "Sys/7036", "Sec/4688"}, []string{"Sec/4769"}},
		{"remote-service", "explicit-credentials", `, service: {name: X, image_path: 'C:\x.exe', creates: 'C:\y.dll'}`, []string{"Sec/4648", "Sec/4688"}, []string{"Sec/4624", "Sec/5145", "Sys/7045", "Sec/4697", "SM/13", "SM/11"}, []string{"Sec/4768", "Sec/4769"}},
		{"scheduled-task", "explicit-credentials", `, task: {name: '\T', command: 'C:\x.exe'}`, []string{"Sec/4648", "Sec/4688"}, []string{"Sec/4624", "Sec/4698", "TS/106", "TS/200", "TS/201"}, []string{"Sec/4768", "Sec/4769"}},
		{"winrm", "overpass-the-hash", "", []string{"Sec/4624", "PSo/4104", "WRM/6", "SM/3"}, []string{"Sec/4624", "WRM/91", "Sec/4688", "PSc/400", "PSo/4104"}, []string{"Sec/4768", "Sec/4769"}},
		{"dcom", "kerberos", "", []string{"PSo/4104", "SM/3"}, []string{"Sec/4624", "Sec/4688"}, []string{"Sec/4769"}},
		{"rdp", "kerberos", "", []string{"RDPC/1024", "RDPC/1102", "Sec/4648", "Sec/4688"}, []string{"Sec/4624", "Sec/4672", "RCM/1149", "LSM/21", "LSM/22"}, []string{"Sec/4769"}},
	}
	for _, c := range cases {
		t.Run(c.tech, func(t *testing.T) {
			res := edgeScenario(t, c.tech, c.auth, c.extra)
			for side, want := range map[string][]string{"WS1": c.src, "SRV": c.dst, "DC": c.dc} {
				got := ids(res, side)
				for _, w := range want {
					if got[w] == 0 {
						t.Errorf("%s: no %s (have %v)", side, w, got)
					}
				}
			}
		})
	}
}

func find(res *Result, host, channel string, id uint16, pred func(map[string]any) bool) *evtx.Record {
	for _, hr := range res.Hosts {
		if hr.Host.Name != host {
			continue
		}
		for i, r := range hr.Logs[channel] {
			if r.EventID != id {
				continue
			}
			m := map[string]any{}
			for _, f := range r.Data {
				m[f.Key] = f.Value
			}
			if r.UserData != nil {
				for _, f := range r.UserData.Fields {
					m[f.Key] = f.Value
				}
			}
			if pred == nil || pred(m) {
				return &hr.Logs[channel][i]
			}
		}
	}
	return nil
}

// TestLogonFields checks the destination 4624 of each authentication and
// that the source's clock offset shifts its records, not the others'.
func TestLogonFields(t *testing.T) {
	res := edgeScenario(t, "admin-share", "pass-the-hash", "")
	r := find(res, "SRV", chSecurity, 4624, func(m map[string]any) bool { return m["LogonType"] == uint32(3) })
	if r == nil {
		t.Fatal("no 4624 type 3 on SRV")
	}
	want := map[string]any{"AuthenticationPackageName": "NTLM", "KeyLength": uint32(0), "IpAddress": "10.0.0.1", "WorkstationName": "WS1", "TargetUserName": "a", "TargetDomainName": "CORP"}
	for _, f := range r.Data {
		if w, ok := want[f.Key]; ok && !reflect.DeepEqual(w, f.Value) {
			t.Errorf("4624 %s = %v, want %v", f.Key, f.Value, w)
		}
	}
	if r.Computer != "SRV.corp.example" {
		t.Errorf("Computer = %q", r.Computer)
	}
	edge := event.FromTime(utc("2023-03-01 10:00:00"))
	if d := int64(r.Time) - int64(edge); d < 0 || d > 2e7 {
		t.Errorf("SRV 4624 at %s: not within 2 s after the edge", r.Time)
	}
	// WS1 runs 30 s ahead: its type 9 logon (20 s before the edge) reads 10 s after.
	r9 := find(res, "WS1", chSecurity, 4624, func(m map[string]any) bool { return m["LogonType"] == uint32(9) })
	if r9 == nil {
		t.Fatal("no 4624 type 9 on WS1")
	}
	if d := int64(r9.Time) - int64(edge); d < 10e7 || d > 10e7+1e4 {
		t.Errorf("WS1 type 9 at %s: clock offset not applied (%d ticks from the edge)", r9.Time, d)
	}
	res = edgeScenario(t, "psexec", "kerberos", "")
	dst := find(res, "SRV", chSecurity, 4624, func(m map[string]any) bool { return m["LogonType"] == uint32(3) })
	dc := find(res, "DC", chSecurity, 4769, nil)
	var g1, g2 any
	for _, f := range dst.Data {
		if f.Key == "LogonGuid" {
			g1 = f.Value
		}
	}
	for _, f := range dc.Data {
		if f.Key == "LogonGuid" {
			g2 = f.Value
		}
		if f.Key == "ServiceName" && f.Value != "SRV$" {
			t.Errorf("4769 ServiceName = %v", f.Value)
		}
	}
	if g1 == nil || g1 != g2 || g1 == evtx.GUID(nullGUID) {
		t.Errorf("LogonGuid dest %v DC %v: want equal and non-zero", g1, g2)
	}
	if find(res, "SRV", chSecurity, 5145, func(m map[string]any) bool {
		s, _ := m["RelativeTargetName"].(string)
		return strings.HasPrefix(s, "PSEXESVC-WS1-")
	}) == nil {
		t.Error("no PSEXESVC-WS1-... pipe")
	}
}

// TestDeterministic: the same scenario gives the same records and disks.
func TestDeterministic(t *testing.T) {
	s, err := Load(repoRoot(t) + "/testdata/cases/lab/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Hosts {
		if a.Hosts[i].Spec != nil {
			a.Hosts[i].Spec.Warn, b.Hosts[i].Spec.Warn = nil, nil
		}
	}
	if !reflect.DeepEqual(a.Hosts[0].Logs, b.Hosts[0].Logs) || !reflect.DeepEqual(a.Truth, b.Truth) {
		t.Fatal("two runs differ")
	}
	for i := range a.Hosts {
		if a.Hosts[i].Spec != nil && !reflect.DeepEqual(*a.Hosts[i].Spec, *b.Hosts[i].Spec) {
			t.Fatalf("host %s: disk specs differ", a.Hosts[i].Host.Name)
		}
	}
	total := 0
	for _, hr := range a.Hosts {
		for _, recs := range hr.Logs {
			total += len(recs)
		}
	}
	if total < 300 {
		t.Errorf("only %d records: background missing?", total)
	}
}

// TestLogClear: a cleared channel restarts at record 1 with only later records.
func TestLogClear(t *testing.T) {
	s, err := Load(repoRoot(t) + "/testdata/cases/lab/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	clear := event.FromTime(utc("2024-06-05 09:00:00"))
	for _, hr := range res.Hosts {
		if hr.Host.Name != "SQL02" {
			continue
		}
		recs := hr.Logs[chSecurity]
		if recs[0].EventID != 1102 || recs[0].RecordID != 1 {
			t.Fatalf("first Security record: %d id %d, want 1102 id 1", recs[0].EventID, recs[0].RecordID)
		}
		for _, r := range recs {
			if r.Time < clear {
				t.Fatalf("record %d at %s before the clear", r.RecordID, r.Time)
			}
		}
	}
	// Key events point at records that exist.
	have := map[string]bool{}
	for _, hr := range res.Hosts {
		for c, recs := range hr.Logs {
			for _, r := range recs {
				have[fmt.Sprintf("%s|%s|%d|%d", hr.Host.Name, c, r.EventID, r.RecordID)] = true
			}
		}
	}
	var missing []string
	for _, k := range res.Truth.KeyEvents {
		if k.Channel != "" && !have[fmt.Sprintf("%s|%s|%d|%d", k.Host, k.Channel, k.EventID, k.RecordID)] {
			missing = append(missing, fmt.Sprint(k))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("key events without records: %v", missing)
	}
}
