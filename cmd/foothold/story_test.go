package main

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/forge/artifacts"
	fdisk "github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/forge/lnk"
	"github.com/foothold/foothold/forge/prefetch"
	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

func ft(s string) event.FileTime {
	v, err := event.Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// The issue's acceptance: `foothold file` tells the whole story of one file
// from an image built for the test. The image holds a signed installer
// downloaded in Chrome (with its Zone.Identifier), its Prefetch, a link to
// it in Recent, and the unsigned backdoor it drops under ProgramData; the
// story of the installer must join the download row, the Mark of the Web,
// the $MFT and USN times, the runs, the link and the PE's signature.
func TestFileStoryFromForgedImage(t *testing.T) {
	if err := fdisk.Available(); err != nil {
		t.Skipf("image tools not installed or not permitted (root, /dev/fuse): %v", err)
	}
	need(t, "osslsigncode")
	dir := t.TempDir()
	const installer = `\Users\a.reyes\Downloads\X_TRADER_r7.17.90p608.exe`
	const cInstaller = `C:` + installer
	downloaded := ft("2023-03-06T14:02:31.1234567Z")
	ran := ft("2023-03-06T14:05:09.5000000Z")

	ca, err := artifacts.NewTestCA(filepath.Join(dir, "ca"), time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ca.Issue("trading", pkix.Name{CommonName: "Trading Technologies International, Inc."})
	if err != nil {
		t.Fatal(err)
	}
	exe, err := artifacts.BuildPE(artifacts.PE{Linked: time.Date(2023, 2, 14, 9, 31, 7, 0, time.UTC),
		Version: &artifacts.VersionInfo{CompanyName: "Trading Technologies", ProductName: "X_TRADER",
			OriginalFilename: "X_TRADER_r7.17.90p608.exe", FileVersion: "7.17.90.608"}})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := artifacts.Sign(exe, signer, time.Date(2023, 2, 15, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	backdoor, err := artifacts.BuildPE(artifacts.PE{Linked: time.Date(2023, 1, 3, 1, 2, 3, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var pf bytes.Buffer
	pfFile := prefetch.File{Executable: "X_TRADER_R7.17.90P608.EXE",
		Path:     `\DEVICE\HARDDISKVOLUME3\USERS\A.REYES\DOWNLOADS\X_TRADER_R7.17.90P608.EXE`,
		RunCount: 2, RunTimes: []event.FileTime{ran + 600_000_000, ran},
		Files:   []string{`\DEVICE\HARDDISKVOLUME3\WINDOWS\SYSTEM32\NTDLL.DLL`, `\DEVICE\HARDDISKVOLUME3\USERS\A.REYES\DOWNLOADS\X_TRADER_R7.17.90P608.EXE`},
		Volumes: []prefetch.Volume{{DevicePath: `\DEVICE\HARDDISKVOLUME3`, Serial: 0x5a1f30c2, Created: ft("2022-11-01T10:00:00Z")}}}
	if err := prefetch.Write(&pf, pfFile, true); err != nil {
		t.Fatal(err)
	}
	var link bytes.Buffer
	if err := lnk.Write(&link, lnk.Link{Target: cInstaller, Created: downloaded, Modified: downloaded, Accessed: ran,
		Size: uint32(len(signed)), VolumeSerial: 0x5a1f30c2, DriveType: 3, MachineID: "ws-trader01", MAC: "00:15:5d:01:02:03"}); err != nil {
		t.Fatal(err)
	}
	history := filepath.Join(dir, "History")
	if err := artifacts.WriteChromeHistory(history, nil, []artifacts.Download{{
		URL: "https://download.xtrader.example/X_TRADER_r7.17.90p608.exe", Referrer: "https://www.xtrader.example/downloads/",
		TargetPath: cInstaller, Start: downloaded - 20_000_000, End: downloaded, Received: int64(len(signed)), Total: int64(len(signed)),
		State: 1, MimeType: "application/octet-stream"}}); err != nil {
		t.Fatal(err)
	}
	historyBytes := readFile(t, history)

	zone := "[ZoneTransfer]\r\nZoneId=3\r\nReferrerUrl=https://www.xtrader.example/downloads/\r\nHostUrl=https://download.xtrader.example/X_TRADER_r7.17.90p608.exe\r\n"
	ops := []fdisk.Op{
		{Kind: fdisk.OpFile, Path: `\Users\a.reyes\AppData\Local\Google\Chrome\User Data\Default\History`, At: downloaded - 30_000_000, Data: historyBytes},
		{Kind: fdisk.OpFile, Path: installer, At: downloaded, Data: signed},
		{Kind: fdisk.OpADS, Path: installer + ":Zone.Identifier", At: downloaded, Data: []byte(zone)},
		{Kind: fdisk.OpUSN, Path: installer, At: downloaded, Reason: fdisk.ReasonFileCreate | fdisk.ReasonClose},
		{Kind: fdisk.OpFile, Path: `\Users\a.reyes\AppData\Roaming\Microsoft\Windows\Recent\X_TRADER_r7.17.90p608.lnk`, At: ran, Data: link.Bytes()},
		{Kind: fdisk.OpFile, Path: `\Windows\Prefetch\` + prefetch.Name(pfFile), At: ran + 100_000_000, Data: pf.Bytes()},
		{Kind: fdisk.OpFile, Path: `\ProgramData\TPM\TpmVscMgrSvr.exe`, At: ran + 310_000_000, Data: backdoor},
	}
	raw := filepath.Join(dir, "ws.raw")
	err = fdisk.Build(t.Context(), fdisk.Spec{Size: 24 << 20, Label: "OS", Formatted: ft("2022-11-01T10:00:00Z"), Scheme: "gpt",
		Journal: &fdisk.Journal{Created: ft("2022-11-01T10:00:05Z"), First: 1 << 20}, Ops: ops, Serial: 0x11223344_5a1f30c2}, raw)
	if err != nil {
		t.Fatal(err)
	}

	cs := filepath.Join(dir, "case.db")
	res := ingestJSON(t, "-c", cs, "--host", "WS-TRADER01", raw)
	if res[0].Status != "complete" {
		t.Fatalf("ingest: %+v", res[0])
	}
	if testing.Verbose() {
		t.Log(mustRun(t, "info", "-c", cs))
	}
	out := mustRun(t, "file", "-c", cs, "--json", cInstaller)
	var st timeline.FileStory
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	var sigStatus, zoneHost, dlURL string
	for _, e := range st.Events {
		got[e.Artifact+"/"+e.Type]++
		var f map[string]any
		json.Unmarshal([]byte(e.Fields), &f)
		switch e.Artifact + "/" + e.Type {
		case "pe/signed":
			sigStatus, _ = f["signature_status"].(string)
		case "mft/zone":
			zoneHost, _ = f["host_url"].(string)
		case "browser/download":
			dlURL, _ = f["url"].(string)
		}
	}
	for _, k := range []string{"mft/si", "mft/fn", "mft/zone", "usn/usn", "browser/download", "prefetch/run", "lnk/target", "pe/signed", "pe/compiled"} {
		if got[k] == 0 {
			t.Errorf("the story lacks %s: %v", k, got)
		}
	}
	if got["prefetch/run"] != 2 {
		t.Errorf("prefetch runs %d, want 2", got["prefetch/run"])
	}
	if sigStatus != "valid" || !strings.Contains(zoneHost, "download.xtrader.example") || !strings.Contains(dlURL, "X_TRADER") {
		t.Errorf("signature %q, zone host %q, download %q", sigStatus, zoneHost, dlURL)
	}
	if st.Hashes["sha256"] == "" {
		t.Errorf("no hash in the story: %v", st.Hashes)
	}
	// The same story by hash.
	byHash := mustRun(t, "file", "-c", cs, "--json", st.Hashes["sha256"])
	if !strings.Contains(byHash, "prefetch") || !strings.Contains(byHash, "Zone.Identifier") {
		t.Errorf("story by hash lacks prefetch or zone:\n%.500s", byHash)
	}
	// The dropped backdoor was hashed too: it lies under ProgramData.
	drop := mustRun(t, "file", "-c", cs, "--json", `C:\ProgramData\TPM\TpmVscMgrSvr.exe`)
	if !strings.Contains(drop, `"signature_status":"unsigned"`) && !strings.Contains(drop, `signature_status\":\"unsigned`) {
		t.Errorf("backdoor not hashed as unsigned:\n%.800s", drop)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
