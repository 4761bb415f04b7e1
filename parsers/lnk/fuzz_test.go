package lnk

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// FuzzDecode feeds mutated corpus links to Parse: it must not panic or
// hang, and what it emits must be well formed.
func FuzzDecode(f *testing.F) {
	root := filepath.Join(testimg.Corpus(f), "lnk")
	for _, rel := range []string{
		"EricZimmerman-Lnk/Misc/remote.file.xp.test",
		"EricZimmerman-Lnk/Misc/local.directory.seven.test",
		"EricZimmerman-Lnk/Win8.1/PhotosApp.lnk",
		"EricZimmerman-Lnk/WinVista/Windows Update.lnk",
		"plaso/NeroInfoTool.lnk",
		"plaso/unpaired_surrogate.lnk",
		"Bad/ImDisk Virtual Disk Driver.test",
		"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/Secret.lnk",
	} {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	sink := event.SinkFunc(func(e *event.Event) error {
		if e.Artifact != event.LNK || e.Type != "target" {
			panic("malformed event")
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := Parse(context.Background(), "fuzz.lnk", bytes.NewReader(b), int64(len(b)), sink)
		if st.Records < 0 || st.Errors < 0 || st.Records > 1 {
			t.Fatalf("stats %+v", st)
		}
		if l, err := Decode(b); err == nil && (l.Length < headerSize || l.Length > len(b)) {
			t.Fatalf("length %d of %d bytes", l.Length, len(b))
		}
	})
}
