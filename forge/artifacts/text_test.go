package artifacts

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"html"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// decodeUTF16 checks the FF FE mark and decodes the rest.
func decodeUTF16(t *testing.T, b []byte) string {
	t.Helper()
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xFE || len(b)%2 != 0 {
		t.Fatalf("no UTF-16LE BOM or odd length: % x", b[:min(len(b), 4)])
	}
	u := make([]uint16, (len(b)-2)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2+2*i:])
	}
	return string(utf16.Decode(u))
}

// taskFile mirrors the task schema for encoding/xml.
type taskFile struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/windows/2004/02/mit/task Task"`
	Version string   `xml:"version,attr"`
	Reg     struct {
		Date, Author, URI string
	} `xml:"RegistrationInfo"`
	Boot     []struct{ StartBoundary, Enabled string } `xml:"Triggers>BootTrigger"`
	Calendar []struct {
		StartBoundary string
		Days          int `xml:"ScheduleByDay>DaysInterval"`
	} `xml:"Triggers>CalendarTrigger"`
	Hidden  string `xml:"Settings>Hidden"`
	Actions struct {
		Context string `xml:"Context,attr"`
		Command string `xml:"Exec>Command"`
		Args    string `xml:"Exec>Arguments"`
	}
	UserID string `xml:"Principals>Principal>UserId"`
	Level  string `xml:"Principals>Principal>RunLevel"`
}

func TestTaskXMLParses(t *testing.T) {
	// E3 on BUILD01 (UTC) and a daily task in a US zone.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	e3 := Task{
		URI: `\Microsoft\Windows\UpdateOrchestrator\Backup Scan`, Author: `CORP\svc_backup`,
		Date:     ft(2023, 3, 9, 11, 47, 20, 417000000),
		Triggers: []Trigger{{Kind: BootTrigger, Start: ft(2023, 3, 9, 11, 47, 0, 0)}},
		UserID:   "S-1-5-18", Command: `C:\ProgramData\TPM\TpmVscMgrSvr.exe`,
	}
	daily := Task{
		URI: `\Backup <nightly> & "copy"`, Author: `CORP\it.helpdesk`, Zone: ny,
		Date:     ft(2023, 3, 13, 13, 0, 0, 0), // 09:00 EDT (DST began 03-12)
		Triggers: []Trigger{{Kind: CalendarTrigger, Start: ft(2023, 3, 14, 7, 0, 0, 0), DaysInterval: 2}},
		UserID:   `CORP\it.helpdesk`, LogonType: "Password", RunLevel: "HighestAvailable",
		Command: `cmd.exe`, Arguments: `/c "robocopy C:\a \\FS01\C$\b" > nul`, Hidden: true,
	}
	for _, tc := range []struct {
		task                                   Task
		date, start, cmd, args, user, level, h string
	}{
		{e3, "2023-03-09T11:47:20", "2023-03-09T11:47:00", e3.Command, "", "S-1-5-18", "LeastPrivilege", "false"},
		{daily, "2023-03-13T09:00:00", "2023-03-14T03:00:00", "cmd.exe", daily.Arguments, daily.UserID, "HighestAvailable", "true"},
	} {
		raw := TaskXML(tc.task)
		s := decodeUTF16(t, raw)
		if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") || strings.HasSuffix(s, "\n") {
			t.Errorf("%s: bare LF or trailing newline", tc.task.URI)
		}
		// encoding/xml refuses encoding="UTF-16" declarations on decoded
		// text; the CharsetReader hook accepts what we already decoded.
		d := newTaskDecoder(s)
		var f taskFile
		if err := d.Decode(&f); err != nil {
			t.Fatalf("%s: encoding/xml: %v", tc.task.URI, err)
		}
		start := ""
		if len(f.Boot) == 1 {
			start = f.Boot[0].StartBoundary
		} else if len(f.Calendar) == 1 {
			start = f.Calendar[0].StartBoundary
			if f.Calendar[0].Days != 2 {
				t.Errorf("DaysInterval %d", f.Calendar[0].Days)
			}
		}
		got := []string{f.Version, f.Reg.Date, f.Reg.Author, f.Reg.URI, start, f.Actions.Command, f.Actions.Args, f.Actions.Context, f.UserID, f.Level, f.Hidden}
		want := []string{"1.2", tc.date, tc.task.Author, tc.task.URI, tc.start, tc.cmd, tc.args, "Author", tc.user, tc.level, tc.h}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("parsed\n got %q\nwant %q", got, want)
		}
	}
}

// The strongest check available without Windows: for the same inputs our
// XML equals, character for character, the TaskContent Windows logged in
// 4698 for a schtasks-created task (velociraptor SecurityTasks.evtx), as
// python-evtx decodes it.
func TestTaskXMLMatchesWindows4698(t *testing.T) {
	need(t, "/usr/bin/evtx_dump.py")
	evtx := filepath.Join(corpusDir(t), "evtx", "other", "velociraptor", "SecurityTasks.evtx")
	out, err := exec.Command("/usr/bin/python3", "/usr/bin/evtx_dump.py", evtx).Output()
	if err != nil {
		t.Fatalf("evtx_dump.py: %v", err)
	}
	var contents []string
	for _, m := range regexp.MustCompile(`(?s)<Data Name="TaskContent">(.*?)</Data>`).FindAllSubmatch(out, -1) {
		if len(m[1]) > 0 {
			contents = append(contents, html.UnescapeString(string(m[1])))
		}
	}
	find := func(uri string) string {
		for _, c := range contents {
			if strings.Contains(c, "<URI>"+uri+"</URI>") {
				return c
			}
		}
		t.Fatalf("no TaskContent for %s in %s", uri, evtx)
		return ""
	}
	for _, tc := range []struct {
		uri  string
		task Task
	}{
		{`\T1053_005_OnStartup`, Task{URI: `\T1053_005_OnStartup`, Author: `RE-DEV\yolo`, Date: ft(2021, 1, 27, 22, 40, 14, 0),
			Triggers: []Trigger{{Kind: BootTrigger, Start: ft(2021, 1, 27, 22, 40, 0, 0)}},
			UserID:   "S-1-5-18", Command: "cmd.exe", Arguments: "/c calc.exe"}},
		{`\T1053_005_OnLogon`, Task{URI: `\T1053_005_OnLogon`, Author: `RE-DEV\yolo`, Date: ft(2021, 1, 27, 22, 40, 14, 0),
			Triggers: []Trigger{{Kind: LogonTrigger, Start: ft(2021, 1, 27, 22, 40, 0, 0)}},
			UserID:   `RE-DEV\yolo`, LogonType: "InteractiveToken", Command: "cmd.exe", Arguments: "/c calc.exe"}},
	} {
		want := find(tc.uri)
		got := decodeUTF16(t, TaskXML(tc.task))
		if got != want {
			t.Errorf("%s differs from Windows:\n--- ours\n%s\n--- 4698\n%s", tc.uri, got, want)
		}
	}
}

func TestDefaultRDPLayout(t *testing.T) {
	raw := DefaultRDP("DC01", `CORP\adm.jchen`)
	if !bytes.HasPrefix(raw, []byte{0xFF, 0xFE}) {
		t.Fatal("no BOM")
	}
	s := decodeUTF16(t, raw)
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Error("lines must end in CRLF, last line included")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	if len(lines) != len(defaultRDPKeys) {
		t.Errorf("%d lines, want %d", len(lines), len(defaultRDPKeys))
	}
	re := regexp.MustCompile(`^[a-z :]+:[isb]:.*$`)
	seen := map[string]bool{}
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("line %q is not name:type:value", l)
		}
		seen[l] = true
	}
	for _, want := range []string{"full address:s:DC01", `username:s:CORP\adm.jchen`, "screen mode id:i:2", "authentication level:i:2"} {
		if !seen[want] {
			t.Errorf("missing %q", want)
		}
	}
	// First bytes: BOM then "s\0c\0".
	if !bytes.Equal(raw[:6], []byte{0xFF, 0xFE, 's', 0, 'c', 0}) {
		t.Errorf("starts % x", raw[:6])
	}
	if s := decodeUTF16(t, DefaultRDP("FS01", "")); strings.Contains(s, "username:") {
		t.Error("username line written without a user")
	}
}

func TestPsexecKey(t *testing.T) {
	if got := PsexecKeyName("ws-dev02", "5a1f30c2"); got != "PSEXEC-WS-DEV02-5A1F30C2.key" {
		t.Errorf("name %q", got)
	}
	a, b := PsexecKey("WS-DEV02", "5A1F30C2"), PsexecKey("ws-dev02", "5a1f30c2")
	if len(a) != PsexecKeyLen || !bytes.Equal(a, b) {
		t.Errorf("key not stable: % x / % x", a, b)
	}
	if bytes.Equal(a, PsexecKey("WS-DEV02", "5A1F30C3")) {
		t.Error("different ids give the same content")
	}
}

// newTaskDecoder parses already-decoded task XML: encoding/xml refuses an
// encoding="UTF-16" declaration unless a CharsetReader accepts it.
func newTaskDecoder(s string) *xml.Decoder {
	d := xml.NewDecoder(strings.NewReader(s))
	d.CharsetReader = func(cs string, r io.Reader) (io.Reader, error) { return r, nil }
	return d
}

func leUint32(b []byte) uint32       { return binary.LittleEndian.Uint32(b) }
func putLeUint32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }
