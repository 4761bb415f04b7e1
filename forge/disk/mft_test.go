package disk

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// corpusDir is ../shared/corpus next to the repository root.
func corpusDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus")
}

// FuzzRecord feeds arbitrary MFT records to the raw editor: nothing may
// panic, and fixup must exactly undo unfixup.
func FuzzRecord(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(corpusDir(), "ntfs", "mft-entries", "omerbenamram-mft", "entry_*"))
	if mft, err := os.ReadFile(filepath.Join(corpusDir(), "ntfs", "mft", "NIST-DFR-16", "$MFT")); err == nil {
		for i := 0; i+1024 <= len(mft) && i < 40*1024; i += 1024 {
			f.Add(mft[i : i+1024])
		}
	}
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add(make([]byte, 1024))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			data = data[:4096]
		}
		rec := append([]byte(nil), data...)
		if err := unfixup(rec); err != nil {
			return
		}
		back := append([]byte(nil), rec...)
		if err := fixup(back); err != nil {
			t.Fatalf("fixup after a good unfixup: %v", err)
		}
		if !bytes.Equal(back, data) {
			t.Fatalf("fixup(unfixup(x)) != x")
		}
		_, _ = mftRuns(rec)
		_ = patchTimes(rec, Times{1, 2, 3, 4}, Times{5, 6, 7, 8})
		setSIUSN(rec, 42)
		restoreZeroSITimes(rec, 9)
		_ = dropEmptyUnnamedData(rec)
		_ = sequence(rec)
	})
}

// TestRecordEdits checks the raw edits on a real record from the corpus.
func TestRecordEdits(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(corpusDir(), "ntfs", "mft-entries", "omerbenamram-mft", "entry_single_file"))
	if err != nil {
		t.Fatalf("corpus file missing: %v", err)
	}
	rec := append([]byte(nil), b...)
	if err := unfixup(rec); err != nil {
		t.Fatal(err)
	}
	var si, fns []attr
	for _, a := range attributes(rec) {
		switch a.typ {
		case attrStdInfo:
			si = append(si, a)
		case attrFileName:
			fns = append(fns, a)
		}
	}
	if len(si) != 1 || len(fns) == 0 {
		t.Fatalf("record has %d $SI and %d $FN", len(si), len(fns))
	}
	if err := patchTimes(rec, Times{B: 11, A: 14}, Times{M: 26}); err != nil {
		t.Fatal(err)
	}
	le := func(off int) uint64 {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(rec[off+i])
		}
		return v
	}
	if le(si[0].valueOff) != 11 || le(si[0].valueOff+24) != 14 || le(si[0].valueOff+8) == 0 {
		t.Errorf("$SI after patch: B=%d M=%d A=%d", le(si[0].valueOff), le(si[0].valueOff+8), le(si[0].valueOff+24))
	}
	for _, fn := range fns {
		if le(fn.valueOff+16) != 26 {
			t.Errorf("$FN M after patch = %d", le(fn.valueOff+16))
		}
	}
}
