package forge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	fdisk "github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/forge/scenario"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// TestForgeLab forges the small scenario, then checks the images with
// TSK's fls (paths and $SI creation times as the scenario gives them, with
// the host's clock offset) and ingests them with the foothold CLI (hosts
// and the edges' event IDs).
func TestForgeLab(t *testing.T) {
	if err := fdisk.Available(); err != nil {
		t.Skipf("image tools not installed or not permitted (root, /dev/fuse): %v", err)
	}
	fls, err := exec.LookPath("fls")
	if err != nil {
		t.Skip("fls not installed")
	}
	root := repoRoot()
	path := filepath.Join(root, "testdata", "cases", "lab", "scenario.yaml")
	out := t.TempDir()
	if err := Run(context.Background(), path, out, Options{}); err != nil {
		t.Fatal(err)
	}
	var truth scenario.Truth
	b, err := os.ReadFile(filepath.Join(out, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	if len(truth.Edges) != 4 || len(truth.Images) != 3 {
		t.Fatalf("truth: %d edges, %d imaged hosts; want 4 and 3", len(truth.Edges), len(truth.Images))
	}

	// fls on the raw image of LT-SALES3 (GPT, clock +12 s).
	raw := filepath.Join(out, truth.Images["LT-SALES3"][0])
	body, err := exec.Command(fls, "-r", "-m", "C:", "-o", strconv.Itoa(fdisk.PartitionStart), raw).Output()
	if err != nil {
		t.Fatalf("fls: %v", err)
	}
	crtime := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "|")
		if len(f) < 11 {
			continue
		}
		v, _ := strconv.ParseFloat(f[10], 64)
		crtime[f[1]] = int64(v)
	}
	off := int64(12)
	for p, at := range map[string]string{
		`C:/Users/m.ito/Downloads/Invoice_2024-06.pdf.exe`:                 "2024-06-04T09:02:00Z",
		`C:/Users/m.ito/Downloads/Invoice_2024-06.pdf.exe:Zone.Identifier`: "2024-06-04T09:02:00Z",
		`C:/Users/m.ito/AppData/Roaming/Updater/upd.exe`:                   "2024-06-04T09:03:31Z",
		`C:/Windows/System32/winevt/Logs/Security.evtx`:                    "",
		`C:/Windows/System32/winevt/Logs/System.evtx`:                      "",
		`C:/Windows/System32/config/SYSTEM`:                                "",
		`C:/Users/m.ito/NTUSER.DAT`:                                        "",
	} {
		got, ok := crtime[p]
		if !ok {
			t.Errorf("fls: %s not listed", p)
			continue
		}
		if at == "" {
			continue
		}
		want, _ := time.Parse(time.RFC3339, at)
		if got != want.Unix()+off {
			t.Errorf("fls: %s crtime %d, want %d (%s + 12 s)", p, got, want.Unix()+off, at)
		}
	}
	var pf bool
	for p := range crtime {
		if strings.HasPrefix(p, "C:/Windows/Prefetch/INVOICE_2024-06.PDF.EXE-") {
			pf = true
		}
	}
	if !pf {
		t.Error("fls: no Prefetch file for the phishing executable")
	}

	// Ingest every image with the CLI and look for the edges' events.
	bin := filepath.Join(t.TempDir(), "foothold")
	build := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", bin, "./cmd/foothold")
	build.Dir = root
	if o, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, o)
	}
	cse := filepath.Join(t.TempDir(), "case.db")
	for _, host := range []string{"LT-SALES3", "SQL02", "ACME-DC1"} {
		img := filepath.Join(out, truth.Images[host][0])
		if o, err := exec.Command(bin, "ingest", "-c", cse, img).CombinedOutput(); err != nil {
			t.Fatalf("ingest %s: %v\n%s", host, err, o)
		}
	}
	exp, err := exec.Command(bin, "export", "-c", cse, "-f", "jsonl", "--artifact", "evtx").Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	seen := map[string]int{}
	sc = bufio.NewScanner(bytes.NewReader(exp))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var e struct {
			Host, Channel string
			ID            int `json:"field_event_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		seen[e.Host+"|"+e.Channel+"|"+strconv.Itoa(e.ID)]++
	}
	for _, w := range []string{
		"SQL02|Microsoft-Windows-WinRM/Operational|91",          // L1 winrm
		"SQL02|Windows PowerShell|400",                          // L1 wsmprovhost
		"LT-SALES3|Microsoft-Windows-WinRM/Operational|6",       // L1 source
		"SQL02|Security|1102",                                   // log clear
		"SQL02|Microsoft-Windows-TaskScheduler/Operational|106", // N1
		"ACME-DC1|Security|4624",                                // L2 rdp
		"ACME-DC1|Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational|1149",
		"ACME-DC1|Microsoft-Windows-TerminalServices-LocalSessionManager/Operational|21",
		"ACME-DC1|Security|4776", // L2 ntlm
		"LT-SALES3|System|7045",  // L3 remote service
		"LT-SALES3|Security|4697",
		"ACME-DC1|Security|4769", // L3 kerberos
	} {
		if seen[w] == 0 {
			t.Errorf("ingested case has no %s", w)
		}
	}
	// Every truth key event that names a record is in the case.
	for _, k := range truth.KeyEvents {
		if k.Channel != "" && seen[k.Host+"|"+k.Channel+"|"+strconv.Itoa(k.EventID)] == 0 {
			t.Errorf("key event %s %s/%d not ingested", k.Host, k.Channel, k.EventID)
		}
	}
}
