package ntfs

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
	"github.com/foothold/foothold/parsers/event"
)

type usnjlsRecord struct {
	ref, parent string // "83-1"
	usn         int64
	time        event.FileTime
	reasons     string // "FILE_CREATE DATA_EXTEND" as usnjls prints them
	name        string
}

// usnjls runs `usnjls -l -o sector image` (TSK), whose long form has the
// USN and 100 ns times.
func usnjls(t testing.TB, image string, sector int64) []usnjlsRecord {
	t.Helper()
	needTool(t, "usnjls")
	out, err := exec.Command("usnjls", "-l", "-o", strconv.FormatInt(sector, 10), image).Output()
	if err != nil {
		t.Fatalf("usnjls: %v", err)
	}
	var recs []usnjlsRecord
	var cur *usnjlsRecord
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Version":
			recs = append(recs, usnjlsRecord{})
			cur = &recs[len(recs)-1]
		case "Reference Number":
			cur.ref = v
		case "Parent Reference Number":
			cur.parent = v
		case "Update Sequence Number":
			cur.usn, _ = strconv.ParseInt(v, 10, 64)
		case "Time":
			cur.time = tskFileTime(t, v)
		case "Reason":
			cur.reasons = v
		case "Name":
			cur.name = v
		}
	}
	return recs
}

// TestVolumeUSNMatchesUsnjls: every record of host1's journal equals
// usnjls's: references, USN, time to 100 ns, reasons and name; and paths
// resolve through the volume's MFT (including the deleted stage1.ps1).
func TestVolumeUSNMatchesUsnjls(t *testing.T) {
	path := testimg.Path(t, "host1.raw")
	f, size := openFile(t, path)
	const sector = 2048
	v, err := Open(sectionAt(f, sector*512, size-sector*512), size-sector*512)
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	st, err := v.ParseUSN(context.Background(), &c)
	if err != nil {
		t.Fatalf("ParseUSN: %v", err)
	}
	want := usnjls(t, path, sector)
	if len(want) == 0 || int64(len(want)) != st.Records || len(c.events) != len(want) {
		t.Fatalf("records: ours %d (events %d), usnjls %d", st.Records, len(c.events), len(want))
	}
	ref := func(e *event.Event, ek, sk string) string {
		return strconv.FormatInt(field[int64](t, e, ek), 10) + "-" + strconv.FormatInt(field[int64](t, e, sk), 10)
	}
	for i, w := range want {
		e := &c.events[i]
		got := usnjlsRecord{
			ref:     ref(e, "entry", "seq"),
			parent:  ref(e, "parent_entry", "parent_seq"),
			usn:     field[int64](t, e, "usn"),
			time:    e.Time,
			reasons: strings.Join(field[[]string](t, e, "reasons"), " "),
			name:    field[string](t, e, "name"),
		}
		if got != w {
			t.Errorf("record %d:\n ours    %+v\n usnjls  %+v", i, got, w)
		}
		if e.Record != w.usn {
			t.Errorf("record %d: Record %d, want USN %d", i, e.Record, w.usn)
		}
	}
	// Paths from the MFT, checked against the manifest's story.
	paths := map[string]bool{}
	for _, e := range c.events {
		paths[e.Path] = true
	}
	for _, p := range []string{
		`\Users\jdoe\Documents\Quarterly Report Q3.docx`,
		`\Users\jdoe\Downloads\Setup_Viewer_4.2.exe`,
		`\Windows\Temp\tmp8F2A.tmp`,
		`\Windows\Temp\svcupd.exe`,
		`\Windows\Temp\stage1.ps1`, // deleted at the end; its directory lives on
	} {
		if !paths[p] {
			t.Errorf("no USN event with path %s", p)
		}
	}
}

func TestVolumeWithoutJournal(t *testing.T) {
	img := tskImages()[0] // charlie: $Extend has no $UsnJrnl
	path := img.path(t)
	f, size := openFile(t, path)
	v, err := Open(f, size)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.ParseUSN(context.Background(), &collector{}); !errors.Is(err, ErrNoJournal) {
		t.Fatalf("ParseUSN on charlie: %v, want ErrNoJournal", err)
	}
}
