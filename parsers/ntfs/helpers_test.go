package ntfs

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
	"github.com/foothold/foothold/parsers/event"
)

func corpusFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(testimg.Corpus(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("corpus file missing: %v", err)
	}
	return p
}

func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed", n)
		}
	}
}

// decompress runs `tool -dc src` into a file under a temp dir.
func decompress(t testing.TB, tool, src, name string) string {
	t.Helper()
	needTool(t, tool)
	dst := filepath.Join(t.TempDir(), name)
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(tool, "-dc", src)
	cmd.Stdout = out
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s -dc %s: %v %s", tool, src, err, stderr.String())
	}
	return dst
}

// ewfRaw converts an E01 to a raw image with libewf's ewfexport.
func ewfRaw(t testing.TB, e01 string) string {
	t.Helper()
	needTool(t, "ewfexport")
	base := filepath.Join(t.TempDir(), "x")
	out, err := exec.Command("ewfexport", "-q", "-u", "-f", "raw", "-t", base, e01).CombinedOutput()
	if err != nil {
		t.Fatalf("ewfexport %s: %v\n%s", e01, err, out)
	}
	return base + ".raw"
}

func openFile(t testing.TB, p string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return f, st.Size()
}

// collector keeps copies of events (Emit may not retain the pointer).
type collector struct{ events []event.Event }

func (c *collector) Emit(e *event.Event) error {
	cp := *e
	cp.Fields = append([]event.Field(nil), e.Fields...)
	c.events = append(c.events, cp)
	return nil
}

func field[T any](t testing.TB, e *event.Event, key string) T {
	t.Helper()
	v, ok := e.Get(key)
	if !ok {
		t.Fatalf("event %q has no field %q", e.Message, key)
	}
	x, ok := v.(T)
	if !ok {
		t.Fatalf("event %q field %q is %T", e.Message, key, v)
	}
	return x
}

// adsOf returns an event's streams; the field is left out when there are
// none.
func adsOf(e *event.Event) []ADS {
	v, _ := e.Get("ads")
	a, _ := v.([]ADS)
	return a
}

func sectionAt(f *os.File, off, n int64) *io.SectionReader { return io.NewSectionReader(f, off, n) }

type eventT = event.Event

type sinkFunc = event.SinkFunc

func ft(v uint64) event.FileTime { return event.FileTime(v) }

type eventFileTime = event.FileTime
