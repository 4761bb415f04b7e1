package prefetch

import (
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

// TestEZDirectories checks the per-volume directory counts that
// EricZimmerman/Prefetch's tests assert (GROUND_TRUTH_POINTERS.md,
// TestVersion17/23/26/30.cs); sccainfo does not print directories.
func TestEZDirectories(t *testing.T) {
	cases := []struct {
		file string
		dirs []int // per volume
	}{
		{"Win10/CHROME.EXE-B3BA7868.pf", []int{23}},
		{"Win10/DEVENV.EXE-854D7862.pf", []int{516}},
		{"Win2012R2/NOTEPAD.EXE-D8414F97.pf", []int{7}},
		{"Win2012/REGEDIT.EXE-90FEEA06.pf", []int{12}},
		{"Win8x/CALC.EXE-77FDF17F.pf", []int{7}},
		{"Win8x/_CMD.EXE-4A81B364.pf", []int{8}},
		{"Vista/EXPLORER.EXE-7A3328DA.pf", []int{13}},
		{"Win7/CALC.EXE-77FDF17F.pf", []int{8}},
		{"Win2k3/CMD.EXE-087B4001.pf", []int{4}},
		{"XPPro/CALC.EXE-02CD573A.pf", []int{6}},
	}
	for _, c := range cases {
		info, err := decodeFile(t, filepath.Join(testimg.Corpus(t), "prefetch", "EricZimmerman-Prefetch", c.file))
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if len(info.Volumes) != len(c.dirs) {
			t.Errorf("%s: %d volumes, want %d", c.file, len(info.Volumes), len(c.dirs))
			continue
		}
		for i, n := range c.dirs {
			if got := len(info.Volumes[i].Directories); got != n {
				t.Errorf("%s volume %d: %d directories, want %d", c.file, i, got, n)
			}
		}
	}
	// DCODE...-E65B9FE8: volume 66F451BC has the one directory \TEMP.
	info, err := decodeFile(t, filepath.Join(testimg.Corpus(t), "prefetch", "EricZimmerman-Prefetch", "Win10", "DCODEDCODEDCODEDCODEDCODEDCOD-E65B9FE8.pf"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range info.Volumes {
		if v.SerialHex == "66F451BC" {
			found = true
			if len(v.Directories) != 1 || v.Directories[0] != v.DevicePath+`\TEMP` {
				t.Errorf("66F451BC directories %q", v.Directories)
			}
		} else if v.SerialHex == "8C9F49EC" && len(v.Directories) != 19 {
			t.Errorf("8C9F49EC: %d directories, want 19", len(v.Directories))
		}
	}
	if !found {
		t.Errorf("volume 66F451BC missing: %+v", info.Volumes)
	}
}
