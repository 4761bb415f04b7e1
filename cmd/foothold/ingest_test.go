package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"
	"github.com/foothold/foothold/timeline"
)

func testApp() (*App, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &App{Out: &out, Err: &errb, Now: time.Now, IsTTY: func() bool { return false }}, &out, &errb
}

// run executes a foothold command line in-process.
func run(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	app, out, errb := testApp()
	root := app.rootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		t.Logf("foothold %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, context.Background(), args...)
	if err != nil {
		t.Fatalf("foothold %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func ingestJSON(t *testing.T, args ...string) []IngestResult {
	t.Helper()
	out := mustRun(t, append([]string{"ingest", "--json"}, args...)...)
	var res []IngestResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	return res
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

// tskImageType maps a container format to the image type The Sleuth Kit
// reads it with, or "" when TSK cannot read it directly.
func tskImageType(format string) string {
	switch {
	case format == "raw":
		return "raw"
	case format == "split":
		return "split"
	case strings.HasPrefix(format, "e01"):
		return "ewf"
	case strings.HasPrefix(format, "vmdk"):
		return "vmdk"
	case strings.HasPrefix(format, "vhd"):
		return "vhd"
	}
	return ""
}

// flsReference runs `fls -r -m C:` on the container itself; where TSK's
// libraries cannot read a container, it runs on qemu-img's raw conversion
// instead — still an independent reader of the same bytes.
func flsReference(t *testing.T, c testimg.Container, sector int64) []byte {
	t.Helper()
	args := []string{"-r", "-m", "C:", "-o", fmt.Sprint(sector)}
	if typ := tskImageType(c.Format); typ != "" {
		out, err := exec.Command("fls", append(append(args, "-i", typ), c.Path)...).Output()
		if err == nil && len(out) > 0 {
			return out
		}
		t.Logf("fls -i %s %s failed (%v); using qemu-img's raw conversion", typ, c.Format, err)
	}
	need(t, "qemu-img")
	raw := filepath.Join(t.TempDir(), "conv.raw")
	if out, err := exec.Command("qemu-img", "convert", "-O", "raw", c.Path, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert %s: %v\n%s", c.Path, err, out)
	}
	out, err := exec.Command("fls", append(args, raw)...).Output()
	if err != nil {
		t.Fatalf("fls on %s: %v", raw, err)
	}
	return out
}

// bodyKey reduces a bodyfile line to what the differential test compares:
// name, inode and the four times in whole seconds (fls writes seconds
// only; the 100 ns parts are checked against istat in parsers/ntfs).
func bodyKey(line string) (string, bool) {
	f := strings.Split(line, "|")
	if len(f) != 11 {
		return "", false
	}
	for i := 7; i <= 10; i++ {
		if dot := strings.IndexByte(f[i], '.'); dot >= 0 {
			f[i] = f[i][:dot]
		}
	}
	return strings.Join([]string{f[1], f[2], f[7], f[8], f[9], f[10]}, "|"), true
}

func bodySet(t *testing.T, body []byte) map[string]bool {
	set := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		if k, ok := bodyKey(l); ok {
			set[k] = true
		}
	}
	return set
}

// allowedMissing lists lines fls prints that Foothold deliberately does not
// produce, each with its reason.
func allowedMissing(key string) bool {
	name := strings.SplitN(key, "|", 2)[0]
	switch {
	// TSK invents a virtual $OrphanFiles directory (entry = last entry + 1)
	// to hang orphans on; it has no MFT record and no times of its own.
	case name == "C:/$OrphanFiles":
		return true
	// fls lists a directory's named stream twice, as "dir:s" and
	// "dir/.:s" (the same attribute reached through the "." entry);
	// Foothold lists it once.
	case strings.Contains(name, "/.:"):
		return true
	}
	return false
}

// allowedExtra lists lines Foothold writes that fls does not, with the
// reason.
func allowedExtra(key string) bool {
	f := strings.Split(key, "|")
	// MFT entries 12-15 are reserved, in use, and have $SI but no
	// $FILE_NAME. Foothold keeps their times (under $OrphanFiles, as TSK
	// names nameless entries); TSK's orphan search skips allocated entries.
	for e := 12; e <= 15; e++ {
		if f[0] == fmt.Sprintf("C:/$OrphanFiles/OrphanFile-%d", e) && strings.HasPrefix(f[1], fmt.Sprintf("%d-", e)) {
			return true
		}
	}
	return false
}

// The acceptance differential: for every committed image in every container
// format, the (path, inode, 8 timestamps) set from Foothold's case equals
// The Sleuth Kit's `fls -r -m`.
func TestIngestMatchesFLSInEveryContainer(t *testing.T) {
	need(t, "fls")
	images := []struct {
		name   string
		sector int64
	}{{"host1", 2048}, {"gpt2", 2048}, {"ext3", 0}, {"bare4", 0}, {"ewfseg", 0}}
	for _, im := range images {
		for _, c := range testimg.Containers(t, im.name) {
			c := c
			t.Run(im.name+"/"+c.Format, func(t *testing.T) {
				sector := im.sector
				if im.name == "ext3" || im.name == "ewfseg" {
					sector = ntfsSector(t, im.name)
				}
				dir := t.TempDir()
				cs := filepath.Join(dir, "case.db")
				res := ingestJSON(t, "-c", cs, "--host", im.name, c.Path)
				if len(res) != 1 || res[0].Status != "complete" {
					t.Fatalf("ingest: %+v", res)
				}
				body := mustRun(t, "export", "-c", cs, "-f", "bodyfile", "--artifact", "mft")
				got := bodySet(t, []byte(body))
				want := bodySet(t, flsReference(t, c, sector))
				var missing, extra []string
				for k := range want {
					if !got[k] && !allowedMissing(k) {
						missing = append(missing, k)
					}
				}
				for k := range got {
					if !want[k] && !allowedExtra(k) {
						extra = append(extra, k)
					}
				}
				if len(want) < 20 {
					t.Fatalf("fls listed only %d lines: reference broken", len(want))
				}
				if len(missing)+len(extra) > 0 {
					t.Errorf("%d lines fls has that we lack, %d we have that fls lacks (of %d)\nmissing: %s\nextra: %s",
						len(missing), len(extra), len(want), strings.Join(first(missing, 15), "\n  "), strings.Join(first(extra, 15), "\n  "))
				}
			})
		}
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}

// ntfsSector reads the NTFS partition start from the committed mmls output.
func ntfsSector(t *testing.T, image string) int64 {
	b, err := os.ReadFile(testimg.Reference(t, image+".mmls.txt"))
	if err != nil {
		// No table: a bare volume.
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "NTFS") {
			f := strings.Fields(l)
			s, err := strconv.ParseInt(f[2], 10, 64) // zero-padded decimal
			if err != nil {
				t.Fatalf("mmls line %q: %v", l, err)
			}
			return s
		}
	}
	return 0
}

// Evidence is read-only: every file of a multi-segment image hashes the
// same before and after ingest, and nothing appears beside it.
func TestIngestLeavesEvidenceUntouched(t *testing.T) {
	var e01 testimg.Container
	for _, c := range testimg.Containers(t, "host1") {
		if c.Format == "e01-split" {
			e01 = c
		}
	}
	if e01.Path == "" {
		t.Fatal("no e01-split fixture")
	}
	dir := filepath.Dir(e01.Path)
	before := map[string]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		before[e.Name()] = testimg.FileSHA256(t, filepath.Join(dir, e.Name()))
	}
	if len(before) < 2 {
		t.Fatalf("expected several segments, got %v", before)
	}
	cs := filepath.Join(t.TempDir(), "case.db")
	ingestJSON(t, "-c", cs, "--verify", e01.Path)
	after := map[string]string{}
	entries, _ = os.ReadDir(dir)
	for _, e := range entries {
		after[e.Name()] = testimg.FileSHA256(t, filepath.Join(dir, e.Name()))
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("evidence folder changed:\nbefore %v\nafter  %v", before, after)
	}
}

// Same evidence twice (even under another file name) is recognised by its
// sha256; --verify checks the E01's stored MD5 and agrees with ewfverify.
func TestIngestDuplicateVerifyAndInfo(t *testing.T) {
	cs := filepath.Join(t.TempDir(), "case.db")
	var e01 string
	for _, c := range testimg.Containers(t, "host1") {
		if c.Format == "e01" {
			e01 = c.Path
		}
	}
	res := ingestJSON(t, "-c", cs, "--verify", e01)
	if res[0].Status != "complete" || !strings.HasPrefix(res[0].Verified, "ok: md5 ok") {
		t.Fatalf("first ingest: %+v", res[0])
	}
	if _, err := exec.LookPath("ewfverify"); err == nil {
		out, err := exec.Command("ewfverify", "-q", e01).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("ewfverify disagrees: %v\n%s", err, out)
		}
	}
	copyPath := filepath.Join(t.TempDir(), "renamed.E01")
	b, _ := os.ReadFile(e01)
	os.WriteFile(copyPath, b, 0o444)
	res2 := ingestJSON(t, "-c", cs, copyPath)
	if res2[0].Status != "duplicate" || res2[0].SHA256 != res[0].SHA256 {
		t.Errorf("second ingest: %+v, want duplicate of %s", res2[0], res[0].SHA256)
	}
	if res[0].SHA256 != testimg.FileSHA256(t, e01) {
		t.Errorf("evidence sha256 %s, file sha256 %s", res[0].SHA256, testimg.FileSHA256(t, e01))
	}
	info := mustRun(t, "info", "-c", cs)
	for _, want := range []string{"complete", "ntfs", res[0].SHA256, "mft", "usn"} {
		if !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
	c, err := timeline.OpenExisting(cs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := c.Summarize(context.Background())
	// The E01 stores an MD5 and no SHA1: info names only what is there.
	if len(s.Evidence) > 0 {
		if e := s.Evidence[0]; e.MD5 == "" || e.SHA1 != "" {
			t.Errorf("stored hashes md5 %q sha1 %q, want an MD5 alone", e.MD5, e.SHA1)
		} else if want := "      stored md5 " + e.MD5 + "\n"; !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
	if len(s.Evidence) != 1 {
		t.Errorf("%d evidence rows, want 1", len(s.Evidence))
	}
}

// A cancelled ingest (Ctrl-C) leaves a case that says it is incomplete,
// and ingesting again completes it.
func TestInterruptedIngestThenResume(t *testing.T) {
	cs := filepath.Join(t.TempDir(), "case.db")
	img := testimg.Path(t, "host1.raw")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, _, _ := testApp()
	app.begun = cancel // Ctrl-C right after the evidence is registered
	root := app.rootCmd()
	root.SetArgs([]string{"ingest", "-c", cs, img})
	err := root.ExecuteContext(ctx)
	var ee *exitError
	if err == nil || !asExit(err, &ee) || ee.code != 130 {
		t.Fatalf("cancelled ingest: %v, want exit 130", err)
	}
	info := mustRun(t, "info", "-c", cs)
	if !strings.Contains(info, "INCOMPLETE (interrupted)") {
		t.Errorf("info does not say incomplete:\n%s", info)
	}
	res := ingestJSON(t, "-c", cs, img)
	if res[0].Status != "complete" || res[0].Events == 0 {
		t.Fatalf("resume: %+v", res[0])
	}
	c, _ := timeline.OpenExisting(cs)
	defer c.Close()
	s, _ := c.Summarize(context.Background())
	if len(s.Evidence) != 1 || s.Evidence[0].Status != "complete" || s.Evidence[0].Events != res[0].Events {
		t.Errorf("after resume: %+v", s.Evidence)
	}
}

func asExit(err error, target **exitError) bool {
	e, ok := err.(*exitError)
	if ok {
		*target = e
	}
	return ok
}

func unxz(t *testing.T, src, dst string) {
	t.Helper()
	need(t, "xz")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("xz", "-dc", src)
	cmd.Stdout = out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
}

// The real 51 MiB $MFT and 38 MiB $J from the corpus ingest completely:
// counts equal the independent counts in GROUND_TRUTH_POINTERS.md
// (52,320 FILE records, of which fsntfsinfo reports 42,861 allocated;
// 275,540 USN_RECORD_V2 records), and damaged entries are error rows,
// never a crash.
func TestCorpusMFTAndJournalIngestCompletely(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips the 90 MiB corpus ingest")
	}
	corpus := testimg.Corpus(t)
	dir := t.TempDir()
	mft := filepath.Join(dir, "$MFT")
	j := filepath.Join(dir, "$J")
	unxz(t, filepath.Join(corpus, "ntfs/mft/tdungan/$MFT.xz"), mft)
	unxz(t, filepath.Join(corpus, "ntfs/usnjrnl/Win10-APTSimulatorVM/$J.xz"), j)
	cs := filepath.Join(dir, "case.db")
	res := ingestJSON(t, "-c", cs, "--host", "tdungan", mft)
	if res[0].Status != "complete" || res[0].Records != 52320 {
		t.Errorf("$MFT: %+v, want 52,320 records", res[0])
	}
	res = ingestJSON(t, "-c", cs, "--host", "aptsim", j)
	if res[0].Status != "complete" || res[0].Records != 275540 || res[0].Events != 275540 {
		t.Errorf("$J: %+v, want 275,540 records and events", res[0])
	}
	c, err := timeline.OpenExisting(cs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// fsntfsinfo counts 42,861 allocated records; 107 of them are extension
	// records (base reference != 0) that carry no times of their own, which
	// leaves 42,754 in-use base records, each with events. (Counted
	// independently with a 15-line Python walk of the record headers:
	// flags at 22, base reference at 32.)
	var inUse int64
	if err := c.DB.QueryRow(`SELECT COUNT(DISTINCT record) FROM events e WHERE artifact = 'mft'
		AND json_extract(` + timeline.FieldsSQL + `, '$.in_use') = 1`).Scan(&inUse); err != nil {
		t.Fatal(err)
	}
	if inUse != 42754 {
		t.Errorf("in-use base entries with events: %d, want 42,754", inUse)
	}
}

// A KAPE-style collection: hives with their transaction logs, an event
// log, a profile hive and Amcache. Each is found by its path and parsed
// by its own parser; the host is named by the SYSTEM hive's ComputerName,
// which is checked against libregf's regfexport.
func TestIngestKapeFolderWithHivesAndEventLogs(t *testing.T) {
	corpus := testimg.Corpus(t)
	root := filepath.Join(t.TempDir(), "WS01")
	c := filepath.Join(root, "C")
	config := filepath.Join(c, "Windows", "System32", "config")
	logs := filepath.Join(c, "Windows", "System32", "winevt", "Logs")
	for _, d := range []string{config, logs, filepath.Join(c, "Users", "bob"), filepath.Join(c, "Windows", "AppCompat", "Programs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	reg := filepath.Join(corpus, "registry", "regipy")
	unxz(t, filepath.Join(reg, "SYSTEM_B.xz"), filepath.Join(config, "SYSTEM"))
	unxz(t, filepath.Join(reg, "SYSTEM_B.LOG1.xz"), filepath.Join(config, "SYSTEM.LOG1"))
	unxz(t, filepath.Join(reg, "SYSTEM_B.LOG2.xz"), filepath.Join(config, "SYSTEM.LOG2"))
	unxz(t, filepath.Join(reg, "NTUSER.DAT.xz"), filepath.Join(c, "Users", "bob", "NTUSER.DAT"))
	unxz(t, filepath.Join(reg, "amcache.hve.xz"), filepath.Join(c, "Windows", "AppCompat", "Programs", "Amcache.hve"))
	b, err := os.ReadFile(filepath.Join(corpus, "evtx", "other", "velociraptor", "RDPAuth_Security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(logs, "Security.evtx"), b, 0o444)

	cs := filepath.Join(t.TempDir(), "case.db")
	res := ingestJSON(t, "-c", cs, root)
	if res[0].Status != "complete" || res[0].Kind != "folder" {
		t.Fatalf("ingest: %+v", res[0])
	}
	cas, err := timeline.OpenExisting(cs)
	if err != nil {
		t.Fatal(err)
	}
	defer cas.Close()
	s, err := cas.Summarize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, a := range s.Artifacts {
		got[a.Name] = a.Count
	}
	for _, a := range []string{"evtx", "registry", "amcache", "userassist"} {
		if got[a] == 0 {
			t.Errorf("no %s events: %v", a, got)
		}
	}
	var evtxRecords int64
	cas.DB.QueryRow(`SELECT records FROM sources WHERE parser = 'evtx'`).Scan(&evtxRecords)
	if evtxRecords != 789 { // GROUND_TRUTH_POINTERS: evtxinfo counts 789 records
		t.Errorf("Security.evtx: %d records, want 789", evtxRecords)
	}
	// regipy's amcache.hve is dirty and its logs are not in the corpus:
	// the hive is read as it is and its source says what is missing.
	for _, e := range s.Errors {
		if !strings.HasSuffix(e.Path, "Amcache.hve") || e.Status != "partial" || !strings.Contains(e.Error, "dirty") {
			t.Errorf("source with errors: %+v", e)
		}
	}
	want := "DESKTOP-PM6C56D" // regipy's SYSTEM_B, ControlSet001
	if _, err := exec.LookPath("regfexport"); err == nil {
		out, _ := exec.Command("regfexport", "-K", `ControlSet001\Control\ComputerName\ComputerName`, filepath.Join(config, "SYSTEM")).Output()
		if !strings.Contains(string(out), "Data: "+want) {
			t.Fatalf("regfexport does not confirm the computer name %s:\n%s", want, out)
		}
	}
	if len(s.Hosts) == 0 || s.Hosts[0].Name != want || s.Hosts[0].Origin != "registry" {
		t.Errorf("hosts %+v, want %s from the registry", s.Hosts, want)
	}
}

// `foothold file` gathers one file's story however the path is written.
func TestFileStory(t *testing.T) {
	cs := filepath.Join(t.TempDir(), "case.db")
	ingestJSON(t, "-c", cs, "--host", "WS01", testimg.Path(t, "host1.raw"))
	for _, q := range []string{
		`C:\Users\jdoe\Downloads\Setup_Viewer_4.2.exe`,
		`\Device\HarddiskVolume3\Users\jdoe\Downloads\Setup_Viewer_4.2.exe`,
		`setup_viewer_4.2.exe`,
	} {
		out := mustRun(t, "file", "-c", cs, "--json", q)
		var st timeline.FileStory
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, e := range st.Events {
			kinds[e.Artifact+"/"+e.Type]++
			if !strings.Contains(strings.ToLower(e.Path), "setup_viewer_4.2.exe") {
				t.Errorf("%s: unrelated event %s %s", q, e.Path, e.Message)
			}
		}
		// host1's README: the download has $SI/$FN times, a Zone.Identifier
		// and three USN records (usnjls lists them).
		if kinds["mft/si"] == 0 || kinds["mft/fn"] == 0 || kinds["mft/zone"] != 1 || kinds["usn/usn"] != 3 {
			t.Errorf("%s: %v", q, kinds)
		}
	}
	if _, err := run(t, context.Background(), "file", "-c", cs, `C:\nowhere\nothing.exe`); err == nil {
		t.Error("an unknown file should be an error")
	}
}

// Several images go into one case in one command; each keeps its host,
// and `export --host` separates them.
func TestSeveralImagesOneCase(t *testing.T) {
	cs := filepath.Join(t.TempDir(), "case.db")
	res := ingestJSON(t, "-c", cs, testimg.Path(t, "host1.raw"), testimg.Path(t, "gpt2.raw"), testimg.Path(t, "bare4.raw"))
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	var total int64
	for _, r := range res {
		if r.Status != "complete" || r.Events == 0 {
			t.Errorf("%+v", r)
		}
		total += r.Events
	}
	c, err := timeline.OpenExisting(cs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := c.Summarize(context.Background())
	if len(s.Evidence) != 3 || len(s.Hosts) != 3 || s.Events != total {
		t.Errorf("evidence %d hosts %d events %d (want 3, 3, %d)", len(s.Evidence), len(s.Hosts), s.Events, total)
	}
	out := mustRun(t, "export", "-c", cs, "-f", "csv", "--host", "gpt2")
	lines := strings.Count(strings.TrimSpace(out), "\n") // header + rows
	if int64(lines) != res[1].Events {
		t.Errorf("export --host gpt2: %d rows, want %d", lines, res[1].Events)
	}
}

// The README's main command: the demo ingests all five hosts of the 3CX
// case, each from its own container, and shows the story's landmarks.
func TestDemo(t *testing.T) {
	cs := filepath.Join(t.TempDir(), "demo.db")
	out := mustRun(t, "demo", "-c", cs, "--demo", filepath.Join(testimg.RepoRoot(t), "testdata", "cases", "3cx"))
	for _, want := range []string{"WS-TRADER01", "WS-DEV02", "FS01", "BUILD01", "DC01",
		"e01", "vmdk-monolithicSparse", "vhdx-dynamic", "split", "raw",
		"X_TRADER_r7.17.90p608.exe (ZoneId=3", "from 10.10.20.11 (WS-TRADER01) via NTLM",
		`Backup Scan`, "WinSvcUpd", "Event log Windows PowerShell cleared",
		"Movement between hosts (14 edges", "unknown@tunnel:BUILD01",
		"Seed: C:\\Users\\a.reyes\\Downloads\\X_TRADER_r7.17.90p608.exe on WS-TRADER01", "Path (9 hops)",
		// The scenario stomps no times; an empty section says so.
		"Timestomp indicators\n  none\n",
		"CORP\\adm.jchen: credentials in memory from 2 logons after the compromise",
		"CORP\\adm.jchen: credentials in memory from 1 logon after the compromise"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(out, "FAILED") || strings.Contains(out, "Errors and incomplete") {
		t.Errorf("demo case has errors:\n%s", out)
	}
}

// Files named like artifacts but holding something else each leave an
// error source. The ingest summary counts them, and info shows a few of
// each kind unless asked for all: thousands of them would bury the rest.
func TestInfoGroupsErrors(t *testing.T) {
	root := t.TempDir()
	junk := []byte("not an artifact, just text that happens to have the name of one\n")
	for i := 0; i < 5; i++ {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("JUNK%d.EXE-0123ABCD.pf", i)), junk, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 4; i++ {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("junk%d.lnk", i)), junk, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cs := filepath.Join(t.TempDir(), "case.db")
	res := ingestJSON(t, "-c", cs, "--host", "WS01", root)
	if len(res) != 1 || res[0].Artifacts != 9 || res[0].Failed != 9 {
		t.Fatalf("ingest: %+v, want 9 artifacts, all with errors", res)
	}
	count := func(s, sub string) int { return strings.Count(s, sub) }
	info := mustRun(t, "info", "-c", cs)
	for sub, want := range map[string]int{
		"prefetch sources, error: 5": 1, "lnk sources, error: 4": 1,
		".pf [prefetch]:": errorExamples, ".lnk [lnk]:": errorExamples,
		"… and 2 more": 1, "… and 1 more": 1,
	} {
		if got := count(info, sub); got != want {
			t.Errorf("info: %q %d times, want %d:\n%s", sub, got, want, info)
		}
	}
	all := mustRun(t, "info", "-c", cs, "--errors")
	if count(all, ".pf [prefetch]:") != 5 || count(all, ".lnk [lnk]:") != 4 || count(all, " more") != 0 {
		t.Errorf("info --errors does not list every source:\n%s", all)
	}
	if !strings.Contains(all, "too short for the file header") || !strings.Contains(all, "need 76") {
		t.Errorf("info --errors lacks the parsers' reasons:\n%s", all)
	}
}
