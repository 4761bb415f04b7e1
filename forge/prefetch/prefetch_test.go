package prefetch

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/readers"
	"github.com/foothold/foothold/parsers/event"
	goprefetch "www.velocidex.com/golang/go-prefetch"
)

func corpusDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
}

func ft(s string) event.FileTime {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return event.FromTime(t)
}

// psexec is the scenario's PsExec64 run on WS-DEV02 (true UTC minus the
// host's 41 s clock offset), with sub-second parts that must survive.
func psexec() File {
	vol := `\VOLUME{01d94fb1c8a1b2c3-5a1f30c2}`
	return File{
		Executable: "PSEXEC64.EXE",
		Path:       `\DEVICE\HARDDISKVOLUME3\USERS\D.OKAFOR\APPDATA\LOCAL\TEMP\PSEXEC64.EXE`,
		RunCount:   3,
		RunTimes: []event.FileTime{
			ft("2023-03-08T02:10:04.1234567Z"),
			ft("2023-03-08T02:09:12.0000001Z"),
			ft("2023-03-07T23:01:59.9999999Z"),
		},
		Files: []string{
			vol + `\WINDOWS\SYSTEM32\NTDLL.DLL`,
			vol + `\USERS\D.OKAFOR\APPDATA\LOCAL\TEMP\PSEXEC64.EXE`,
			vol + `\WINDOWS\SYSTEM32\KERNEL32.DLL`,
			vol + `\WINDOWS\SYSTEM32\LOCALE.NLS`,
			`\VOLUME{01d90000aaaaaaaa-0badf00d}\TOOLS\NOTES.TXT`,
		},
		Volumes: []Volume{
			{DevicePath: vol, Serial: 0x5a1f30c2, Created: ft("2023-01-15T10:11:12.3456789Z"),
				Directories: []string{vol + `\USERS`, vol + `\WINDOWS`, vol + `\WINDOWS\SYSTEM32`}},
			{DevicePath: `\VOLUME{01d90000aaaaaaaa-0badf00d}`, Serial: 0x0badf00d, Created: ft("2022-12-01T00:00:00.0000001Z"),
				Directories: []string{`\VOLUME{01d90000aaaaaaaa-0badf00d}\TOOLS`}},
		},
	}
}

// bigFile has enough files for more than one 64 KiB compression block.
func bigFile() File {
	f := psexec()
	f.Executable = "X_TRADER_R7.17.90P608.EXE"
	f.Path = `\DEVICE\HARDDISKVOLUME3\USERS\A.REYES\DOWNLOADS\X_TRADER_R7.17.90P608.EXE`
	f.RunCount = 12
	f.RunTimes = nil
	for i := 0; i < 8; i++ {
		f.RunTimes = append(f.RunTimes, ft("2023-03-06T14:05:09.5000000Z")-event.FileTime(i)*36_000_000_123)
	}
	f.Files = f.Files[:0]
	for i := 0; i < 900; i++ {
		f.Files = append(f.Files, fmt.Sprintf(`\VOLUME{01d94fb1c8a1b2c3-5a1f30c2}\PROGRAM FILES\TRADER\MODULES\COMPONENT_%04d_%x.DLL`, i, i*7919))
	}
	return f
}

func write(t *testing.T, f File, compress bool) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, f, compress); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), Name(f))
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, buf.Bytes()
}

func checkSccainfo(t *testing.T, f File, path string) {
	t.Helper()
	got, err := readers.Sccainfo(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Format version":      "30",
		"Prefetch hash":       fmt.Sprintf("0x%08x", Hash(f.Path)),
		"Executable filename": executable(f.Executable),
		"Run count":           fmt.Sprint(f.RunCount),
	}
	for i := 0; i < maxRunTimes; i++ {
		var rt event.FileTime
		if i < len(f.RunTimes) {
			rt = f.RunTimes[i]
		}
		want[fmt.Sprintf("Last run time: %d", i+1)] = readers.SccaTime(rt)
	}
	for k, v := range want {
		if got.Fields[k] != v {
			t.Errorf("sccainfo %q = %q, want %q", k, got.Fields[k], v)
		}
	}
	if strings.Join(got.Files, "\n") != strings.Join(f.Files, "\n") {
		t.Errorf("sccainfo files:\n%q\nwant\n%q", got.Files, f.Files)
	}
	if len(got.Volumes) != len(f.Volumes) {
		t.Fatalf("sccainfo: %d volumes, want %d", len(got.Volumes), len(f.Volumes))
	}
	for i, v := range f.Volumes {
		wantVol := map[string]string{
			"Device path":   v.DevicePath,
			"Creation time": readers.SccaTime(v.Created),
			"Serial number": fmt.Sprintf("0x%08x", v.Serial),
		}
		for k, w := range wantVol {
			if got.Volumes[i][k] != w {
				t.Errorf("sccainfo volume %d %q = %q, want %q", i+1, k, got.Volumes[i][k], w)
			}
		}
	}
}

// loadGoPrefetch reads with go-prefetch behind recover (dependencies.md D17).
func loadGoPrefetch(data []byte) (info *goprefetch.PrefetchInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-prefetch panic: %v", r)
		}
	}()
	return goprefetch.LoadPrefetch(bytes.NewReader(data))
}

func checkGoPrefetch(t *testing.T, f File, data []byte) {
	t.Helper()
	info, err := loadGoPrefetch(data)
	if err != nil {
		t.Fatalf("go-prefetch: %v", err)
	}
	if info.Executable != executable(f.Executable) {
		t.Errorf("go-prefetch executable %q, want %q", info.Executable, executable(f.Executable))
	}
	if want := fmt.Sprintf("0x%08X", Hash(f.Path)); info.Hash != want {
		t.Errorf("go-prefetch hash %s, want %s", info.Hash, want)
	}
	if info.Version != "Win10" {
		t.Errorf("go-prefetch version %q", info.Version)
	}
	if info.RunCount != f.RunCount {
		t.Errorf("go-prefetch run count %d, want %d", info.RunCount, f.RunCount)
	}
	if info.Path != f.Path {
		t.Errorf("go-prefetch path %q, want %q", info.Path, f.Path)
	}
	if int(info.FileSize) != len(mustBuild(t, f)) {
		t.Errorf("go-prefetch file size %d, want %d", info.FileSize, len(mustBuild(t, f)))
	}
	if strings.Join(info.FilesAccessed, "\n") != strings.Join(f.Files, "\n") {
		t.Errorf("go-prefetch files %q, want %q", info.FilesAccessed, f.Files)
	}
	// go-prefetch keeps whole seconds only (D16) and drops unset times.
	var want []string
	for _, rt := range f.RunTimes {
		want = append(want, rt.Time().Truncate(time.Second).Format(time.RFC3339))
	}
	var got []string
	for _, rt := range info.LastRunTimes {
		got = append(got, rt.UTC().Format(time.RFC3339))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("go-prefetch run times %v, want %v", got, want)
	}
}

func mustBuild(t *testing.T, f File) []byte {
	t.Helper()
	b, err := build(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteReadBack(t *testing.T) {
	haveScca := true
	if _, err := exec.LookPath("sccainfo"); err != nil {
		haveScca = false
	}
	for _, tc := range []struct {
		name     string
		f        File
		compress bool
	}{
		{"psexec-v30", psexec(), false},
		{"psexec-mam", psexec(), true},
		{"big-v30", bigFile(), false},
		{"big-mam", bigFile(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, data := write(t, tc.f, tc.compress)
			if got := string(data[:4]); tc.compress != (got == "MAM\x04") {
				t.Fatalf("signature %q, compress %v", got, tc.compress)
			}
			if tc.compress && len(data) >= len(mustBuild(t, tc.f)) {
				t.Errorf("compressed %d bytes, not smaller than %d", len(data), len(mustBuild(t, tc.f)))
			}
			t.Logf("%s: %d bytes (uncompressed %d)", filepath.Base(path), len(data), len(mustBuild(t, tc.f)))
			checkGoPrefetch(t, tc.f, data)
			if !haveScca {
				t.Skip("sccainfo not installed")
			}
			checkSccainfo(t, tc.f, path)
		})
	}
}

func TestName(t *testing.T) {
	// Verified against the corpus files CHROME.EXE-B3BA7868.pf (see
	// TestHashCorpus) and NOTEPAD.EXE-D8414F97.pf.
	for _, c := range []struct{ exe, path, want string }{
		{"notepad.exe", `\DEVICE\HARDDISKVOLUME2\WINDOWS\SYSTEM32\NOTEPAD.EXE`, "NOTEPAD.EXE-D8414F97.pf"},
		// CHROME.EXE-B3BA7868.pf lists \VOLUME{01d1217a9c4c6779-8c9f49ec}\PROGRAM
		// FILES (X86)\GOOGLE\CHROME\APPLICATION\CHROME.EXE; Windows hashed
		// the same path on \DEVICE\HARDDISKVOLUME8.
		{"CHROME.EXE", `\DEVICE\HARDDISKVOLUME8\PROGRAM FILES (X86)\GOOGLE\CHROME\APPLICATION\CHROME.EXE`, "CHROME.EXE-B3BA7868.pf"},
	} {
		if got := Name(File{Executable: c.exe, Path: c.path}); got != c.want {
			t.Errorf("Name(%s) = %s, want %s", c.path, got, c.want)
		}
	}
	long := File{Executable: "AM_DELTA_PATCH_1.443.990.0.EXE", Path: `\X`}
	if got := executable(long.Executable); got != "AM_DELTA_PATCH_1.443.990.0.EX" {
		t.Errorf("29-character cut: %s", got)
	}
}

func TestDeterministic(t *testing.T) {
	for _, compress := range []bool{false, true} {
		var a, b bytes.Buffer
		if err := Write(&a, bigFile(), compress); err != nil {
			t.Fatal(err)
		}
		if err := Write(&b, bigFile(), compress); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("compress=%v: two writes differ", compress)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	nine := psexec()
	nine.RunTimes = make([]event.FileTime, 9)
	order := psexec()
	order.RunTimes[0], order.RunTimes[1] = order.RunTimes[1], order.RunTimes[0]
	noVol := psexec()
	noVol.Volumes[0].DevicePath = ""
	for name, f := range map[string]File{
		"no executable": {Path: `\X`},
		"no path":       {Executable: "A.EXE"},
		"nine runs":     nine,
		"run order":     order,
		"volume":        noVol,
	} {
		if err := Write(&bytes.Buffer{}, f, false); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestHashCorpus proves Hash on real files: for every Vista+ prefetch file
// in the corpus, the executable's path from the file's own file list must
// hash to the hash in its name and header. Older files list
// \DEVICE\HARDDISKVOLUMEn paths, which must match directly; newer ones list
// \VOLUME{...} paths, for which the volume number is searched (1-32) since
// Windows hashes the \DEVICE form.
func TestHashCorpus(t *testing.T) {
	root := filepath.Join(corpusDir(), "prefetch")
	var paths []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(strings.ToLower(p), ".pf") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	volRE := regexp.MustCompile(`^\\VOLUME\{[0-9a-fA-F]+-[0-9a-fA-F]+\}`)
	// candidates are the hashes the executable's listed paths give, in
	// \DEVICE\HARDDISKVOLUMEn form (n searched when the list has \VOLUME{}).
	candidates := func(fn string) map[uint32]bool {
		c := map[uint32]bool{Hash(fn): true}
		if loc := volRE.FindStringIndex(fn); loc != nil {
			for n := 1; n <= 32; n++ {
				c[Hash(fmt.Sprintf(`\DEVICE\HARDDISKVOLUME%d`, n)+fn[loc[1]:])] = true
			}
		}
		return c
	}
	// Hosting processes hash their command line as well; no path alone
	// gives their hash.
	hosts := map[string]bool{"SVCHOST.EXE": true, "DLLHOST.EXE": true, "RUNDLL32.EXE": true, "RUNTIMEBROKER.EXE": true,
		"BACKGROUNDTASKHOST.EXE": true, "BACKGROUNDTRANSFERHOST.EXE": true, "WWAHOST.EXE": true, "TASKHOST.EXE": true}
	// Executables whose listed path does not give their hash: the
	// APTSimulator's TARGET.EXE copies and a VMware driver-store helper (no
	// volume number 1-300 or /prefetch:N offset reproduces them).
	unexplained := map[string]bool{"TARGET.EXE": true, "VM3DSERVICE.EXE": true}
	packaged := regexp.MustCompile(`\\(WINDOWSAPPS|SYSTEMAPPS|IMMERSIVECONTROLPANEL)\\`)
	var exact, prefetchArg, hosted, unlisted, checked, apps, other int
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		info, err := loadGoPrefetch(data)
		if err != nil || info.Version == "WinXP" || info.Executable == "" {
			continue // broken on purpose, format 17 (another hash) or 31
		}
		var want uint32
		if _, err := fmt.Sscanf(info.Hash, "0x%X", &want); err != nil {
			t.Fatalf("%s: hash %q", p, info.Hash)
		}
		if !strings.Contains(filepath.Base(p), fmt.Sprintf("-%08X", want)) {
			t.Errorf("%s: header hash %08X not in the file name", p, want)
		}
		checked++
		cands := map[uint32]bool{}
		isApp := false
		for _, fn := range info.FilesAccessed {
			if strings.HasSuffix(fn, `\`+info.Executable) {
				isApp = isApp || packaged.MatchString(fn)
				for h := range candidates(fn) {
					cands[h] = true
				}
			}
		}
		switch {
		case len(cands) == 0:
			unlisted++ // the executable is not in its own file list
		case cands[want]:
			exact++
		case hosts[info.Executable]:
			hosted++
		case isApp:
			apps++ // packaged apps are hashed with their package identity
		case unexplained[info.Executable]:
			other++
		default:
			// Chromium and some installers run with /prefetch:N, which
			// Windows adds to the hash.
			found := false
			for k := uint32(1); k <= 15 && !found; k++ {
				found = cands[want-k]
			}
			if !found {
				t.Errorf("%s: hash not reproduced from the executable's path", filepath.Base(p))
				continue
			}
			prefetchArg++
		}
	}
	t.Logf("%d corpus files: %d hashes reproduced from the path, %d as path hash + /prefetch:N; not from the path: %d hosting processes, %d packaged apps, %d executables not in their file list, %d others",
		checked, exact, prefetchArg, hosted, apps, unlisted, other)
	if exact == 0 {
		t.Error("no hash reproduced")
	}
}

func TestCompressRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 200_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	text := bytes.Repeat([]byte("\\VOLUME{01d94fb1c8a1b2c3-5a1f30c2}\\WINDOWS\\SYSTEM32\\"), 5000)
	long := append(bytes.Repeat([]byte{0}, 70_000), random[:1000]...)
	mixed := append(append([]byte{}, random[:50_000]...), text[:100_000]...)
	for name, in := range map[string][]byte{
		"one byte": {7},
		"two":      {1, 2},
		"random":   random,
		"text":     text,
		"zeros":    long,
		"mixed":    mixed,
		"exact":    text[:blockSize],
		"block+1":  text[:blockSize+1],
	} {
		c := compressHuffman(in)
		got, err := goprefetch.LZXpressHuffmanDecompress(c, len(in))
		if err != nil || !bytes.Equal(got, in) {
			t.Errorf("%s: round trip through go-prefetch failed (err %v)", name, err)
		}
		t.Logf("%s: %d -> %d bytes", name, len(in), len(c))
	}
}

func FuzzCompress(f *testing.F) {
	f.Add([]byte("abcabcabcabc"))
	f.Add(bytes.Repeat([]byte{0xff}, 300))
	if b, err := build(psexec()); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		c := compressHuffman(in)
		got, err := goprefetch.LZXpressHuffmanDecompress(c, len(in))
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func FuzzWrite(f *testing.F) {
	f.Add("PSEXEC64.EXE", `\DEVICE\HARDDISKVOLUME3\PSEXEC64.EXE`, `\VOLUME{01d9-5a1f30c2}\A.DLL`, uint32(3), uint64(133226110451234567))
	f.Fuzz(func(t *testing.T, exe, path, file string, runs uint32, when uint64) {
		fl := File{Executable: exe, Path: path, RunCount: runs, RunTimes: []event.FileTime{event.FileTime(when)},
			Files: []string{file, path}, Volumes: []Volume{{DevicePath: `\VOLUME{X}`, Serial: runs}}}
		var buf bytes.Buffer
		if err := Write(&buf, fl, true); err != nil {
			return
		}
		info, err := loadGoPrefetch(buf.Bytes())
		if err != nil {
			t.Fatalf("go-prefetch cannot read our output: %v", err)
		}
		if info.RunCount != runs && runs != 0 {
			t.Fatalf("run count %d, want %d", info.RunCount, runs)
		}
	})
}
