package ese

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

// TestChecksumsMatchWindows recomputes the header and page checksums of
// databases written by Windows (4 KiB pages, new record format) and
// compares them with the stored values: every in-use page must match.
func TestChecksumsMatchWindows(t *testing.T) {
	files := []string{
		"srum/DFIRArtifactMuseum/Win10/RathbunVM/Clean/SRUDB.dat",
		"srum/go-ese/SRUDB.dat",
		"srum/DFIRArtifactMuseum/Server2022/APTSimulatorVM/Clean/SRUDB.dat",
	}
	for _, name := range files {
		t.Run(filepath.Base(filepath.Dir(name)), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(testimg.Corpus(t), name))
			if err != nil {
				t.Fatal(err)
			}
			ps := int(binary.LittleEndian.Uint32(data[236:]))
			if ps != 4096 {
				t.Fatalf("page size %d", ps)
			}
			for i := 0; i < 2; i++ {
				hp := data[i*ps : (i+1)*ps]
				if got, want := headerChecksum(hp), binary.LittleEndian.Uint32(hp); got != want {
					t.Errorf("header copy %d checksum %#x, stored %#x", i, got, want)
				}
			}
			checked := 0
			for off := 2 * ps; off+ps <= len(data); off += ps {
				p := data[off : off+ps]
				flags := binary.LittleEndian.Uint32(p[36:])
				if flags&0x2000 == 0 || binary.LittleEndian.Uint64(p) == 0 {
					continue // old-format or never-written page
				}
				pgno := uint32(off/ps - 1)
				x, e := pageChecksums(p, pgno)
				if x != binary.LittleEndian.Uint32(p) || e != binary.LittleEndian.Uint32(p[4:]) {
					t.Errorf("page %d: computed xor %#x ecc %#x, stored %#x %#x", pgno, x, e,
						binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:]))
				}
				checked++
			}
			if checked < 10 {
				t.Fatalf("only %d pages checked", checked)
			}
			t.Logf("%d pages match", checked)
		})
	}
}
