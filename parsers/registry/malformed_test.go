package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

var discard = event.SinkFunc(func(*event.Event) error { return nil })

// exercise runs every entry point; a recovered panic is a failure.
func exercise(t *testing.T, name string, data []byte, logs ...[]byte) error {
	t.Helper()
	h, err := Open(data, logs...)
	if err != nil {
		if strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: Open panicked: %v", name, err)
		}
		return err
	}
	_, perr := h.Parse(context.Background(), "user", discard)
	if perr != nil && strings.Contains(perr.Error(), "panic") {
		t.Errorf("%s: Parse panicked: %v", name, perr)
	}
	for _, f := range []func() error{
		func() error { _, err := h.Identity(); return err },
		func() error { _, err := h.OSInfo(); return err },
	} {
		if err := f(); err != nil && strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v", name, err)
		}
	}
	return perr
}

// TestMalformedCorpus opens and parses every file under corpus/registry —
// the yarp and EZ damaged hives, logs, raw values — and the corpus PE files
// as stand-ins for EZ's NotAHive (a .NET binary, left out of the corpus).
func TestMalformedCorpus(t *testing.T) {
	root := filepath.Join(testimg.Corpus(t), "registry")
	n := 0
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		exercise(t, rel, readCorpus(t, rel))
		n++
		return nil
	})
	pes, _ := filepath.Glob(filepath.Join(testimg.Corpus(t), "pe", "*", "*"))
	for _, p := range pes {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if _, err := Open(b); !errors.Is(err, ErrNotHive) {
			t.Errorf("%s: %v, want ErrNotHive", p, err)
		}
		n++
	}
	t.Logf("%d files", n)
	for _, rel := range []string{"yarp/TruncatedHive", "yarp/TruncatedDirtyHive", "yarp/TruncatedHiveBin", "yarp/InvalidParentFragment", "EricZimmerman-Registry/SAN(OTHER)"} {
		t.Log(rel, exercise(t, rel, readCorpus(t, rel)))
	}
}

// TestMutatedHives cuts and corrupts a real hive at many places: no panic,
// no hang, and whatever still parses is returned.
func TestMutatedHives(t *testing.T) {
	base := readCorpus(t, "regipy/NTUSER.DAT.xz")
	for _, n := range []int{0, 3, 4, 511, 4096, 4100, 4127, 8192, 65536, len(base) / 2} {
		exercise(t, "cut", base[:n])
	}
	seed := uint32(1)
	rnd := func() uint32 { seed = seed*1664525 + 1013904223; return seed }
	for i := 0; i < 300; i++ {
		m := append([]byte(nil), base...)
		for j := 0; j < 1+int(rnd()%16); j++ {
			off := baseBlockSize + int(rnd()%uint32(len(m)-baseBlockSize))
			switch rnd() % 3 {
			case 0:
				m[off] ^= byte(rnd())
			case 1: // a huge count or offset
				for k := 0; k < 4 && off+k < len(m); k++ {
					m[off+k] = 0xFF
				}
			case 2: // point somewhere plausible: a cycle back to the root
				if off+4 <= len(m) {
					copy(m[off:], []byte{0x20, 0, 0, 0})
				}
			}
		}
		exercise(t, "mutated", m)
	}
	// Logs that lie: entries pointing past the cap, garbage logs.
	dirty := readCorpus(t, "yarp/NewDirtyHive1/NewDirtyHive")
	log1 := readCorpus(t, "yarp/NewDirtyHive1/NewDirtyHive.LOG1")
	for i := 0; i < 100; i++ {
		l := append([]byte(nil), log1...)
		off := 512 + int(rnd()%uint32(len(l)-512))
		l[off] ^= byte(rnd() | 1)
		exercise(t, "bad log", dirty, l)
	}
	exercise(t, "log is the hive", dirty, dirty)
	exercise(t, "garbage log", dirty, []byte("regf garbage"))
}
