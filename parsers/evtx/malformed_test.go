package evtx

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/event"
)

// TestMalformed runs the damaged corpus files: no panic, every readable
// record kept, the damage counted. Counts are evtxinfo's ("Number of
// records") for the walked records; recovered records are on top.
func TestMalformed(t *testing.T) {
	cases := []struct {
		file      string
		records   int // walked records (evtxinfo)
		recovered bool
		errors    bool
		errText   string
	}{
		// Chunks 1-6 and 10-15 are zeroed; chunk 0 has a record whose size
		// copy does not match. evtxinfo 267; the evtx crate 270.
		{"other/omerbenamram-evtx/sample_with_a_bad_chunk_magic.evtx", 267, true, true, "invalid record header"},
		// Record 118 has a data size of 0 (the evtx crate's error text).
		{"other/omerbenamram-evtx/sample-with-zero-data-size-event.evtx", 335, true, true, "invalid record header (size 0)"},
		// Hand-truncated: the header claims 96 chunks, the file holds 2 and
		// 64,832 bytes of a third, whose whole records come out recovered.
		{"other/plaso/System2.evtx", 194, true, true, "invalid record header"},
		{"other/omerbenamram-evtx/security_bad_string_cache.evtx", -1, false, false, ""},
		// evtxinfo reports 34 recovered records: stale copies whose
		// templates or names were overwritten, which we do not emit.
		{"other/omerbenamram-evtx/Application_no_crc32.evtx", 17, false, false, ""},
		{"other/omerbenamram-evtx/Security_with_size_t.evtx", -1, false, false, ""},
	}
	for _, c := range cases {
		p := parsePath(t, corpusFile(t, c.file))
		var walked, rec int
		for i := range p.events {
			if recovered(&p.events[i]) {
				rec++
			} else {
				walked++
			}
		}
		if c.records >= 0 && walked != c.records {
			t.Errorf("%s: %d records, want %d", c.file, walked, c.records)
		}
		if c.recovered && rec == 0 {
			t.Errorf("%s: no recovered records", c.file)
		}
		if c.errors != (p.stats.Errors > 0) || c.errors != (p.err != nil) {
			t.Errorf("%s: %d errors (%v), want errors: %v", c.file, p.stats.Errors, p.err, c.errors)
		}
		if c.errText != "" && (p.err == nil || !strings.Contains(p.err.Error(), c.errText)) {
			t.Errorf("%s: error %v, want it to mention %q", c.file, p.err, c.errText)
		}
		if p.stats.Records != int64(len(p.events)) {
			t.Errorf("%s: Stats.Records %d, %d events", c.file, p.stats.Records, len(p.events))
		}
	}
}

// TestSizeT: D12. Security_with_size_t.evtx record 2 (4624) stores
// ProcessId as size_t; evtxexport prints it in decimal (4, the System
// process), Windows as hex; Velocidex/evtx returned "\x04".
func TestSizeT(t *testing.T) {
	p := parsePath(t, corpusFile(t, "other/omerbenamram-evtx/Security_with_size_t.evtx"))
	for i := range p.events {
		e := &p.events[i]
		if e.Type != "4624" || e.Record != 2 {
			continue
		}
		if got := fieldStr(e, "data.ProcessId"); got != "0x4" {
			t.Errorf("data.ProcessId = %q, want 0x4", got)
		}
		if got := field(e, "process_id"); got != int64(4) {
			t.Errorf("process_id = %#v, want 4", got)
		}
		return
	}
	t.Error("record 2 (4624) not found")
}

// TestHeaderDamage: files that are not EVTX, or end inside the header,
// fail with an error naming the file; nothing is emitted.
func TestHeaderDamage(t *testing.T) {
	good, err := os.ReadFile(corpusFile(t, "other/omerbenamram-evtx/new-user-security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{nil, good[:60], []byte("not an event log at all, not at all, really not at all, no.......................................................")} {
		p, _ := parseBytes(b)
		if p.err == nil || len(p.events) != 0 {
			t.Errorf("%d bytes: err %v, %d events", len(b), p.err, len(p.events))
		}
	}
	// Every chunk slot zeroed after the header: no records, no error.
	z := append([]byte(nil), good[:4096]...)
	z = append(z, make([]byte, 65536)...)
	p, _ := parseBytes(z)
	if p.err != nil || len(p.events) != 0 {
		t.Errorf("zeroed chunk: err %v, %d events", p.err, len(p.events))
	}
	// A chunk whose record sizes all point past the end.
	bad := append([]byte(nil), good...)
	for off := 4096 + 512; off+8 < len(bad); off += 8 {
		if string(bad[off:off+4]) == "**\x00\x00" {
			binary.LittleEndian.PutUint32(bad[off+4:], 0x7fffffff)
		}
	}
	p, _ = parseBytes(bad)
	if p.err == nil || p.stats.Errors == 0 {
		t.Errorf("oversized records: err %v, errors %d", p.err, p.stats.Errors)
	}
}

// TestCancel: a cancelled context stops the parse with its error.
func TestCancel(t *testing.T) {
	f, err := os.Open(corpusFile(t, "other/DFIRArtifactMuseum/Win2012R2-StolenSzechuan/System.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err = Parse(ctx, f, fi.Size(), event.SinkFunc(func(*event.Event) error {
		if n++; n == 100 {
			cancel()
		}
		return nil
	}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	// A sink error stops the parse too.
	stop := errors.New("stop")
	done := make(chan error, 1)
	go func() {
		_, err := Parse(context.Background(), f, fi.Size(), event.SinkFunc(func(*event.Event) error { return stop }))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, stop) {
			t.Errorf("err %v, want the sink's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("parse did not stop on a sink error")
	}
}
