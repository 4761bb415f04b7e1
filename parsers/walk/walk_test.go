package walk

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
	"github.com/foothold/foothold/parsers/disk"
	"github.com/foothold/foothold/parsers/event"
)

// memCase records what the walk reports, in memory.
type memCase struct {
	mu      sync.Mutex
	volumes []event.Volume
	sources []*memSource
	hosts   []event.Host
}

type memSource struct {
	path, parser, artifact string
	vol                    int64
	events                 []event.Event
	records, errors        int64
	err                    error
	done                   bool
}

func (m *memCase) AddVolume(v event.Volume) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.volumes = append(m.volumes, v)
	return int64(len(m.volumes))
}

func (m *memCase) SetHost(h event.Host) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hosts = append(m.hosts, h)
}

func (m *memCase) SetVolumeIdentity(id int64, serial, label string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.volumes[id-1].Serial, m.volumes[id-1].Label = serial, label
}

func (m *memCase) BeginSource(vol int64, path, parser, artifact string) event.Source {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &memSource{path: path, parser: parser, artifact: artifact, vol: vol}
	m.sources = append(m.sources, s)
	return s
}

func (s *memSource) Emit(e *event.Event) error {
	c := *e
	c.Fields = append([]event.Field(nil), e.Fields...)
	s.events = append(s.events, c)
	return nil
}

func (s *memSource) Done(records, errs int64, err error) {
	s.records, s.errors, s.err, s.done = records, errs, err, true
}

func (m *memCase) source(artifact string) *memSource {
	for _, s := range m.sources {
		if s.artifact == artifact {
			return s
		}
	}
	return nil
}

func walkImage(t *testing.T, path string) *memCase {
	t.Helper()
	img, err := disk.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	m := &memCase{}
	if err := Walk(context.Background(), img, Options{Case: m, Evidence: filepath.Base(path)}); err != nil {
		t.Fatal(err)
	}
	for _, s := range m.sources {
		if !s.done {
			t.Errorf("source %s never closed", s.path)
		}
	}
	return m
}

func TestWalkHost1FindsVolumeMFTAndJournal(t *testing.T) {
	m := walkImage(t, testimg.Path(t, "host1.raw"))
	if len(m.volumes) != 1 || m.volumes[0].FS != "ntfs" || m.volumes[0].Offset != 2048*512 || m.volumes[0].Skipped != "" {
		t.Fatalf("volumes = %+v", m.volumes)
	}
	mft, usn := m.source(event.MFT), m.source(event.USN)
	if mft == nil || usn == nil {
		t.Fatalf("sources: %+v", m.sources)
	}
	if mft.err != nil || usn.err != nil {
		t.Fatalf("errors: mft %v usn %v", mft.err, usn.err)
	}
	// Every USN record usnjls lists is there.
	want := countPrefix(t, testimg.Reference(t, "host1.usnjls.txt"), "Version:")
	if int(usn.records) != want || len(usn.events) != want {
		t.Errorf("usn records %d events %d, usnjls lists %d", usn.records, len(usn.events), want)
	}
	if mft.records == 0 || len(mft.events) == 0 {
		t.Errorf("no MFT events")
	}
}

// countPrefix counts the records of `usnjls -l` output (one "Version:"
// line per record).
func countPrefix(t *testing.T, path, prefix string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// A non-NTFS partition is recorded with the reason, never ignored.
func TestWalkReportsSkippedVolumes(t *testing.T) {
	for _, name := range []string{"gpt2.raw", "ext3.raw"} {
		t.Run(name, func(t *testing.T) {
			var warned []string
			img, err := disk.Open(testimg.Path(t, name))
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			m := &memCase{}
			err = Walk(context.Background(), img, Options{Case: m, Evidence: name, Warn: func(s string) { warned = append(warned, s) }})
			if err != nil {
				t.Fatal(err)
			}
			var ntfs, skipped int
			for _, v := range m.volumes {
				if v.Skipped != "" {
					skipped++
				} else if v.FS == "ntfs" {
					ntfs++
				}
			}
			if ntfs != 1 || skipped < 1 {
				t.Errorf("%s: volumes %+v", name, m.volumes)
			}
			if len(warned) == 0 || !strings.Contains(strings.Join(warned, "\n"), "skipped") {
				t.Errorf("no warning about the skipped volume: %q", warned)
			}
		})
	}
}

func unxz(t *testing.T, src, dst string) {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("xz", "-dc", src)
	cmd.Stdout = out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
}

// A KAPE-style folder: $MFT at the volume root and $J under $Extend. The
// journal gets full paths from the $MFT beside it; a renamed $MFT copy is
// still recognised by its signature.
func TestFolderKapeLayout(t *testing.T) {
	corpus := testimg.Corpus(t)
	root := t.TempDir()
	c := filepath.Join(root, "C")
	if err := os.MkdirAll(filepath.Join(c, "$Extend"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The NIST $MFT and plaso's small journal are from different volumes,
	// so only the mechanics are checked here: both found, both parsed.
	copyFile(t, filepath.Join(corpus, "ntfs/mft/NIST-DFR-16/$MFT"), filepath.Join(c, "$MFT"))
	copyFile(t, filepath.Join(corpus, "ntfs/usnjrnl/plaso/UsnJrnl.raw"), filepath.Join(c, "$Extend", "$J"))
	copyFile(t, filepath.Join(corpus, "ntfs/mft/NIST-DFR-16/$MFT"), filepath.Join(root, "renamed.bin"))
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("not an artifact"), 0o644)

	m := &memCase{}
	if err := Folder(context.Background(), root, Options{Case: m, Evidence: "kape"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range m.sources {
		if s.err != nil {
			t.Errorf("%s: %v", s.path, s.err)
		}
		got[filepath.ToSlash(s.path)] = s.records
	}
	// Counts from GROUND_TRUTH_POINTERS.md (fsntfsinfo: 117 FILE records in
	// 154 slots, the rest all zero; plaso: 19 USN records).
	want := map[string]int64{"C/$MFT": 117, "C/$Extend/$J": 19, "renamed.bin": 117}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d records, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("sources %v, want exactly the three artifacts", got)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A parser that panics or overruns its time cap fails its own source only.
func TestGuardRecoversAndCaps(t *testing.T) {
	st, err := guard(context.Background(), 0, "x", func(ctx context.Context) (Stats, error) {
		var m map[string]int
		m["boom"] = 1
		return Stats{}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "panic") || st.Errors != 1 {
		t.Errorf("panic: %v %+v", err, st)
	}
	_, err = guard(context.Background(), 1, "y", func(ctx context.Context) (Stats, error) {
		<-ctx.Done()
		return Stats{Records: 3}, ctx.Err()
	})
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "time cap") {
		t.Errorf("time cap: %v", err)
	}
}

// Classify trusts a disk's signature, then an artifact's, then a .raw
// extension: plaso's UsnJrnl.raw is a loose $J (19 records, as plaso's
// test expects), a raw image and a bare NTFS volume stay images, and a
// .raw holding neither is still taken as a raw image (it may be a volume
// of another file system, which the walk reports as skipped).
func TestClassifyRawExtension(t *testing.T) {
	other := filepath.Join(t.TempDir(), "fat.raw")
	if err := os.WriteFile(other, make([]byte, 1<<16), 0o444); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   string
		kind   Kind
		format string
	}{
		{filepath.Join(testimg.Corpus(t), "ntfs", "usnjrnl", "plaso", "UsnJrnl.raw"), KindArtifact, "ntfs.usn"},
		{testimg.Path(t, "host1.raw"), KindImage, "raw"},
		{testimg.Path(t, "bare4.raw"), KindImage, "raw"},
		{other, KindImage, "raw"},
	} {
		kind, format, err := Classify(tc.path)
		if err != nil || kind != tc.kind || format != tc.format {
			t.Errorf("Classify(%s) = %v, %q, %v; want %v, %q", filepath.Base(tc.path), kind, format, err, tc.kind, tc.format)
		}
	}
	m := &memCase{}
	if err := File(context.Background(), filepath.Join(testimg.Corpus(t), "ntfs", "usnjrnl", "plaso", "UsnJrnl.raw"), Options{Case: m, Evidence: "UsnJrnl.raw"}); err != nil {
		t.Fatal(err)
	}
	if s := m.source(event.USN); s == nil || s.err != nil || s.records != 19 || len(s.events) != 19 {
		t.Errorf("UsnJrnl.raw: source %+v, want 19 USN records and events", s)
	}
}
