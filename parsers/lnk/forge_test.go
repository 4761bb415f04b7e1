package lnk

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	forge "github.com/foothold/foothold/forge/lnk"
	"github.com/foothold/foothold/parsers/event"
)

func mustTime(t *testing.T, s string) event.FileTime {
	t.Helper()
	f, err := event.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// forgeLinks are known-truth links written by forge/lnk: a local
// executable with arguments and tracker data, a UNC share, and a
// non-ASCII local target.
func forgeLinks(t *testing.T) map[string]forge.Link {
	return map[string]forge.Link{
		"backdoor": {
			Target:  `C:\ProgramData\TPM\TpmVscMgrSvr.exe`,
			Created: mustTime(t, "2023-03-06T14:05:40.1234567Z"), Modified: mustTime(t, "2023-03-06T14:05:41.0000001Z"),
			Accessed: mustTime(t, "2023-03-07T08:52:17.9999999Z"),
			Size:     1_212_416, Attributes: 0x20, VolumeSerial: 0x5a1f30c2, VolumeLabel: "Windows", DriveType: 3,
			MachineID: "ws-trader01", MAC: "00:50:56:a1:b2:c3",
			Arguments: "-service", WorkingDir: `C:\ProgramData\TPM`, Description: "TPM Manager",
			IconLocation: `%ProgramData%\TPM\TpmVscMgrSvr.exe`,
		},
		"builds-unc": {
			Target:  `\\FS01\C$\Builds`,
			Created: mustTime(t, "2023-02-27T18:00:00Z"), Modified: mustTime(t, "2023-03-15T03:00:12.5Z"),
			Accessed:   mustTime(t, "2023-03-15T03:00:12.5Z"),
			Attributes: 0x10, DriveType: 4,
			MachineID: "fs01", FileDroid: "9a4ddb46-fa16-11ea-80bf-000c29e184e6", VolumeDroid: "7a80e88e-c216-47f5-9c0d-47f4525ecf66",
		},
		"unicode": {
			Target:  `D:\Données\Équipe\rapport é.docx`,
			Created: mustTime(t, "2022-11-01T09:00:00.0000001Z"), Size: 12345, Attributes: 0x20,
			VolumeSerial: 0x1234abcd, VolumeLabel: "Données", DriveType: 2,
		},
	}
}

// TestForgeRoundTrip decodes links written by forge/lnk and checks every
// value the writer put in; lnkinfo reads the same bytes as a second
// opinion on the paths and times.
func TestForgeRoundTrip(t *testing.T) {
	for name, fl := range forgeLinks(t) {
		t.Run(name, func(t *testing.T) {
			b, err := forge.Bytes(fl)
			if err != nil {
				t.Fatal(err)
			}
			l, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("target", l.TargetPath(), fl.Target)
			check("idlist path", l.IDListPath(), fl.Target)
			check("created", l.Created, fl.Created)
			check("modified", l.Modified, fl.Modified)
			check("accessed", l.Accessed, fl.Accessed)
			check("size", l.Size, fl.Size)
			check("attributes", l.Attributes, fl.Attributes)
			check("arguments", l.Arguments, fl.Arguments)
			check("working dir", l.WorkingDir, fl.WorkingDir)
			check("description", l.Name, fl.Description)
			check("icon", l.IconLocation, fl.IconLocation)
			check("length", l.Length, len(b))
			if fl.DriveType != 4 {
				check("serial", l.VolumeSerial, fl.VolumeSerial)
				check("label", l.VolumeLabel, fl.VolumeLabel)
				check("drive type", l.DriveType, fl.DriveType)
				check("unc host", l.UNCHost(), "")
			} else {
				check("unc host", l.UNCHost(), "FS01")
				check("share", l.NetName, `\\FS01\C$`)
			}
			if fl.MachineID != "" {
				if l.Tracker == nil {
					t.Fatal("no tracker")
				}
				check("machine", l.Tracker.MachineID, fl.MachineID)
				vol, file, err := forge.Droids(fl)
				if err != nil {
					t.Fatal(err)
				}
				check("file droid", l.Tracker.FileDroid, forge.FormatGUID(file))
				check("volume droid", l.Tracker.VolumeDroid, forge.FormatGUID(vol))
				if fl.MAC != "" {
					check("mac", l.Tracker.MAC, fl.MAC)
				}
			}
			if len(l.Warnings) > 0 {
				t.Errorf("warnings: %v", l.Warnings)
			}

			var evs []event.Event
			st, err := Parse(context.Background(), name+".lnk", bytes.NewReader(b), int64(len(b)), event.SinkFunc(func(e *event.Event) error {
				evs = append(evs, *e)
				return nil
			}))
			if err != nil || st.Records != 1 || st.Errors != 0 {
				t.Fatalf("Parse: %+v %v", st, err)
			}
			seen := map[event.FileTime]string{}
			for _, e := range evs {
				if e.Artifact != event.LNK || e.Type != "target" || e.Path != fl.Target {
					t.Errorf("event %+v", e)
				}
				if v, _ := e.Get("target_path"); v != fl.Target {
					t.Errorf("target_path = %v", v)
				}
				seen[e.Time] += e.MACB
			}
			for _, x := range []struct {
				t   event.FileTime
				pos int
			}{{fl.Modified, 0}, {fl.Accessed, 1}, {fl.Created, 3}} {
				if x.t == 0 {
					continue
				}
				if m := seen[x.t]; len(m) < 4 || m[x.pos] != "MACB"[x.pos] {
					t.Errorf("time %s: MACB %q lacks %c", x.t, m, "MACB"[x.pos])
				}
			}

			if _, err := exec.LookPath("lnkinfo"); err != nil {
				t.Skip("lnkinfo not installed")
			}
			p := filepath.Join(t.TempDir(), name+".lnk")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			want, ok := lnkinfoValues(t, p)
			if !ok {
				t.Fatal("lnkinfo cannot open the forged link")
			}
			got := ours(l)
			for _, k := range []string{"Local path", "Network path", "Volume label", "Drive serial number", "Machine identifier", "Droid file identifier", "Command line arguments"} {
				if got[k] != want[k] {
					t.Errorf("%s = %q, lnkinfo %q", k, got[k], want[k])
				}
			}
			for _, k := range []struct {
				label string
				got   event.FileTime
			}{{"Creation time", l.Created}, {"Modification time", l.Modified}, {"Access time", l.Accessed}} {
				w, err := lnkinfoTime(want[k.label])
				if err != nil || w != k.got {
					t.Errorf("%s = %d, lnkinfo %q (%v)", k.label, k.got, want[k.label], err)
				}
			}
		})
	}
}
