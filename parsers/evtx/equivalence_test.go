package evtx

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

// The decoder has shortcuts that must not change what it gives: System
// plans (system.go) and the first pass, which renders only Computer.
// These tests run every corpus file both ways and compare.

// TestSystemPlanMatchesWalk: every event of every corpus file is the same
// with the System plans as with the generic walk.
func TestSystemPlanMatchesWalk(t *testing.T) {
	root := testimg.Corpus(t)
	files := evtxFiles(t)
	if len(files) < 200 {
		t.Fatalf("%d corpus .evtx files, want the 242 of the corpus", len(files))
	}
	planned := 0
	for _, rel := range files {
		p := filepath.Join(root, rel)
		noSystemPlan = false
		with := parsePath(t, p)
		noSystemPlan = true
		without := parsePath(t, p)
		noSystemPlan = false
		if len(with.events) != len(without.events) || with.stats.Records != without.stats.Records ||
			with.stats.Errors != without.stats.Errors || (with.err == nil) != (without.err == nil) {
			t.Errorf("%s: %d events, %+v, %v with plans; %d events, %+v, %v without",
				rel, len(with.events), with.stats, with.err, len(without.events), without.stats, without.err)
			continue
		}
		if with.err != nil && with.err.Error() != without.err.Error() {
			t.Errorf("%s: error %q with plans, %q without", rel, with.err, without.err)
		}
		for i := range with.events {
			if !reflect.DeepEqual(with.events[i], without.events[i]) {
				t.Errorf("%s: event %d differs:\n with plans %+v\n without    %+v", rel, i, with.events[i], without.events[i])
				break
			}
		}
		planned += len(with.events)
	}
	if planned < 100000 {
		t.Errorf("compared %d events, want the corpus' 100,000+", planned)
	}
}

// TestFirstPassMatchesFull: for every walked record of every corpus
// file, the first pass's light walk finds the Computer and RenderingInfo
// marker the full walk finds.
func TestFirstPassMatchesFull(t *testing.T) {
	root := testimg.Corpus(t)
	records, forwarded := 0, 0
	for _, rel := range evtxFiles(t) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		p := &parser{name: rel}
		sc := &scratch{d: *newChunkDecoder(nil), seen: map[uint64]bool{}}
		for off := int64(4096); off+chunkHeaderSize <= int64(len(b)); off += chunkSize {
			chunk := b[off:min(off+chunkSize, int64(len(b)))]
			if string(chunk[:8]) != chunkMagic {
				continue
			}
			sc.d.reset(chunk)
			c := &chunkRun{p: p, off: off, out: &chunkOut{}, d: &sc.d, seen: sc.seen, s: sc}
			last := int(binary.LittleEndian.Uint32(chunk[44:]))
			for pos := chunkHeaderSize; pos <= last; {
				size, ok := recordAt(chunk, pos)
				if !ok {
					break
				}
				got := map[bool][2]any{}
				for _, light := range []bool{true, false} {
					c.light = light
					c.rec.reset()
					func() {
						defer func() { recover() }() // as record() has it
						c.decode(pos, size)
					}()
					got[light] = [2]any{c.rec.computer, c.rec.rendering}
				}
				if got[true] != got[false] {
					t.Errorf("%s: record at %d: light pass gives %v, full walk %v", rel, off+int64(pos), got[true], got[false])
				}
				if got[false][1] == true {
					forwarded++
				}
				records++
				pos += size
			}
		}
	}
	if records < 100000 {
		t.Errorf("compared %d records, want the corpus' 100,000+", records)
	}
	t.Logf("%d records compared, %d with RenderingInfo", records, forwarded)
}
