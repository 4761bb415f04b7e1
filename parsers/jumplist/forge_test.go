package jumplist

import (
	"bytes"
	"context"
	"testing"

	forge "github.com/foothold/foothold/forge/jumplist"
	forgelnk "github.com/foothold/foothold/forge/lnk"
	"github.com/foothold/foothold/parsers/event"
)

func ft(t *testing.T, s string) event.FileTime {
	t.Helper()
	f, err := event.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestForgeRoundTrip parses a jump list written by forge/jumplist (mstsc
// links with arguments, a pinned entry, a UNC file) and checks every
// DestList value and LNK target the writer put in.
func TestForgeRoundTrip(t *testing.T) {
	mstsc := func(host string) forgelnk.Link {
		return forgelnk.Link{Target: `C:\Windows\System32\mstsc.exe`, Arguments: "/v:" + host, Size: 1_250_000,
			Created: ft(t, "2022-05-07T05:24:00Z"), VolumeSerial: 0x5a1f30c2, DriveType: 3, MachineID: "build01", MAC: "00:50:56:a1:b2:c3"}
	}
	entries := []forge.Entry{
		{Link: mstsc("DC01"), LastAccess: ft(t, "2023-03-15T01:20:05.1234567Z"), AccessCount: 1, Hostname: "build01"},
		{Link: mstsc("FS01"), LastAccess: ft(t, "2023-03-13T10:07:00Z"), AccessCount: 3, Pinned: true, Hostname: "build01"},
		{Link: forgelnk.Link{Target: `\\FS01\C$\Builds\payload.zip`, Created: ft(t, "2023-03-14T22:00:00.5Z"), Size: 4096, Attributes: 0x20, DriveType: 4},
			LastAccess: ft(t, "2023-03-15T01:20:04.9Z"), AccessCount: 2, Hostname: "build01"},
	}
	var buf bytes.Buffer
	if err := forge.WriteAutomatic(&buf, forge.AppIDMstsc, entries); err != nil {
		t.Fatal(err)
	}
	a, err := ReadAutomatic(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if a.DestList == nil || a.DestList.Version != 4 || len(a.DestList.Entries) != 3 || a.DestList.Count != 3 || a.DestList.Pinned != 1 {
		t.Fatalf("DestList %+v", a.DestList)
	}
	byTime := map[event.FileTime]forge.Entry{}
	for _, e := range entries {
		byTime[e.LastAccess] = e
	}
	for _, e := range a.DestList.Entries {
		w, ok := byTime[e.LastAccess]
		if !ok {
			t.Errorf("entry %d: last access %s not written", e.Number, e.LastAccess)
			continue
		}
		if e.AccessCount != w.AccessCount || e.Pinned != w.Pinned || e.Hostname != w.Hostname || e.Path != forge.DestPath(w.Link) {
			t.Errorf("entry %d = %+v, wrote %+v", e.Number, e, w)
		}
		l := a.Links[e.Number]
		if l == nil {
			t.Fatalf("entry %d: no LNK", e.Number)
		}
		if l.TargetPath() != w.Link.Target || l.Arguments != w.Link.Arguments || l.Created != w.Link.Created {
			t.Errorf("entry %d LNK: %q %q %s, wrote %q %q %s", e.Number, l.TargetPath(), l.Arguments, l.Created, w.Link.Target, w.Link.Arguments, w.Link.Created)
		}
		if w.Link.MachineID != "" {
			vol, file, _ := forgelnk.Droids(w.Link)
			if e.FileDroid != forgelnk.FormatGUID(file) || e.VolumeDroid != forgelnk.FormatGUID(vol) {
				t.Errorf("entry %d droids %s %s", e.Number, e.VolumeDroid, e.FileDroid)
			}
		}
	}

	var got []event.Event
	st, err := Parse(context.Background(), `C:\Users\a\AppData\Roaming\Microsoft\Windows\Recent\AutomaticDestinations\`+forge.AppIDMstsc+".automaticDestinations-ms",
		bytes.NewReader(buf.Bytes()), int64(buf.Len()), event.SinkFunc(func(e *event.Event) error {
			got = append(got, *e)
			return nil
		}))
	if err != nil || st.Records != 3 || st.Errors != 0 {
		t.Fatalf("Parse %+v %v", st, err)
	}
	var entryEvents int
	for _, e := range got {
		if e.Artifact != event.JumpList {
			t.Errorf("artifact %q", e.Artifact)
		}
		if v, _ := e.Get("app_id"); v != forge.AppIDMstsc {
			t.Errorf("app_id %v", v)
		}
		if e.Type != "entry" {
			continue
		}
		entryEvents++
		w := byTime[e.Time]
		if e.Path != w.Link.Target || e.TimeDesc != "Last accessed" {
			t.Errorf("entry event %s %q %q", e.Time, e.Path, e.TimeDesc)
		}
		if v, _ := e.Get("unc_host"); w.Link.DriveType == 4 && v != "FS01" {
			t.Errorf("unc_host = %v", v)
		}
		if v, _ := e.Get("access_count"); v != int64(w.AccessCount) {
			t.Errorf("access_count = %v", v)
		}
	}
	if entryEvents != 3 {
		t.Errorf("%d entry events, want 3", entryEvents)
	}
}
