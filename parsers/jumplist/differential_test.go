package jumplist

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// olecfStreams are the numbered-stream counts olecfinfo gives for the
// corpus's automatic destinations (GROUND_TRUTH_POINTERS, jump lists).
var olecfStreams = map[string]int{
	"EricZimmerman-JumpList/Win7/1b4dd67f29cb1962.automaticDestinations-ms":                 4,
	"EricZimmerman-JumpList/Win80/f01b4d95cf55d32a.automaticDestinations-ms":                4,
	"EricZimmerman-JumpList/Win81/f01b4d95cf55d32a.automaticDestinations-ms":                4,
	"EricZimmerman-JumpList/Win10/f01b4d95cf55d32a.automaticDestinations-ms":                9,
	"EricZimmerman-JumpList/Win10/7e4dca80246863e3.automaticDestinations-ms":                1,
	"EricZimmerman-JumpList/Win10/5f7b5f1e01b83767.automaticDestinations-ms":                0,
	"DFIRArtifactMuseum/Win10/APTSimulatorVM/f01b4d95cf55d32a.automaticDestinations-ms":     11,
	"DFIRArtifactMuseum/Win10/APTSimulatorVM/573770283dc3d854.automaticDestinations-ms":     1,
	"DFIRArtifactMuseum/Win10/APTSimulatorVM/5f7b5f1e01b83767.automaticDestinations-ms":     0,
	"DFIRArtifactMuseum/Win10/RathbunVM/5f7b5f1e01b83767.automaticDestinations-ms":          8,
	"DFIRArtifactMuseum/Win10/RathbunVM/9b9cdc69c1c24e2b.automaticDestinations-ms":          7,
	"DFIRArtifactMuseum/Win10/RathbunVM/f01b4d95cf55d32a.automaticDestinations-ms":          9,
	"DFIRArtifactMuseum/Win10/RathbunVM/dd7c3b1adb1c168b.automaticDestinations-ms":          2,
	"DFIRArtifactMuseum/Win10/RathbunVM/d06c94537ecaee12.automaticDestinations-ms":          0,
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/9b9cdc69c1c24e2b.automaticDestinations-ms": 5,
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/7e4dca80246863e3.automaticDestinations-ms": 2,
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/1bc392b8e104a00e.automaticDestinations-ms": 1,
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/f01b4d95cf55d32a.automaticDestinations-ms": 1,
	"plaso/1b4dd67f29cb1962.automaticDestinations-ms":                                       7,
	"plaso/9d1f905ce5044aee.automaticDestinations-ms":                                       2,
}

// TestAutomaticOlecf reads every corpus automaticDestinations-ms: each
// numbered stream must be byte-identical to what olecfexport exports, its
// LNK must decode like lnkinfo decodes the exported stream, and the
// DestList must hold as many entries as its header declares and as
// olecfinfo lists numbered streams (EZ JumpList's rule), each joined to
// its stream.
func TestAutomaticOlecf(t *testing.T) {
	for _, tool := range []string{"olecfexport", "lnkinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	root := filepath.Join(testimg.Corpus(t), "jumplist")
	var files, streams, values, entries int
	for _, rel := range corpusFiles(t, ".automaticDestinations-ms") {
		files++
		want, ok := olecfStreams[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("%s: no olecfinfo count recorded", rel)
		}
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		a, err := ReadAutomatic(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		dir := filepath.Join(t.TempDir(), "x")
		if out, err := exec.Command("olecfexport", "-t", dir, filepath.Join(root, rel)).CombinedOutput(); err != nil {
			t.Fatalf("%s: olecfexport: %v\n%s", rel, err, out)
		}
		exported, err := os.ReadDir(dir + ".export")
		if err != nil {
			t.Fatal(err)
		}
		numbered := 0
		for _, d := range exported {
			n, err := strconv.ParseUint(d.Name(), 16, 32)
			if err != nil {
				continue
			}
			numbered++
			data := filepath.Join(dir+".export", d.Name(), "StreamData.bin")
			ref, err := os.ReadFile(data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Streams[uint32(n)], ref) {
				t.Errorf("%s stream %s: %d bytes differ from olecfexport's %d", rel, d.Name(), len(a.Streams[uint32(n)]), len(ref))
			}
			l := a.Links[uint32(n)]
			if l == nil {
				t.Errorf("%s stream %s: not decoded", rel, d.Name())
				continue
			}
			streams++
			values += lnkinfoCheck(t, rel+" stream "+d.Name(), data, l)
		}
		if numbered != want || len(a.Streams) != want {
			t.Errorf("%s: olecfexport %d numbered streams, we %d, olecfinfo %d", rel, numbered, len(a.Streams), want)
		}
		if a.DestList == nil {
			t.Errorf("%s: no DestList", rel)
			continue
		}
		entries += len(a.DestList.Entries)
		if len(a.DestList.Entries) != want || (want > 0 && int(a.DestList.Count) != want) {
			t.Errorf("%s: DestList v%d declares %d, has %d entries; %d streams", rel, a.DestList.Version, a.DestList.Count, len(a.DestList.Entries), want)
		}
		for _, e := range a.DestList.Entries {
			if a.Links[e.Number] == nil {
				t.Errorf("%s: DestList entry %d has no LNK stream", rel, e.Number)
			}
			if e.LastAccess == 0 {
				t.Errorf("%s: DestList entry %d has no last access", rel, e.Number)
			}
		}
		var evs int64
		st, err := Parse(context.Background(), rel, bytes.NewReader(b), int64(len(b)), event.SinkFunc(func(e *event.Event) error {
			evs++
			return nil
		}))
		if err != nil || st.Records != int64(want) || st.Errors != 0 {
			t.Errorf("%s: Parse %+v, %d events, %v", rel, st, evs, err)
		}
	}
	t.Logf("%d files, %d LNK streams equal to olecfexport and checked against lnkinfo (%d values), %d DestList entries", files, streams, values, entries)
}

// customLNKs are the shell-link signatures counted in each custom
// destinations file (a byte search for header size + CLSID, independent of
// the category walk); plaso's expectations are event counts, not links.
var customLNKs = map[string]int{
	"plaso/5afe4de1b92fc382.customDestinations-ms":                                       9,
	"plaso/368d807282ccde9d.customDestinations-ms":                                       3,
	"plaso/c98dce577f884ef8.customDestinations-ms":                                       0,
	"DFIRArtifactMuseum/Win10/RathbunVM/ccba5a5986c77e43.customDestinations-ms":          2,
	"DFIRArtifactMuseum/Win10/RathbunVM/f01b4d95cf55d32a.customDestinations-ms":          0,
	"DFIRArtifactMuseum/Win10/RathbunVM/7e4dca80246863e3.customDestinations-ms":          0,
	"DFIRArtifactMuseum/Win10/RathbunVM/590aee7bdd69b59b.customDestinations-ms":          3,
	"DFIRArtifactMuseum/Win10/APTSimulatorVM/ccba5a5986c77e43.customDestinations-ms":     2,
	"DFIRArtifactMuseum/Win10/APTSimulatorVM/f01b4d95cf55d32a.customDestinations-ms":     0,
	"DFIRArtifactMuseum/Win10/APTSimulatorVM/7e4dca80246863e3.customDestinations-ms":     0,
	"DFIRArtifactMuseum/Win10/APTSimulatorVM/590aee7bdd69b59b.customDestinations-ms":     3,
	"DFIRArtifactMuseum/Win10/APTSimulatorVM/f18460fded109990.customDestinations-ms":     0,
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/f01b4d95cf55d32a.customDestinations-ms": 0,
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/7e4dca80246863e3.customDestinations-ms": 0,
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/590aee7bdd69b59b.customDestinations-ms": 3,
	"DFIRArtifactMuseum/Win2012R2/StolenSzechuan/28c8b86deab549a1.customDestinations-ms": 3,
}

// footer ends every category of a custom destinations file.
var footer = []byte{0xAB, 0xFB, 0xBF, 0xBA}

// TestCustomLnkinfo reads every corpus customDestinations-ms: the LNK
// count must equal the signature count, each LNK must end where the next
// entry's CLSID or a category footer begins, and each LNK, cut out at the
// length we decoded, must read the same in lnkinfo.
func TestCustomLnkinfo(t *testing.T) {
	if _, err := exec.LookPath("lnkinfo"); err != nil {
		t.Skip("lnkinfo not installed")
	}
	root := filepath.Join(testimg.Corpus(t), "jumplist")
	var files, links, values int
	for _, rel := range corpusFiles(t, ".customDestinations-ms") {
		files++
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		ls, offs, err := Custom(b)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		want, ok := customLNKs[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("%s: no count recorded", rel)
		}
		if got := bytes.Count(b, lnkSig); got != want || len(ls) != want {
			t.Errorf("%s: %d links, %d signatures, want %d", rel, len(ls), got, want)
		}
		for i, l := range ls {
			end := int(offs[i]) + l.Length
			rest := b[end:]
			if !bytes.HasPrefix(rest, lnkSig[4:]) && !bytes.HasPrefix(rest, footer) {
				t.Errorf("%s link %d: followed by % x, not a CLSID or footer", rel, i+1, rest[:min(8, len(rest))])
			}
			p := filepath.Join(t.TempDir(), strconv.Itoa(i)+".lnk")
			if err := os.WriteFile(p, b[offs[i]:end], 0o600); err != nil {
				t.Fatal(err)
			}
			values += lnkinfoCheck(t, rel+" link "+strconv.Itoa(i+1), p, l)
			links++
		}
		st, err := Parse(context.Background(), rel, bytes.NewReader(b), int64(len(b)), event.SinkFunc(func(*event.Event) error { return nil }))
		if err != nil || st.Records != int64(want) {
			t.Errorf("%s: Parse %+v %v", rel, st, err)
		}
	}
	t.Logf("%d files, %d links checked against lnkinfo (%d values)", files, links, values)
}

// TestBad: the prefetch file upstream uses as a negative input is neither
// OLE nor custom destinations, and Parse says so without panicking.
func TestBad(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testimg.Corpus(t), "jumplist", "Bad", "CALC.EXE-3FBEF7FD.pf"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Parse(context.Background(), "CALC.EXE-3FBEF7FD.pf", bytes.NewReader(b), int64(len(b)), event.SinkFunc(func(*event.Event) error {
		t.Error("event from a prefetch file")
		return nil
	}))
	if err == nil || st.Records != 0 {
		t.Errorf("Parse = %+v, %v; want an error", st, err)
	}
	if _, err := ReadAutomatic(bytes.NewReader(b)); err == nil {
		t.Error("ReadAutomatic accepted a prefetch file")
	}
}
