package registry

import (
	"os"
	"strings"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

// TestUpstreamCounts checks the counts regipy's validation cases expect
// (GROUND_TRUTH_POINTERS.md), with the documented differences explained.
func TestUpstreamCounts(t *testing.T) {
	cases := []struct {
		hive, user, artifact string
		want                 int
		why                  string
	}{
		// 330 entries in each of ControlSet001 and ControlSet002 (identical
		// values, Windows 7 header count 330): we read every control set.
		{"regipy/SYSTEM.xz", "", event.Shimcache, 660, ""},
		// regipy expects 62 because its GUID list names both UserAssist
		// GUIDs twice; the two Count keys hold 19+14 = 33 values, minus the
		// two UEME_CTLSESSION values = 31 distinct entries.
		{"regipy/NTUSER.DAT.xz", "vibranium", event.UserAssist, 31, "regipy 62 = 2 x 31"},
		// 31 under bam\State\UserSettings + 24 under the legacy bam\UserSettings.
		{"regipy/SYSTEM_WIN_10_1709.xz", "", event.BAM, 55, ""},
		// 1,120 Root\File keys + 247 Root\InventoryApplicationFile keys.
		{"regipy/amcache.hve.xz", "", event.Amcache, 1367, ""},
	}
	for _, c := range cases {
		t.Run(c.hive+"/"+c.artifact, func(t *testing.T) {
			h := openCorpus(t, c.hive)
			evs, _, _ := collect(t, h, c.user)
			got := byArtifact(evs, c.artifact)
			if len(got) != c.want {
				t.Errorf("%d %s events, want %d %s", len(got), c.artifact, c.want, c.why)
			}
		})
	}
}

// TestUpstreamEntries spot-checks entries named by regipy's validation
// cases.
func TestUpstreamEntries(t *testing.T) {
	find := func(evs []event.Event, path string) *event.Event {
		for i := range evs {
			if evs[i].Path == path {
				return &evs[i]
			}
		}
		return nil
	}
	evs, _, _ := collect(t, openCorpus(t, "regipy/SYSTEM.xz"), "")
	e := find(byArtifact(evs, event.Shimcache), `\??\C:\Program Files\McAfee\VirusScan Enterprise\mfeann.exe`)
	if e == nil || e.Time.String()[:19] != "2011-01-12T12:08:00" {
		t.Errorf("ShimCache mfeann.exe: %+v", e)
	} else if x, _ := e.Get("executed"); x != true {
		t.Errorf("mfeann.exe not executed")
	}

	evs, _, _ = collect(t, openCorpus(t, "regipy/NTUSER.DAT.xz"), "vibranium")
	var excel *event.Event
	for i, u := range byArtifact(evs, event.UserAssist) {
		if winBase(u.Path) == "EXCEL.EXE" {
			excel = &byArtifact(evs, event.UserAssist)[i]
		}
	}
	if excel == nil || excel.Time.String()[:23] != "2012-04-04T15:43:14.785" {
		t.Fatalf("UserAssist EXCEL.EXE: %+v", excel)
	}
	for k, want := range map[string]any{"run_count": uint32(4), "focus_count": uint32(1), "focus_time_ms": uint32(47673)} {
		if v, _ := excel.Get(k); v != want {
			t.Errorf("EXCEL.EXE %s = %v, want %v", k, v, want)
		}
	}

	evs, _, _ = collect(t, openCorpus(t, "regipy/SYSTEM_WIN_10_1709.xz"), "")
	ok := false
	for _, b := range byArtifact(evs, event.BAM) {
		// regipy prints 09:09:35.731816 (rounded to microseconds); the
		// FILETIME in the value data (regfexport hex dump) is 132317609757318159.
		if b.User == "S-1-5-90-0-1" && winBase(b.Path) == "dwm.exe" && b.Time == 132317609757318159 {
			ok = true
		}
	}
	if !ok {
		t.Errorf("BAM dwm.exe for S-1-5-90-0-1 at FILETIME 132317609757318159 missing")
	}

	evs, _, _ = collect(t, openCorpus(t, "regipy/amcache.hve.xz"), "")
	e = find(byArtifact(evs, event.Amcache), `C:\Windows\system32\TPVMMondeu.dll`)
	if e == nil {
		t.Fatal("Amcache TPVMMondeu.dll missing")
	}
	if v, _ := e.Get("sha1"); v != "056f4b9d9ec9b5dc548e1b460da889e44089d76f" {
		t.Errorf("TPVMMondeu.dll sha1 %v", v)
	}
}

// TestShimCacheFormats: entry counts EricZimmerman's AppCompatCacheParser
// tests expect for each format, and the first Windows 10 entry in
// regparser's golden file.
func TestShimCacheFormats(t *testing.T) {
	cases := []struct {
		file, format string
		want         int
	}{
		{"Win2k8Standard.bin", ShimVista, 873},
		{"Win10Creators.bin", ShimWin10, 506},
		{"Win10.bin", ShimWin10, 350},
		{"win7x64.bin", ShimWin7, 304},
		{"WinXPx86.bin", ShimXP, 17},
		{"win7x86.bin", ShimWin7, 91},
		{"Win80.bin", ShimWin8, 104},
		{"Win81.bin", ShimWin8, 1024},
	}
	for _, c := range cases {
		d, err := os.ReadFile(corpusPath(t, "appcompatcache/"+c.file))
		if err != nil {
			t.Fatal(err)
		}
		f, es, err := ParseShimCache(d)
		if err != nil || f != c.format || len(es) != c.want {
			t.Errorf("%s: format %q, %d entries, err %v; want %q, %d", c.file, f, len(es), err, c.format, c.want)
		}
	}
	d, _ := os.ReadFile(corpusPath(t, "appcompatcache/Win10.bin"))
	_, es, _ := ParseShimCache(d)
	if len(es) == 0 || es[0].Path != `C:\WINDOWS\System32\vds.exe` || es[0].LastModified.String()[:19] != "2015-03-14T08:51:44" {
		t.Errorf("Win10 first entry %+v", es[0])
	}
	// Velociraptor's truncated values: 68 rows from the four 4 KiB cuts.
	total := 0
	for _, f := range []string{"Win10_trunc.bin", "Win10Creators_trunc.bin", "Win80_trunc.bin", "Win81_trunc.bin"} {
		d, _ := os.ReadFile(corpusPath(t, "appcompatcache/truncated/"+f))
		_, es, err := ParseShimCache(d)
		if err == nil {
			t.Errorf("%s: truncation not reported", f)
		}
		total += len(es)
	}
	if total != 68 {
		t.Errorf("truncated values gave %d entries, Velociraptor expects 68", total)
	}
}

func winBase(p string) string { return p[strings.LastIndex(p, `\`)+1:] }

// A panic in one artifact of a hive (here a stand-in for the ShimCache
// decoder, which fuzzing once made panic on an 8-byte XP value) is an
// error of the source, and the hive's other artifacts are still emitted.
func TestPanicInOnePartKeepsTheOthers(t *testing.T) {
	h := openCorpus(t, "regipy/SYSTEM_WIN_10_1709.xz")
	var bam int
	sink := event.SinkFunc(func(e *event.Event) error {
		if e.Artifact == event.BAM {
			bam++
		}
		return nil
	})
	whole, _ := h.parse(t.Context(), "", sink, []func(*emitter) error{h.systemKeys, h.shimcache, h.bam})
	wantBAM := bam
	if wantBAM == 0 {
		t.Fatal("the hive has no BAM events to lose")
	}
	bam = 0
	broken := func(*emitter) error { panic("shimcache stand-in") }
	st, err := h.parse(t.Context(), "", sink, []func(*emitter) error{h.systemKeys, broken, h.bam})
	if err == nil || !strings.Contains(err.Error(), "parser panic: shimcache stand-in") {
		t.Errorf("error %v, want the panic", err)
	}
	if st.Errors != whole.Errors+1 {
		t.Errorf("%d errors, want %d (the panic and the hive's own)", st.Errors, whole.Errors+1)
	}
	if bam != wantBAM {
		t.Errorf("%d BAM events after the panic, want all %d", bam, wantBAM)
	}
}
