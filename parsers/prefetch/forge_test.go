package prefetch

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/foothold/foothold/forge/prefetch"
	"github.com/foothold/foothold/parsers/event"
)

func ft(t testing.TB, s string) event.FileTime {
	t.Helper()
	f, err := event.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// forged is a known-truth file with a run time in 2100 (go-prefetch drops
// it, D16) and 100 ns fractions, and more files than one 64 KiB MAM block.
func forged(t testing.TB) prefetch.File {
	vol := `\VOLUME{01d94fb1c8a1b2c3-5a1f30c2}`
	f := prefetch.File{
		Executable: "PSEXEC64.EXE",
		Path:       `\DEVICE\HARDDISKVOLUME3\USERS\D.OKAFOR\APPDATA\LOCAL\TEMP\PSEXEC64.EXE`,
		RunCount:   11,
		RunTimes: []event.FileTime{
			ft(t, "2100-01-01T00:00:00.0000001Z"),
			ft(t, "2023-03-08T02:10:04.1234567Z"),
			ft(t, "2023-03-08T02:09:12.0000001Z"),
			ft(t, "2023-03-07T23:01:59.9999999Z"),
		},
		Files: []string{
			vol + `\WINDOWS\SYSTEM32\NTDLL.DLL`,
			vol + `\USERS\D.OKAFOR\APPDATA\LOCAL\TEMP\PSEXEC64.EXE`,
		},
		Volumes: []prefetch.Volume{
			{DevicePath: vol, Serial: 0x5a1f30c2, Created: ft(t, "2023-01-15T10:11:12.3456789Z"),
				Directories: []string{vol + `\USERS`, vol + `\WINDOWS`, vol + `\WINDOWS\SYSTEM32`}},
		},
	}
	for i := 0; i < 3000; i++ {
		f.Files = append(f.Files, fmt.Sprintf(`%s\WINDOWS\SYSTEM32\LIB%05d.DLL`, vol, i))
	}
	return f
}

// TestForgeRoundTrip writes known-truth files with forge/prefetch, plain
// and MAM-compressed, and checks every value read back, directories
// included (this test found the forge writer losing them).
func TestForgeRoundTrip(t *testing.T) {
	f := forged(t)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compress=", compress), func(t *testing.T) {
			var buf bytes.Buffer
			if err := prefetch.Write(&buf, f, compress); err != nil {
				t.Fatal(err)
			}
			info, err := Decode(context.Background(), buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if info.Compressed != compress || info.Version != 30 || info.Executable != f.Executable ||
				info.Hash != prefetch.Hash(f.Path) || info.RunCount != f.RunCount || info.ExecutablePath != f.Path {
				t.Errorf("header: %+v", info)
			}
			if !reflect.DeepEqual(info.RunTimes, f.RunTimes) {
				t.Errorf("run times %v, want %v", info.RunTimes, f.RunTimes)
			}
			if !reflect.DeepEqual(info.Files, f.Files) {
				t.Errorf("files differ: %d vs %d", len(info.Files), len(f.Files))
			}
			if len(info.Volumes) != 1 || info.Volumes[0].DevicePath != f.Volumes[0].DevicePath ||
				info.Volumes[0].Serial != f.Volumes[0].Serial || info.Volumes[0].Created != f.Volumes[0].Created ||
				!reflect.DeepEqual(info.Volumes[0].Directories, f.Volumes[0].Directories) {
				t.Errorf("volumes %+v, want %+v", info.Volumes, f.Volumes)
			}

			var evs []event.Event
			st, err := Parse(context.Background(), "PSEXEC64.EXE.pf", bytes.NewReader(buf.Bytes()), int64(buf.Len()),
				event.SinkFunc(func(e *event.Event) error { evs = append(evs, *e); return nil }))
			if err != nil || st.Records != 5 || len(evs) != 5 {
				t.Fatalf("Parse: %d records, %v", st.Records, err)
			}
			for i, want := range []string{"Last run", "Previous run 1", "Previous run 2", "Previous run 3"} {
				e := evs[i]
				if e.TimeDesc != want || e.Time != f.RunTimes[i] || e.Type != "run" || e.Artifact != event.Prefetch || e.Path != f.Path {
					t.Errorf("event %d: %s %v %s %s", i, e.TimeDesc, e.Time, e.Type, e.Path)
				}
				if v, _ := e.Get("target_path"); v != f.Path {
					t.Errorf("target_path %v", v)
				}
			}
			if e := evs[4]; e.Type != "volume" || e.Time != f.Volumes[0].Created {
				t.Errorf("volume event %+v", e)
			}
		})
	}
}
