package jumplist

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/foothold/foothold/forge/lnk"
	"github.com/foothold/foothold/parsers/event"
	"github.com/richardlehane/mscfb"
)

func ft(s string) event.FileTime {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return event.FromTime(t)
}

func corpusDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
}

func mstscLink(host string) lnk.Link {
	return lnk.Link{
		Target:  `C:\Windows\System32\mstsc.exe`,
		Created: ft("2022-05-07T05:20:00.5Z"), Modified: ft("2022-05-07T05:20:00.5Z"), Accessed: ft("2023-03-15T01:20:05Z"),
		Size: 1_384_448, Attributes: 0x20, VolumeSerial: 0x0c0ffee0, DriveType: 3,
		MachineID: "build01", MAC: "00:15:5d:0a:1e:30",
		Arguments: `/v:"` + host + `"`, Description: "Connect to " + host + " with Remote Desktop Connection",
		IconLocation: `%SystemRoot%\system32\mstsc.exe`,
	}
}

// scenario is adm.jchen's mstsc jump list on BUILD01 (E7b), with an older
// pinned entry and a plain file entry so that every DestList field varies.
func scenario() []Entry {
	file := lnk.Link{
		Target:  `C:\Users\adm.jchen\Documents\Default.rdp`,
		Created: ft("2023-03-13T10:05:00Z"), Modified: ft("2023-03-15T01:20:04.25Z"), Accessed: ft("2023-03-15T01:20:04.25Z"),
		Size: 2290, Attributes: 0x20, VolumeSerial: 0x0c0ffee0, DriveType: 3, MachineID: "build01", MAC: "00:15:5d:0a:1e:30",
	}
	return []Entry{
		{Link: mstscLink("DC01"), LastAccess: ft("2023-03-15T01:20:05.1234567Z"), AccessCount: 1, Hostname: "build01"},
		{Link: mstscLink("FS01"), LastAccess: ft("2023-03-13T10:07:00Z"), AccessCount: 3, Pinned: true, Hostname: "build01"},
		{Link: file, LastAccess: ft("2023-03-15T01:20:04.9Z"), AccessCount: 2, Hostname: "build01"},
	}
}

// destEntry is one DestList entry as our reference reading decodes it.
type destEntry struct {
	number      uint32
	hostname    string
	volDroid    [16]byte
	fileDroid   [16]byte
	lastAccess  event.FileTime
	pin         int32
	accessCount uint32
	score       float32
	path        string
}

type destListInfo struct {
	version, count, pinned, lastNumber uint32
	entries                            []destEntry
}

// readDestList is a reference reading of the DestList layout, written from
// the libyal/EricZimmerman descriptions and checked against every corpus
// jump list in TestDestListCorpus before it judges our output.
func readDestList(b []byte) (destListInfo, error) {
	le := binary.LittleEndian
	var d destListInfo
	if len(b) < 32 {
		return d, fmt.Errorf("DestList of %d bytes", len(b))
	}
	d.version, d.count, d.pinned, d.lastNumber = le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[16:])
	off := 32
	fixed := 130
	if d.version < 3 {
		fixed = 114
	}
	for off < len(b) {
		if off+fixed > len(b) {
			return d, fmt.Errorf("entry at %d truncated", off)
		}
		e := b[off:]
		var x destEntry
		copy(x.volDroid[:], e[8:])
		copy(x.fileDroid[:], e[24:])
		x.hostname = strings.TrimRight(string(e[72:88]), "\x00")
		x.number = le.Uint32(e[88:])
		x.score = math.Float32frombits(le.Uint32(e[96:]))
		x.lastAccess = event.FileTime(le.Uint64(e[100:]))
		x.pin = int32(le.Uint32(e[108:]))
		if d.version >= 3 {
			x.accessCount = le.Uint32(e[116:])
		}
		n := int(le.Uint16(e[fixed-2:]))
		end := fixed + 2*n
		if d.version >= 3 {
			end += 4
		}
		if end > len(e) {
			return d, fmt.Errorf("entry at %d: path runs past the end", off)
		}
		u := make([]uint16, n)
		for i := range u {
			u[i] = le.Uint16(e[fixed+2*i:])
		}
		x.path = string(utf16.Decode(u))
		d.entries = append(d.entries, x)
		off += end
	}
	return d, nil
}

var olecfLine = regexp.MustCompile(`^(\s*)(.+) \((\d+) bytes\)$`)

// olecfinfo returns the streams below the root with their sizes.
func olecfinfo(t *testing.T, path string) map[string]int {
	t.Helper()
	out, err := exec.Command("olecfinfo", path).CombinedOutput()
	if err != nil {
		t.Fatalf("olecfinfo %s: %v\n%s", path, err, out)
	}
	streams := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		m := olecfLine.FindStringSubmatch(line)
		if m == nil || m[1] == "" {
			continue
		}
		n, _ := strconv.Atoi(m[3])
		streams[m[2]] = n
	}
	return streams
}

// olecfexport exports every stream and returns their bytes by name.
func olecfexport(t *testing.T, path string) map[string][]byte {
	t.Helper()
	target := filepath.Join(t.TempDir(), "x")
	if out, err := exec.Command("olecfexport", "-t", target, path).CombinedOutput(); err != nil {
		t.Fatalf("olecfexport %s: %v\n%s", path, err, out)
	}
	got := map[string][]byte{}
	root := target + ".export"
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(root, d.Name(), "StreamData.bin"))
		if err != nil {
			t.Fatal(err)
		}
		got[d.Name()] = b
	}
	return got
}

func mscfbStreams(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	doc, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("mscfb: %v", err)
	}
	got := map[string][]byte{}
	for e, err := doc.Next(); err == nil; e, err = doc.Next() {
		b, err := io.ReadAll(e)
		if err != nil {
			t.Fatalf("mscfb %s: %v", e.Name, err)
		}
		got[e.Name] = b
	}
	return got
}

var lnkinfoLine = regexp.MustCompile(`^\t([^\t]+?)\t+: ?(.*)$`)

func lnkinfo(t *testing.T, data []byte) map[string]string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "entry.lnk")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("lnkinfo", p).CombinedOutput()
	if err != nil {
		t.Fatalf("lnkinfo: %v\n%s", err, out)
	}
	f := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := lnkinfoLine.FindStringSubmatch(line); m != nil {
			f[m[1]] = m[2]
		}
	}
	return f
}

func needTools(t *testing.T, tools ...string) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
}

func TestWriteAutomatic(t *testing.T) {
	entries := scenario()
	var buf bytes.Buffer
	if err := WriteAutomatic(&buf, AppIDMstsc, entries); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	path := filepath.Join(t.TempDir(), AppIDMstsc+".automaticDestinations-ms")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// Expected streams: entry numbers by last access, oldest first.
	order := []int{0, 1, 2}
	sort.SliceStable(order, func(a, b int) bool { return entries[order[a]].LastAccess < entries[order[b]].LastAccess })
	want := map[string][]byte{}
	byName := map[string]Entry{}
	for n, i := range order {
		b, err := lnk.Bytes(entries[i].Link)
		if err != nil {
			t.Fatal(err)
		}
		name := strconv.FormatUint(uint64(n+1), 16)
		want[name] = b
		byName[name] = entries[i]
	}

	// richardlehane/mscfb: the same streams, byte for byte.
	got := mscfbStreams(t, data)
	if len(got) != len(want)+1 {
		t.Errorf("mscfb: %d streams, want %d", len(got), len(want)+1)
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("mscfb stream %s: %d bytes differ from the LNK written", name, len(got[name]))
		}
	}
	dl := got["DestList"]

	needTools(t, "olecfinfo", "olecfexport", "lnkinfo")
	sizes := olecfinfo(t, path)
	exported := olecfexport(t, path)
	if len(sizes) != len(got) || len(exported) != len(got) {
		t.Errorf("olecfinfo %d streams, olecfexport %d, mscfb %d", len(sizes), len(exported), len(got))
	}
	for name, b := range got {
		if sizes[name] != len(b) || !bytes.Equal(exported[name], b) {
			t.Errorf("stream %s: olecfinfo %d bytes, olecfexport %d bytes, mscfb %d bytes (equal %v)",
				name, sizes[name], len(exported[name]), len(b), bytes.Equal(exported[name], b))
		}
	}

	// Each LNK stream read by lnkinfo.
	for name, e := range byName {
		f := lnkinfo(t, exported[name])
		vol, file, err := lnk.Droids(e.Link)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{
			"Local path":              e.Link.Target,
			"Command line arguments":  e.Link.Arguments,
			"Description":             e.Link.Description,
			"Machine identifier":      e.Link.MachineID,
			"Droid volume identifier": lnk.FormatGUID(vol),
			"Droid file identifier":   lnk.FormatGUID(file),
		} {
			if f[k] != v {
				t.Errorf("stream %s: lnkinfo %q = %q, want %q", name, k, f[k], v)
			}
		}
	}

	// DestList through the reference reading.
	d, err := readDestList(exported["DestList"])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dl, exported["DestList"]) {
		t.Error("DestList differs between mscfb and olecfexport")
	}
	if d.version != 4 || d.count != 3 || int(d.count) != len(d.entries) || d.pinned != 1 || d.lastNumber != 3 {
		t.Errorf("DestList header: version %d count %d (%d parsed) pinned %d last %d", d.version, d.count, len(d.entries), d.pinned, d.lastNumber)
	}
	for i, x := range d.entries {
		name := strconv.FormatUint(uint64(x.number), 16)
		e, ok := byName[name]
		if !ok {
			t.Errorf("DestList entry %d: no stream %q", x.number, name)
			continue
		}
		vol, file, _ := lnk.Droids(e.Link)
		wantPin := int32(-1)
		if e.Pinned {
			wantPin = 0
		}
		if x.hostname != e.Hostname || x.lastAccess != e.LastAccess || x.accessCount != e.AccessCount ||
			x.pin != wantPin || x.path != DestPath(e.Link) || x.volDroid != vol || x.fileDroid != file {
			t.Errorf("DestList entry %d: %+v, want host %s access %s count %d pin %d path %s",
				x.number, x, e.Hostname, e.LastAccess, e.AccessCount, wantPin, DestPath(e.Link))
		}
		if i > 0 && x.lastAccess > d.entries[i-1].lastAccess {
			t.Errorf("DestList not newest first at entry %d", i)
		}
	}
}

// TestDestListCorpus checks the reference reading on every corpus jump list:
// EricZimmerman's invariant (declared count = entries = directory entries - 2,
// i.e. LNK streams) and every entry number naming a stream. The same checks
// run on our output.
func TestDestListCorpus(t *testing.T) {
	needTools(t, "olecfinfo", "olecfexport")
	var files []string
	filepath.Walk(filepath.Join(corpusDir(), "jumplist"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".automaticDestinations-ms") {
			files = append(files, p)
		}
		return nil
	})
	var ours bytes.Buffer
	if err := WriteAutomatic(&ours, AppIDMstsc, scenario()); err != nil {
		t.Fatal(err)
	}
	oursPath := filepath.Join(t.TempDir(), "ours.automaticDestinations-ms")
	if err := os.WriteFile(oursPath, ours.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	files = append(files, oursPath)
	checked := 0
	for _, p := range files {
		streams := olecfexport(t, p)
		dl := streams["DestList"]
		if len(dl) == 0 {
			continue // emptied jump lists keep an empty DestList
		}
		d, err := readDestList(dl)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if int(d.count) != len(d.entries) || int(d.count) != len(streams)-1 {
			t.Errorf("%s: declared %d, parsed %d, LNK streams %d", p, d.count, len(d.entries), len(streams)-1)
		}
		var pinned uint32
		for _, x := range d.entries {
			if _, ok := streams[strconv.FormatUint(uint64(x.number), 16)]; !ok {
				t.Errorf("%s: entry %d has no stream", p, x.number)
			}
			if x.pin >= 0 {
				pinned++
			}
			if x.lastAccess == 0 {
				t.Errorf("%s: entry %d has no last access", p, x.number)
			}
		}
		if pinned != d.pinned {
			t.Errorf("%s: %d pinned entries, header says %d", p, pinned, d.pinned)
		}
		checked++
	}
	t.Logf("%d jump lists (%d from the corpus) satisfy the DestList invariants", checked, checked-1)
	if checked < 2 {
		t.Error("no corpus jump list checked")
	}
}

// TestAppIDMstsc verifies the AppID on a real mstsc jump list from the
// corpus: its LNK stream points at mstsc.exe.
func TestAppIDMstsc(t *testing.T) {
	needTools(t, "olecfexport", "lnkinfo")
	p := filepath.Join(corpusDir(), "jumplist", "DFIRArtifactMuseum", "Win2012R2", "StolenSzechuan", AppIDMstsc+".automaticDestinations-ms")
	streams := olecfexport(t, p)
	f := lnkinfo(t, streams["1"])
	if !strings.HasSuffix(strings.ToLower(f["Local path"]), `\mstsc.exe`) || !strings.HasPrefix(f["Command line arguments"], "/v:") {
		t.Errorf("%s: stream 1 is %q %q, not an mstsc connection", p, f["Local path"], f["Command line arguments"])
	}
}

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteAutomatic(&a, AppIDMstsc, scenario()); err != nil {
		t.Fatal(err)
	}
	if err := WriteAutomatic(&b, AppIDMstsc, scenario()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes differ")
	}
}

func TestErrors(t *testing.T) {
	long := scenario()
	long[0].Hostname = "a-very-long-netbios-name"
	bad := scenario()
	bad[1].Link.Target = "relative"
	for name, c := range map[string]struct {
		app     string
		entries []Entry
	}{
		"short AppID": {"1bc392b8", scenario()},
		"hex AppID":   {"1bc392b8e104a00g", scenario()},
		"no entries":  {AppIDMstsc, nil},
		"hostname":    {AppIDMstsc, long},
		"bad link":    {AppIDMstsc, bad},
	} {
		if err := WriteAutomatic(&bytes.Buffer{}, c.app, c.entries); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestLargeStreams covers streams at and above the mini-stream cutoff and
// enough directory entries for several directory sectors.
func TestLargeStreams(t *testing.T) {
	var streams []stream
	for i := 0; i < 40; i++ {
		streams = append(streams, stream{name: strconv.FormatUint(uint64(i+1), 16), data: bytes.Repeat([]byte{byte(i)}, 37*i+1)})
	}
	streams = append(streams, stream{name: "big", data: bytes.Repeat([]byte("0123456789"), 1000)}, stream{name: "cut", data: make([]byte, miniCutoff)},
		stream{name: "empty"})
	data, err := writeCFB(streams)
	if err != nil {
		t.Fatal(err)
	}
	got := mscfbStreams(t, data)
	for _, s := range streams {
		if !bytes.Equal(got[s.name], s.data) {
			t.Errorf("mscfb stream %s: %d bytes, want %d", s.name, len(got[s.name]), len(s.data))
		}
	}
	needTools(t, "olecfexport")
	p := filepath.Join(t.TempDir(), "large.cfb")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	exported := olecfexport(t, p)
	for _, s := range streams {
		if !bytes.Equal(exported[s.name], s.data) {
			t.Errorf("olecfexport stream %s: %d bytes, want %d", s.name, len(exported[s.name]), len(s.data))
		}
	}
}

func FuzzCFB(f *testing.F) {
	f.Add("DestList", []byte("abc"), uint16(5000), uint8(3))
	f.Fuzz(func(t *testing.T, name string, data []byte, bigSize uint16, n uint8) {
		streams := []stream{{name: name, data: data}}
		for i := 0; i < int(n%50); i++ {
			streams = append(streams, stream{name: fmt.Sprintf("s%d", i), data: bytes.Repeat([]byte{byte(i)}, int(bigSize)%9000*i/50)})
		}
		out, err := writeCFB(streams)
		if err != nil {
			return
		}
		doc, err := mscfb.New(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("mscfb: %v", err)
		}
		seen := 0
		for e, err := doc.Next(); err == nil; e, err = doc.Next() {
			b, _ := io.ReadAll(e)
			for _, s := range streams {
				if s.name == e.Name && !bytes.Equal(s.data, b) {
					t.Fatalf("stream %q differs", s.name)
				}
			}
			seen++
		}
		if seen != len(streams) {
			t.Fatalf("mscfb found %d streams, wrote %d", seen, len(streams))
		}
	})
}
