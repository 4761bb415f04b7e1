package ntfs

import (
	"context"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

func openHost1(t *testing.T) (*Volume, string) {
	t.Helper()
	path := testimg.Path(t, "host1.raw")
	f, size := openFile(t, path)
	const off = 2048 * 512
	v, err := Open(sectionAt(f, off, size-off), size-off)
	if err != nil {
		t.Fatal(err)
	}
	return v, path
}

// icat reads a stream with TSK, the independent reader for content.
func icat(t *testing.T, image, inode string) []byte {
	t.Helper()
	needTool(t, "icat")
	out, err := exec.Command("icat", "-o", "2048", image, inode).Output()
	if err != nil {
		t.Fatalf("icat %s: %v", inode, err)
	}
	return out
}

// TestZoneAndTimestomp checks the host1 story (testdata/images/manifests/
// host1.manifest): two files with a Zone.Identifier (one deleted), one
// timestomped DLL, and the settimes'd hosts file, which must not be
// flagged because $SI and $FN moved together.
func TestZoneAndTimestomp(t *testing.T) {
	v, image := openHost1(t)
	var c collector
	if _, err := v.ParseMFT(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	zones := map[string]*eventT{}
	stomps := map[string]*eventT{}
	for i := range c.events {
		e := &c.events[i]
		switch e.Type {
		case "zone":
			zones[e.Path] = e
		case "timestomp":
			stomps[e.Path] = e
		}
	}

	setup := zones[`\Users\jdoe\Downloads\Setup_Viewer_4.2.exe`]
	stage := zones[`\Windows\Temp\stage1.ps1`]
	if len(zones) != 2 || setup == nil || stage == nil {
		t.Fatalf("zone events for %v", keys(zones))
	}
	for _, e := range []*eventT{setup, stage} {
		// The stream content as TSK reads it must hold what we parsed.
		var inode string
		for _, a := range adsOf(e) {
			if a.Name == "Zone.Identifier" {
				inode = a.Inode
			}
		}
		content := string(icat(t, image, inode))
		for _, k := range []string{"zone_id", "host_url", "referrer_url"} {
			if val := field[string](t, e, k); val != "" && !strings.Contains(content, "="+val+"\r\n") {
				t.Errorf("%s %s = %q not in icat content %q", e.Path, k, val, content)
			}
		}
		if field[string](t, e, "zone_id") != "3" {
			t.Errorf("%s zone_id %q", e.Path, field[string](t, e, "zone_id"))
		}
		if e.Time != field[eventFileTime](t, e, "si_b") || e.Time == 0 {
			t.Errorf("%s zone event time %v", e.Path, e.Time)
		}
	}
	if got := field[string](t, setup, "host_url"); got != "https://cdn.example.invalid/dl/Setup_Viewer_4.2.exe" {
		t.Errorf("host_url %q", got)
	}
	wantMsg := `Downloaded from https://cdn.example.invalid/dl/Setup_Viewer_4.2.exe (ZoneId=3 Internet, referrer https://viewer-download.example.invalid/) \Users\jdoe\Downloads\Setup_Viewer_4.2.exe`
	if setup.Message != wantMsg {
		t.Errorf("message %q", setup.Message)
	}
	if !field[bool](t, stage, "deleted") || !strings.HasSuffix(stage.Message, "(deleted)") {
		t.Errorf("stage1.ps1 should be deleted: %q", stage.Message)
	}
	// zone fields ride on every event of the file.
	for _, e := range c.events {
		if e.Path == setup.Path {
			if _, ok := e.Get("zone_id"); !ok {
				t.Errorf("%s %s event lacks zone_id", e.Path, e.Type)
			}
		}
	}

	dll := stomps[`\Windows\System32\wbemsvc2.dll`]
	if len(stomps) != 1 || dll == nil {
		t.Fatalf("timestomp events for %v, want only wbemsvc2.dll", keys(stomps))
	}
	want := []string{StompSIBeforeFN, StompZeroFraction}
	if got := field[[]string](t, dll, "timestomp"); !slices.Equal(got, want) {
		t.Errorf("indicators %v, want %v", got, want)
	}
	// Times as istat prints them (host1.istat.txt / TestVolumeTimesMatchIstat).
	if dll.Time.String() != "2019-03-19T04:12:33.0000000Z" || field[eventFileTime](t, dll, "fn_b").String() != "2023-10-05T09:15:30.4567890Z" {
		t.Errorf("timestomp event %s, fn_b %s", dll.Time, field[eventFileTime](t, dll, "fn_b"))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestWalkMatchesFls: Walk's in-use files and directories equal
// `fls -r -p -u` (allocated names) on host1, entry numbers included.
func TestWalkMatchesFls(t *testing.T) {
	v, image := openHost1(t)
	needTool(t, "fls")
	out, err := exec.Command("fls", "-r", "-p", "-u", "-o", "2048", image).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		meta, name, _ := strings.Cut(line, ":\t")
		fields := strings.Fields(meta)
		entry, _, _ := strings.Cut(fields[len(fields)-1], "-")
		if base, _, ok := strings.Cut(name, ":"); ok {
			// A stream line also names its file: files with only
			// named streams ($Extend\$ObjId:$O) have no other line.
			if strings.HasSuffix(base, "/.") {
				continue
			}
			name = base
		}
		want[`\`+strings.ReplaceAll(name, "/", `\`)] = entry
	}
	got := map[string]string{}
	streams := 0
	err = v.Walk(context.Background(), func(f File) error {
		if f.Entry < 24 && f.Entry != rootEntry || f.Entry == rootEntry {
			return nil // metadata files: fls -p lists them under their names too, compared below
		}
		got[f.Path] = strconv.FormatUint(f.Entry, 10)
		streams += len(f.Streams)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, e := range want {
		if strings.HasPrefix(p, `\$`) && got[p] == "" {
			continue // metadata files below entry 24 are skipped above
		}
		if got[p] != e {
			t.Errorf("%s: Walk entry %q, fls %s", p, got[p], e)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("Walk has %s, fls -u does not", p)
		}
	}
	if streams < 4 { // notes.txt:author/hidden/SummaryInformation, SyncHelper:cfg, Setup:Zone.Identifier
		t.Errorf("only %d named streams", streams)
	}
}

// TestOpenFile reads files and streams by path and compares them with icat.
func TestOpenFile(t *testing.T) {
	v, image := openHost1(t)
	tests := []struct{ path, inodeOf string }{
		{`\Windows\System32\config\SYSTEM`, `/Windows/System32/config/SYSTEM`},
		{`\WINDOWS\system32\CONFIG\system`, `/Windows/System32/config/SYSTEM`},
		{`/Users/jdoe/Documents/notes.txt:hidden`, `/Users/jdoe/Documents/notes.txt:hidden`},
		{`\Users\jdoe\Documents\Отчёты\résumé 日本.txt`, `/Users/jdoe/Documents/Отчёты/résumé 日本.txt`},
		{`\PROGRA~1`, ""},
	}
	needTool(t, "ifind")
	for _, tc := range tests {
		r, size, err := v.OpenFile(tc.path)
		if tc.inodeOf == "" {
			// a directory: found through its 8.3 name, but it has no data
			if err == nil {
				t.Errorf("%s: opened a directory as a file", tc.path)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		got, err := io.ReadAll(io.NewSectionReader(r, 0, size))
		if err != nil {
			t.Fatal(err)
		}
		name, stream, _ := strings.Cut(tc.inodeOf, ":")
		out, err := exec.Command("ifind", "-o", "2048", "-n", name, image).Output()
		if err != nil {
			t.Fatalf("ifind %s: %v", name, err)
		}
		entry := strings.TrimSpace(string(out))
		inode := entry
		if stream != "" {
			inode += ":" + stream
		}
		want := icatStream(t, image, entry, stream)
		if string(got) != string(want) || len(got) == 0 {
			t.Errorf("%s: %d bytes, icat %s %d bytes", tc.path, len(got), inode, len(want))
		}
	}
	if _, _, err := v.OpenFile(`\no\such\file`); err == nil {
		t.Error("missing file opened")
	}
}

// icatStream reads the unnamed or a named stream of an entry with icat,
// finding the stream's attribute id with istat.
func icatStream(t *testing.T, image, entry, stream string) []byte {
	t.Helper()
	if stream == "" {
		return icat(t, image, entry)
	}
	out, err := exec.Command("istat", "-o", "2048", image, entry).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Type: $DATA (") && strings.Contains(line, "Name: "+stream+" ") {
			id := line[strings.Index(line, "(")+1 : strings.Index(line, ")")]
			return icat(t, image, entry+"-"+id)
		}
	}
	t.Fatalf("istat %s: no stream %s", entry, stream)
	return nil
}
