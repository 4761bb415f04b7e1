package scenario

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestTruth3CX compares the truth's edges and compromise times with the
// tables of ../shared/docs/scenario-3cx.md, copied here by hand.
func TestTruth3CX(t *testing.T) {
	s, err := Load(filepath.Join(repoRoot(t), "testdata", "cases", "3cx", "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id, first, src, dst, tech, acct, auth string
		attack                                bool
		count                                 int
		last                                  string
	}
	want := []row{
		{"E0", "2023-03-07 09:10:12", "WS-TRADER01", "WS-DEV02", "admin-share", `CORP\it.helpdesk`, "pass-the-hash", true, 1, ""},
		{"E1", "2023-03-07 09:14:03", "WS-TRADER01", "WS-DEV02", "wmi", `CORP\it.helpdesk`, "pass-the-hash", true, 1, ""},
		{"E2", "2023-03-08 02:10:45", "WS-DEV02", "FS01", "psexec", `CORP\d.okafor`, "kerberos", true, 1, ""},
		{"E3", "2023-03-09 11:47:20", "FS01", "BUILD01", "scheduled-task", `CORP\svc_backup`, "explicit-credentials", true, 1, ""},
		{"E4", "2023-03-09 12:05:02", "FS01", "BUILD01", "remote-service", `CORP\svc_backup`, "explicit-credentials", true, 1, ""},
		{"E5", "2023-03-14 22:40:31", "BUILD01", "DC01", "winrm", `CORP\adm.jchen`, "overpass-the-hash", true, 1, ""},
		{"E6", "2023-03-14 23:02:10", "DC01", "FS01", "dcom", `CORP\adm.jchen`, "kerberos", true, 1, ""},
		{"E7a", "2023-03-15 01:12:44", "unknown", "BUILD01", "rdp", `CORP\adm.jchen`, "ntlm", true, 1, ""},
		{"E7b", "2023-03-15 01:20:05", "BUILD01", "DC01", "rdp", `CORP\adm.jchen`, "kerberos", true, 1, ""},
		{"B1", "2023-03-03 16:20:00", "ADMIN-WS07", "WS-TRADER01", "rdp", `CORP\it.helpdesk`, "kerberos", false, 1, ""},
		{"B2", "2023-03-13 10:02:11", "ADMIN-WS07", "BUILD01", "rdp", `CORP\adm.jchen`, "kerberos", false, 1, ""},
		{"B3", "2023-03-01 03:00:00", "BUILD01", "FS01", "admin-share", `CORP\svc_build`, "kerberos", false, 15, "2023-03-15 03:00:00"},
		{"B4", "2023-03-02 15:30:00", "ADMIN-WS07", "DC01", "rdp", `CORP\adm.jchen`, "kerberos", false, 2, "2023-03-10 09:12:00"},
		{"B5", "2023-03-02 16:05:00", "ADMIN-WS07", "FS01", "psexec", `CORP\adm.jchen`, "kerberos", false, 1, ""},
	}
	got := s.TruthEdges()
	if len(got) != len(want) {
		t.Fatalf("%d edges, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		last := w.last
		if last == "" {
			last = w.first
		}
		exp := TruthEdge{ID: w.id, Source: w.src, Destination: w.dst, Technique: w.tech, Account: w.acct, Authentication: w.auth,
			First: utc(w.first), Last: utc(last), Count: w.count, Attack: w.attack}
		g.SourceAddress, g.Via, g.Note = "", "", ""
		if !reflect.DeepEqual(g, exp) {
			t.Errorf("edge %d:\n got  %+v\n want %+v", i, g, exp)
		}
	}
	if got[7].SourceAddress != "127.0.0.1" || got[7].Via == "" {
		t.Errorf("E7a: source address %q via %q", got[7].SourceAddress, got[7].Via)
	}
	wantC := []Compromise{
		{"WS-TRADER01", utc("2023-03-06 14:05:09"), "install"},
		{"WS-DEV02", utc("2023-03-07 09:10:12"), "E0"},
		{"FS01", utc("2023-03-08 02:10:45"), "E2"},
		{"BUILD01", utc("2023-03-09 11:47:20"), "E3"},
		{"DC01", utc("2023-03-14 22:40:31"), "E5"},
	}
	if c := s.Compromises(); !reflect.DeepEqual(c, wantC) {
		t.Errorf("compromises:\n got  %+v\n want %+v", c, wantC)
	}
}
