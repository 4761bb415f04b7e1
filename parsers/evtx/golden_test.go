package evtx

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

// goldenCases are records of the events lateral-movement analysis reads,
// by corpus file and EventRecordID.
var goldenCases = []struct {
	name, file string
	record     int64
}{
	{"4624 network logon (type 3)", "EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunnel_5156.evtx", 227740},
	{"4624 RDP logon (type 10) through a tunnel", "EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunnel_5156.evtx", 227762},
	{"4648 explicit credentials", "EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunnel_5156.evtx", 227700},
	{"1102 Security log cleared", "EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunnel_5156.evtx", 227693},
	{"7045 service installed", "EVTX-ATTACK-SAMPLES/Lateral Movement/LM_Remote_Service02_7045.evtx", 4480},
	{"5145 share object access", "EVTX-ATTACK-SAMPLES/Credential Access/CA_protectedstorage_5145_rpc_masterkey.evtx", 886983},
	{"Sysmon 1 process created", "EVTX-ATTACK-SAMPLES/Command and Control/DE_sysmon-3-rdp-tun.evtx", 1940899},
	{"Sysmon 3 network connection", "EVTX-ATTACK-SAMPLES/Command and Control/DE_sysmon-3-rdp-tun.evtx", 1940897},
	{"RCM 1149 RDP authentication", "EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx", 6},
	{"4698 scheduled task created", "EVTX-ATTACK-SAMPLES/Execution/temp_scheduled_task_4698_4699.evtx", 566836},
	{"PowerShell 4104 script block", "EVTX-ATTACK-SAMPLES/Credential Access/Powershell_4104_MiniDumpWriteDump_Lsass.evtx", 971},
	{"LSM 21 RDP session logon", "other/DFIRArtifactMuseum/Win10-APTSimulatorVM/Microsoft-Windows-TerminalServices-LocalSessionManager%4Operational.evtx", 25},
	{"WinRM 91 with ProcessingErrorData", "EVTX-ATTACK-SAMPLES/Lateral Movement/LM_winrm_target_wrmlogs_91_wsmanShellStarted_poorLog.evtx", 508},
	{"4769 Kerberos service ticket (RC4)", "other/velociraptor/EID4769_Kerberoasting.evtx", 243459},
}

type goldenField struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

type goldenEvent struct {
	Case     string        `json:"case"`
	File     string        `json:"file"`
	Time     string        `json:"time"`
	TimeDesc string        `json:"time_desc"`
	Type     string        `json:"type"`
	Host     string        `json:"host"`
	User     string        `json:"user"`
	Path     string        `json:"path"`
	Record   int64         `json:"record"`
	Offset   int64         `json:"offset"`
	Message  string        `json:"message"`
	Fields   []goldenField `json:"fields"`
}

func TestGolden(t *testing.T) {
	var got []goldenEvent
	for _, c := range goldenCases {
		p := parsePath(t, corpusFile(t, c.file))
		var found *event.Event
		for i := range p.events {
			if p.events[i].Record == c.record && !recovered(&p.events[i]) {
				found = &p.events[i]
				break
			}
		}
		if found == nil {
			t.Errorf("%s: record %d not found in %s", c.name, c.record, c.file)
			continue
		}
		g := goldenEvent{Case: c.name, File: c.file, Time: found.Time.String(), TimeDesc: found.TimeDesc, Type: found.Type,
			Host: found.Host, User: found.User, Path: found.Path, Record: found.Record, Offset: found.Offset, Message: found.Message}
		for _, f := range found.Fields {
			v := f.Value
			if ft, ok := v.(event.FileTime); ok {
				v = ft.String()
			}
			g.Fields = append(g.Fields, goldenField{f.Key, v})
		}
		got = append(got, g)
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "golden.json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		var w []goldenEvent
		_ = json.Unmarshal(want, &w)
		for i := range got {
			gj, _ := json.Marshal(got[i])
			var wj []byte
			if i < len(w) {
				wj, _ = json.Marshal(w[i])
			}
			if !bytes.Equal(gj, wj) {
				t.Errorf("%s differs from testdata/golden.json:\n got %s\nwant %s", got[i].Case, gj, wj)
			}
		}
		if len(got) != len(w) {
			t.Errorf("%d golden events, file has %d", len(got), len(w))
		}
	}
}

// TestNormalised checks the normalised fields of the golden records
// against the raw values evtxexport shows for them (see the differential
// test), so that the golden file is not the only guard.
func TestNormalised(t *testing.T) {
	cases := []struct {
		file   string
		record int64
		want   map[string]any
		msg    string
	}{
		{"EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunnel_5156.evtx", 227740, map[string]any{
			"logon_type": 3, "target_user": `EXAMPLE\admin01`, "workstation": "PC02", "auth_package": "NTLM",
			"logon_process": "NtLmSsp", "target_logon_id": "0x14871d", "key_length": 128,
		}, `Network logon (type 3) of EXAMPLE\admin01 from PC02 via NTLM, logon id 0x14871d`},
		{"EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunnel_5156.evtx", 227762, map[string]any{
			"logon_type": 10, "src_ip": "127.0.0.1", "workstation": "PC01", "process": `C:\Windows\System32\winlogon.exe`,
		}, ""},
		{"EVTX-ATTACK-SAMPLES/Command and Control/DE_sysmon-3-rdp-tun.evtx", 1940897, map[string]any{
			"src_ip": "239.255.255.250", "src_port": 1900, "dst_ip": "10.0.2.16", "dst_port": 57182, "process_id": int64(1608),
		}, ""},
		{"EVTX-ATTACK-SAMPLES/Command and Control/DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx", 6, map[string]any{
			"target_user": `ie11win7\administrator`, "target_domain": "ie11win7", "src_ip": "10.0.2.16",
		}, `Remote Desktop user authenticated: ie11win7\administrator from 10.0.2.16`},
		{"other/velociraptor/EID4769_Kerberoasting.evtx", 243459, map[string]any{
			"target_user": `DFIR.LAB\matt`, "service_name": "SVC-APP03", "src_ip": "192.168.63.1", "src_port": 52562,
		}, ""},
		{"EVTX-ATTACK-SAMPLES/Lateral Movement/LM_Remote_Service02_7045.evtx", 4480, map[string]any{
			"service_name": "spoolfool", "image_path": "cmd.exe",
		}, ""},
	}
	for _, c := range cases {
		p := parsePath(t, corpusFile(t, c.file))
		var e *event.Event
		for i := range p.events {
			if p.events[i].Record == c.record {
				e = &p.events[i]
				break
			}
		}
		if e == nil {
			t.Errorf("%s: record %d not found", c.file, c.record)
			continue
		}
		for k, v := range c.want {
			if got := field(e, k); fmt.Sprint(got) != fmt.Sprint(v) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", v) {
				t.Errorf("%s record %d: %s = %#v, want %#v", c.file, c.record, k, got, v)
			}
		}
		if c.msg != "" && e.Message != c.msg {
			t.Errorf("%s record %d: message %q, want %q", c.file, c.record, e.Message, c.msg)
		}
	}
}
