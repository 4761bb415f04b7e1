package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"
)

// The forge issue's acceptance, on the committed demo case: `fls -r -m` on
// every generated image lists the scenario's files with the scenario's
// times (the truth's file key events, on each host's own clock).
func TestDemoCaseImagesMatchTruthUnderFLS(t *testing.T) {
	need(t, "fls", "qemu-img")
	caseDir := filepath.Join(testimg.RepoRoot(t), "testdata", "cases", "3cx")
	var truth struct {
		KeyEvents []struct {
			Host, Path, What, Time string
		} `json:"key_events"`
		Images map[string][]string `json:"images"`
	}
	b, err := os.ReadFile(filepath.Join(caseDir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	listing := map[string]string{} // host -> fls bodyfile
	for host, files := range truth.Images {
		if _, err := untarBz2(filepath.Join(caseDir, "images", host+".tar.bz2"), filepath.Join(dir, host)); err != nil {
			t.Fatal(err)
		}
		first := filepath.Join(dir, host, filepath.Base(files[0]))
		// TSK reads E01, VMDK and split raw itself; qemu-img's raw
		// conversion stands in for VHDX, which TSK 4.11 cannot open.
		img := first
		if strings.HasSuffix(first, ".vhdx") {
			img = filepath.Join(dir, host+".raw")
			if out, err := exec.Command("qemu-img", "convert", "-O", "raw", first, img).CombinedOutput(); err != nil {
				t.Fatalf("qemu-img %s: %v\n%s", first, err, out)
			}
		}
		out, err := exec.Command("fls", "-r", "-m", "C:", "-o", "2048", img).Output()
		if err != nil {
			t.Fatalf("fls %s: %v", img, err)
		}
		listing[host] = string(out)
	}
	checked := 0
	for _, k := range truth.KeyEvents {
		if !strings.HasPrefix(k.Path, `C:\`) {
			continue // registry values name keys, not files
		}
		// A deletion changes the parent's times, not the file's: the
		// deleted entry must be there, with its earlier times.
		deleted := k.What == "deleted"
		when, err := time.Parse(time.RFC3339Nano, k.Time)
		if err != nil {
			t.Fatal(err)
		}
		name := "C:" + strings.ReplaceAll(strings.TrimPrefix(k.Path, "C:"), `\`, "/")
		secs := when.Unix()
		found := false
		for _, l := range strings.Split(listing[k.Host], "\n") {
			f := strings.Split(l, "|")
			if len(f) != 11 || !strings.EqualFold(strings.TrimSuffix(f[1], " (deleted)"), name) {
				continue
			}
			if deleted {
				found = true
			}
			for _, ts := range f[7:11] {
				if ts == itoa(secs) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s: fls has no %s with a time of %s (%s)", k.Host, name, k.Time, k.What)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("only %d file key events checked", checked)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
