package task

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/forge/artifacts"
	"github.com/foothold/foothold/parsers/event"
)

// TestForgeTaskXML round-trips the forge's TaskXML (UTF-16LE with BOM, the
// form Windows writes) through ParseXML, with and without the host zone.
func TestForgeTaskXML(t *testing.T) {
	zone := time.FixedZone("EST", -5*3600)
	reg := event.FromTime(time.Date(2023, 3, 1, 14, 2, 33, 0, time.UTC))
	start := event.FromTime(time.Date(2023, 3, 1, 14, 2, 0, 0, time.UTC))
	cases := []artifacts.Task{
		{URI: `\Microsoft\Windows\UpdateOrchestrator\Backup Scan`, Author: `CORP\svc_backup`, Date: reg, Zone: zone,
			Description: "Scans <backups> & more", Triggers: []artifacts.Trigger{{Kind: artifacts.BootTrigger, Start: start}},
			UserID: "S-1-5-18", RunLevel: "HighestAvailable", Command: `C:\ProgramData\TPM\TpmVscMgrSvr.exe`, Arguments: `-k "net svc" > nul`, Hidden: true},
		{URI: `\Daily`, Author: `WS01\alice`, Date: reg, Zone: zone,
			Triggers: []artifacts.Trigger{{Kind: artifacts.CalendarTrigger, Start: start, DaysInterval: 2}, {Kind: artifacts.LogonTrigger, Start: start}},
			UserID:   `WS01\alice`, LogonType: "InteractiveToken", Command: `cmd.exe`, Arguments: `/c whoami`},
	}
	for _, c := range cases {
		xmlBytes := artifacts.TaskXML(c)
		if !IsTaskXML(xmlBytes) || IsJob(xmlBytes) {
			t.Errorf("%s: sniffing: IsTaskXML %v IsJob %v", c.URI, IsTaskXML(xmlBytes), IsJob(xmlBytes))
		}
		name := `C:\Windows\System32\Tasks` + c.URI
		evs, st, err := parseBytes(t, name, xmlBytes, zone, true)
		if err != nil || st.Records != 1 || st.Errors != 0 || len(evs) != 1 {
			t.Fatalf("%s: %v %+v %d events", c.URI, err, st, len(evs))
		}
		e := &evs[0]
		if e.Time != c.Date || e.Type != "registered" || e.Artifact != event.Task || e.Path != name || e.User != c.UserID {
			t.Errorf("%s: time %s type %s artifact %s path %s user %s; want time %s", c.URI, e.Time, e.Type, e.Artifact, e.Path, e.User, c.Date)
		}
		runLevel := c.RunLevel
		if runLevel == "" {
			runLevel = "LeastPrivilege"
		}
		want := map[string]any{"task_name": c.URI, "command": c.Command, "arguments": c.Arguments, "target_path": c.Command,
			"run_as": c.UserID, "logon_type": c.LogonType, "run_level": runLevel, "author": c.Author,
			"registration_date": c.Date.Time().In(zone).Format("2006-01-02T15:04:05"), "hidden": c.Hidden, "enabled": true}
		for k, v := range want {
			if got := field(t, e, k); got != v {
				t.Errorf("%s: %s = %#v, want %#v", c.URI, k, got, v)
			}
		}
		if c.Description != "" && field(t, e, "description") != c.Description {
			t.Errorf("%s: description %q", c.URI, field(t, e, "description"))
		}
		trig := strings.Split(field(t, e, "triggers").(string), "\n")
		if len(trig) != len(c.Triggers) {
			t.Fatalf("%s: triggers %q", c.URI, trig)
		}
		for i, tr := range c.Triggers {
			w := string(tr.Kind) + " start " + tr.Start.Time().In(zone).Format("2006-01-02T15:04:05")
			if trig[i] != w {
				t.Errorf("%s: trigger %d = %q, want %q", c.URI, i, trig[i], w)
			}
		}
		// Without the zone the time is kept as text only.
		evs, _, err = parseBytes(t, name, xmlBytes, nil, false)
		if err != nil || len(evs) != 1 || evs[0].Time != 0 || !strings.Contains(evs[0].TimeDesc, "zone unknown") {
			t.Errorf("%s without zone: %v %+v", c.URI, err, evs)
		}
	}
}

// oracleScript reads the EVTX with python-evtx and the TaskContent with
// Python's ElementTree: an independent reader of XML Windows wrote.
const oracleScript = `
import sys, json, Evtx.Evtx as evtx, xml.etree.ElementTree as ET
E = '{http://schemas.microsoft.com/win/2004/08/events/event}'
T = '{http://schemas.microsoft.com/windows/2004/02/mit/task}'
def txt(n, path):
    x = n.find(path)
    return '' if x is None or x.text is None else x.text.strip()
out = []
for f in sys.argv[1:]:
    with evtx.Evtx(f) as log:
        for rec in log.records():
            root = ET.fromstring(rec.xml())
            d = {el.get('Name'): (el.text or '') for el in root.findall(E+'EventData/'+E+'Data')}
            c = d.get('TaskContent') or d.get('TaskContentNew') or ''
            if not c.strip():
                continue
            t = ET.fromstring(c.encode('utf-16'))
            p = t.find(T+'Principals/'+T+'Principal')
            ex = t.find(T+'Actions/'+T+'Exec')
            trig = t.find(T+'Triggers')
            out.append({'file': f, 'record': rec.record_num(), 'eid': txt(root, E+'System/'+E+'EventID'),
                'task_name': d.get('TaskName', ''), 'content': c,
                'uri': txt(t, T+'RegistrationInfo/'+T+'URI'), 'author': txt(t, T+'RegistrationInfo/'+T+'Author'),
                'date': txt(t, T+'RegistrationInfo/'+T+'Date'), 'description': txt(t, T+'RegistrationInfo/'+T+'Description'),
                'command': '' if ex is None else txt(ex, T+'Command'), 'arguments': '' if ex is None else txt(ex, T+'Arguments'),
                'run_as': '' if p is None else (txt(p, T+'UserId') or txt(p, T+'GroupId')),
                'logon_type': '' if p is None else txt(p, T+'LogonType'), 'run_level': '' if p is None else txt(p, T+'RunLevel'),
                'triggers': [] if trig is None else [ch.tag.replace(T, '') + ((' start ' + txt(ch, T+'StartBoundary')) if txt(ch, T+'StartBoundary') else '') + ((' end ' + txt(ch, T+'EndBoundary')) if txt(ch, T+'EndBoundary') else '') for ch in trig],
                'hidden': txt(t, T+'Settings/'+T+'Hidden'), 'enabled': txt(t, T+'Settings/'+T+'Enabled')})
json.dump(out, sys.stdout)
`

// taskContentFiles are the corpus logs holding scheduled-task events with
// TaskContent (4698 created, 4699 deleted, 4701 disabled, 4702 updated),
// found by running the oracle over every Security and TaskScheduler log
// under 3 MiB in the corpus.
var taskContentFiles = []string{
	"EVTX-ATTACK-SAMPLES/Execution/temp_scheduled_task_4698_4699.evtx",
	"EVTX-ATTACK-SAMPLES/Lateral Movement/LM_ScheduledTask_ATSVC_target_host.evtx",
	"EVTX-ATTACK-SAMPLES/Lateral Movement/remote task update 4624 4702 same logonid.evtx",
	"other/velociraptor/SecurityTasks.evtx",
}

type oracleTask struct {
	File, EID, Content                                 string
	Record                                             int64
	TaskName                                           string `json:"task_name"`
	URI, Author, Date, Description, Command, Arguments string
	RunAs                                              string `json:"run_as"`
	LogonType                                          string `json:"logon_type"`
	RunLevel                                           string `json:"run_level"`
	Triggers                                           []string
	Hidden, Enabled                                    string
}

func oracleTasks(t *testing.T) []oracleTask {
	t.Helper()
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("python3 not installed")
	}
	if _, err := os.Stat("/usr/bin/evtx_dump.py"); err != nil {
		t.Skip("python-evtx not installed")
	}
	args := []string{"-c", oracleScript}
	for _, f := range taskContentFiles {
		args = append(args, filepath.Join(testimg.Corpus(t), "evtx", f))
	}
	out, err := exec.Command("/usr/bin/python3", args...).Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var got []oracleTask
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestWindowsTaskContent parses every TaskContent Windows wrote into the
// corpus logs, as a UTF-16LE file with BOM (how it sits in System32\Tasks)
// and as UTF-8, and compares with ElementTree's reading.
func TestWindowsTaskContent(t *testing.T) {
	tasks := oracleTasks(t)
	// Non-empty TaskContent values: 2 + 2 + 1 + 5 (4698 x3, 4702, 4701 in
	// SecurityTasks; its three 4699 carry none), counted with python-evtx.
	if len(tasks) != 10 {
		t.Errorf("oracle found %d TaskContent values, want 10", len(tasks))
	}
	for _, o := range tasks {
		for _, enc := range []struct {
			name string
			b    []byte
		}{{"utf16", utf16LE(o.Content, true)}, {"utf8", []byte(o.Content)}} {
			id := filepath.Base(o.File) + "#" + o.EID + "/" + enc.name
			evs, st, err := parseBytes(t, `C:\Windows\System32\Tasks`+o.TaskName, enc.b, nil, false)
			if err != nil || st.Records != 1 || len(evs) != 1 {
				t.Errorf("%s: %v %+v", id, err, st)
				continue
			}
			e := &evs[0]
			want := map[string]any{"task_name": o.TaskName, "command": o.Command, "arguments": o.Arguments,
				"run_as": o.RunAs, "logon_type": o.LogonType, "run_level": o.RunLevel, "author": o.Author,
				"registration_date": o.Date, "hidden": o.Hidden == "true", "enabled": o.Enabled != "false",
				"triggers": strings.Join(o.Triggers, "\n")}
			if o.Command == "" {
				delete(want, "command")
				delete(want, "arguments")
			}
			for k, v := range want {
				if got, _ := e.Get(k); got != v {
					t.Errorf("%s: %s = %#v, want %#v", id, k, got, v)
				}
			}
			if o.URI != "" && o.URI != o.TaskName {
				t.Errorf("%s: oracle URI %q differs from event TaskName %q", id, o.URI, o.TaskName)
			}
			// The one Date with its own zone (-07:00) gives a UTC time; the
			// others stay text.
			if strings.HasSuffix(o.Date, "-07:00") {
				if e.Time.String() != "2020-09-02T11:47:49.7400000Z" {
					t.Errorf("%s: zoned date %q -> %s", id, o.Date, e.Time)
				}
			} else if e.Time != 0 {
				t.Errorf("%s: local date %q gave time %s without a zone", id, o.Date, e.Time)
			}
		}
	}
}

func TestLocalTime(t *testing.T) {
	ny := time.FixedZone("UTC-5", -5*3600)
	for _, c := range []struct {
		in    string
		bias  *time.Location
		want  string
		zoned bool
	}{
		{"2021-01-27T22:40:14", nil, "", false},
		{"2021-01-27T22:40:14", ny, "2021-01-28T03:40:14.0000000Z", true},
		{"2015-07-15T20:35:13.2757294", time.UTC, "2015-07-15T20:35:13.2757294Z", true},
		{"2020-09-02T04:47:49.74-07:00", nil, "2020-09-02T11:47:49.7400000Z", true},
		{"2020-09-02T04:47:49Z", ny, "2020-09-02T04:47:49.0000000Z", true},
		{"2020-09-02T04:47:49.123456789+01:30", nil, "2020-09-02T03:17:49.1234567Z", true},
		{"2020-13-02T04:47:49", time.UTC, "", false},
		{"2020-09-02T04:47:49+99:00", nil, "", false},
		{"2020-09-02", time.UTC, "", false},
		{"-020-09-02T04:47:49", time.UTC, "", false},
		{"garbage", time.UTC, "", false},
	} {
		ft, zoned := LocalTime(c.in, c.bias)
		if ft.String() != c.want || zoned != c.zoned {
			t.Errorf("LocalTime(%q) = %s %v, want %s %v", c.in, ft, zoned, c.want, c.zoned)
		}
	}
}

// TestJob reads .job files built from the [MS-TSCH] layout, with the
// values of plaso's wintask.job test (GoogleUpdate, last run
// 2013-08-24 12:42:00.112, daily trigger from 2013-07-12 15:42).
func TestJob(t *testing.T) {
	spec := jobSpec{product: 0x0601, status: 0x41300, flags: 0x21800000,
		lastRun: SystemTime{2013, 8, 6, 24, 12, 42, 0, 112},
		app:     `C:\Program Files (x86)\Google\Update\GoogleUpdate.exe`, params: "/ua /installsource scheduler",
		author: "Brian", comment: "Keeps your Google software up to date.", userData: []byte{1, 2, 3},
		triggers: []JobTrigger{{Type: 1, BeginYear: 2013, BeginMonth: 7, BeginDay: 12, StartHour: 15, StartMinute: 42, MinutesInterval: 60},
			{Type: 7, BeginYear: 2013, BeginMonth: 7, BeginDay: 12, EndYear: 2014, EndMonth: 1, EndDay: 2, Flags: 4}}}
	b := spec.bytes()
	if !IsJob(b) || IsTaskXML(b) {
		t.Fatalf("sniffing: IsJob %v IsTaskXML %v", IsJob(b), IsTaskXML(b))
	}
	name := `C:\Windows\Tasks\GoogleUpdateTaskMachineCore.job`
	evs, st, err := parseBytes(t, name, b, nil, false)
	if err != nil || st.Records != 1 || st.Errors != 0 {
		t.Fatalf("%v %+v", err, st)
	}
	e := &evs[0]
	if e.Type != "last_run" || e.Time != 0 || e.User != "Brian" || e.Path != name {
		t.Errorf("event %+v", e)
	}
	want := map[string]any{"task_name": "GoogleUpdateTaskMachineCore", "command": spec.app, "arguments": spec.params,
		"working_dir": "", "target_path": spec.app, "author": "Brian", "comment": spec.comment,
		"last_run": "2013-08-24T12:42:00.112", "status": "0x00041300", "flags": "0x21800000",
		"triggers": "Daily start 2013-07-12T15:42\nAtLogon start 2013-07-12T00:00 end 2014-01-02 disabled"}
	for k, v := range want {
		if got := field(t, e, k); got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	// With the zone, the last run is dated.
	var got []event.Event
	_, err = ParseJob(context.Background(), name, bytes.NewReader(b), int64(len(b)), time.FixedZone("CEST", 2*3600),
		event.SinkFunc(func(e *event.Event) error { got = append(got, *e); return nil }))
	if err != nil || len(got) != 1 || got[0].Time.String() != "2013-08-24T10:42:00.1120000Z" || got[0].TimeDesc != "Last run" {
		t.Errorf("with zone: %v %+v", err, got)
	}
	// A job that never ran.
	spec.lastRun = SystemTime{}
	evs, _, err = parseBytes(t, name, spec.bytes(), nil, false)
	if err != nil || evs[0].Type != "job" || !strings.Contains(evs[0].Message, "never run") {
		t.Errorf("never run: %v %+v", err, evs)
	}
	// Every truncation is an error or a partial job, never a panic.
	for n := 0; n < len(b); n++ {
		_, _, _ = parseBytes(t, name, b[:n], nil, false)
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"not xml", []byte("hello")},
		{"other root", []byte(`<?xml version="1.0"?><Job/>`)},
		{"unclosed", utf16LE(`<?xml version="1.0" encoding="UTF-16"?><Task><RegistrationInfo><URI>\x`, true)},
		{"odd utf16", append(utf16LE(`<Task/>`, true), 0x41)},
		{"job version 2", append([]byte{1, 6, 2, 0}, make([]byte, 100)...)},
	} {
		evs, st, err := parseBytes(t, c.name, c.b, nil, false)
		if c.name == "odd utf16" {
			if err != nil || len(evs) != 1 {
				t.Errorf("%s: %v %+v", c.name, err, evs)
			}
			continue
		}
		if err == nil || len(evs) != 0 || st.Errors != 1 || !strings.Contains(err.Error(), "task "+c.name) {
			t.Errorf("%s: err %v, %d events, %+v", c.name, err, len(evs), st)
		}
	}
	if _, err := Parse(context.Background(), "big", bytes.NewReader(nil), MaxFileSize+1, event.SinkFunc(func(*event.Event) error { return nil })); err == nil {
		t.Error("size cap not enforced")
	}
	// Deep nesting and many elements are bounded.
	deep := strings.Repeat("<a>", 200000)
	if _, _, err := parseBytes(t, "deep", []byte("<Task>"+deep), nil, false); err == nil {
		t.Error("200000 nested elements accepted")
	}
}
