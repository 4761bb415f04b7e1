package prefetch

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/internal/readers"
	"github.com/foothold/foothold/parsers/event"
)

// v31Golden holds the GROUND_TRUTH_POINTERS values for the format 31
// files sccainfo cannot open (plaso tests/parsers/winprefetch.py:485-530).
var v31Golden = map[string]struct {
	exe, hash, path, device, serial string
	runs                            uint32
}{
	"plaso/AM_DELTA_PATCH_1.443.990.0.EX-7037CF86.pf": {
		exe: "AM_DELTA_PATCH_1.443.990.0.EX", hash: "7037CF86", runs: 1,
		path:   `\WINDOWS\SOFTWAREDISTRIBUTION\DOWNLOAD\INSTALL\AM_DELTA_PATCH_1.443.990.0.EXE`,
		device: `\VOLUME{01dc94cf1f08c4a4-bc1f1bfc}`, serial: "BC1F1BFC",
	},
}

// TestSccainfo compares every corpus prefetch file with libscca's
// sccainfo: format, hash, executable, run count, all eight run-time slots
// at 100 ns, every file name in order, and every volume's device path,
// creation time and serial. Format 31 files, which this sccainfo cannot
// open, are checked against the GROUND_TRUTH golden values instead
// (AM_DELTA_PATCH) or, for the SutharPC set with no upstream
// expectations, for internal consistency (run count >= recorded runs,
// every file under a recorded volume, target path found).
func TestSccainfo(t *testing.T) {
	if _, err := exec.LookPath("sccainfo"); err != nil {
		t.Skip("sccainfo not installed")
	}
	root := filepath.Join(testimg.Corpus(t), "prefetch")
	var compared, v31, bad, runTimes, names int
	for _, path := range corpusFiles(t) {
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			info, err := decodeFile(t, path)
			if isBad(path) {
				bad++
				if err == nil {
					t.Errorf("malformed file decoded without error")
				}
				if _, serr := readers.Sccainfo(path); serr == nil {
					t.Errorf("sccainfo opens a Bad/ file")
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if info.Version == 31 {
				v31++
				checkV31(t, rel, info)
				return
			}
			want, err := readers.Sccainfo(path)
			if err != nil {
				t.Fatalf("sccainfo: %v", err)
			}
			compared++
			eq := func(what, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, sccainfo %q", what, got, want)
				}
			}
			eq("format", fmt.Sprint(info.Version), want.Fields["Format version"])
			eq("hash", fmt.Sprintf("0x%08x", info.Hash), want.Fields["Prefetch hash"])
			eq("executable", info.Executable, want.Fields["Executable filename"])
			eq("run count", fmt.Sprint(info.RunCount), want.Fields["Run count"])
			// All slots, in order: ours keeps the non-zero ones with their slot.
			slots := make([]event.FileTime, len(want.RunTimes))
			for i, s := range info.RunSlots {
				if s >= len(slots) {
					t.Fatalf("run slot %d, sccainfo prints %d", s, len(slots))
				}
				slots[s] = info.RunTimes[i]
			}
			for i, w := range want.RunTimes {
				eq(fmt.Sprintf("run time %d", i+1), readers.SccaTime(slots[i]), w)
			}
			runTimes += len(info.RunTimes)
			eq("file count", fmt.Sprint(len(info.Files)), want.Fields["Number of filenames"])
			if len(info.Files) == len(want.Files) {
				for i := range want.Files {
					eq(fmt.Sprintf("file %d", i+1), info.Files[i], want.Files[i])
				}
			}
			names += len(info.Files)
			if len(info.Volumes) != len(want.Volumes) {
				t.Fatalf("volumes = %d, sccainfo %d", len(info.Volumes), len(want.Volumes))
			}
			for i, v := range want.Volumes {
				got := info.Volumes[i]
				eq(fmt.Sprintf("volume %d device", i+1), got.DevicePath, v["Device path"])
				eq(fmt.Sprintf("volume %d created", i+1), readers.SccaTime(got.Created), v["Creation time"])
				eq(fmt.Sprintf("volume %d serial", i+1), fmt.Sprintf("0x%08x", got.Serial), v["Serial number"])
			}
			if info.TargetPath() == "" {
				t.Errorf("no target path for %s among %d files", info.Executable, len(info.Files))
			}
		})
	}
	t.Logf("sccainfo: %d files compared (%d run times, %d file names), %d format 31, %d malformed", compared, runTimes, names, v31, bad)
	if compared < 250 || v31 != 15 || bad != 1 {
		t.Errorf("corpus coverage changed: %d compared, %d format 31, %d malformed", compared, v31, bad)
	}
}

func checkV31(t *testing.T, rel string, info *Info) {
	t.Helper()
	if g, ok := v31Golden[rel]; ok {
		if info.Executable != g.exe || fmt.Sprintf("%08X", info.Hash) != g.hash || info.RunCount != g.runs {
			t.Errorf("got %s %08X runs %d, golden %s %s runs %d", info.Executable, info.Hash, info.RunCount, g.exe, g.hash, g.runs)
		}
		if len(info.RunTimes) != int(g.runs) {
			t.Errorf("%d run times, golden run count %d", len(info.RunTimes), g.runs)
		}
		if len(info.Volumes) != 1 || info.Volumes[0].DevicePath != g.device || info.Volumes[0].SerialHex != g.serial {
			t.Errorf("volumes %+v, golden %s %s", info.Volumes, g.device, g.serial)
		}
		if !strings.HasSuffix(info.TargetPath(), g.path) {
			t.Errorf("target path %q, golden hint %q", info.TargetPath(), g.path)
		}
		return
	}
	want := len(info.RunTimes)
	if want > maxRunTimes {
		t.Errorf("%d run times", want)
	}
	if int(info.RunCount) < want {
		t.Errorf("run count %d < %d recorded run times", info.RunCount, want)
	}
	if len(info.Volumes) == 0 || len(info.Files) == 0 {
		t.Fatalf("%d volumes, %d files", len(info.Volumes), len(info.Files))
	}
	for _, f := range info.Files {
		ok := false
		for _, v := range info.Volumes {
			ok = ok || strings.HasPrefix(f, v.DevicePath+`\`)
		}
		if !ok {
			t.Errorf("file %q on no recorded volume", f)
		}
	}
	if info.TargetPath() == "" {
		t.Errorf("no target path for %s", info.Executable)
	}
	_ = strconv.Itoa
}
