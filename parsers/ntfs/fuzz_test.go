package ntfs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

func seedFile(f *testing.F, path string, max int) {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	if len(b) > max {
		b = b[:max]
	}
	f.Add(b)
}

var countSink = event.SinkFunc(func(*event.Event) error { return nil })

func FuzzParseMFTFile(f *testing.F) {
	seedFile(f, corpusFile(f, "ntfs/mft/NIST-DFR-16/$MFT"), 16*1024)
	seedFile(f, corpusFile(f, "ntfs/mft/xw/$MFT"), 8*1024)
	// entries 179-181 of xw: stale used size, orphaned parent
	if b, err := os.ReadFile(corpusFile(f, "ntfs/mft/xw/$MFT")); err == nil {
		f.Add(b[179*1024 : 182*1024])
		f.Add(b[500*1024 : 502*1024]) // BAAD
	}
	entries, _ := filepath.Glob(filepath.Join(testimg.Corpus(f), "ntfs/mft-entries/omerbenamram-mft/*"))
	for _, e := range entries {
		seedFile(f, e, 4096)
	}
	recoverPanics = false
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog()()
		st, _ := ParseMFTFile(context.Background(), bytes.NewReader(data), int64(len(data)), countSink)
		if st.Records > int64(len(data)/1024)+1 {
			t.Fatalf("%d records from %d bytes", st.Records, len(data))
		}
	})
}

func FuzzParseUSNFile(f *testing.F) {
	seedFile(f, corpusFile(f, "ntfs/usnjrnl/record.usn"), 4096)
	seedFile(f, corpusFile(f, "ntfs/usnjrnl/plaso/UsnJrnl.raw"), 4096)
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog()()
		st, _ := ParseUSNFile(context.Background(), bytes.NewReader(data), int64(len(data)), nil, countSink)
		if st.Records > int64(len(data)/60) {
			t.Fatalf("%d records from %d bytes", st.Records, len(data))
		}
	})
}

// watchdog turns a parse that takes far too long into a panic with every
// goroutine's stack, which a hung fuzz worker would not show.
func watchdog() func() {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			buf := make([]byte, 1<<20)
			panic("parse hung:\n" + string(buf[:runtime.Stack(buf, true)]))
		}
	}()
	return func() { close(done) }
}
