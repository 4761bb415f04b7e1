package registry

import (
	"bytes"
	"errors"
	"testing"
)

// TestReplayNewFormatMatchesWindows: yarp's NewDirtyHive1 replayed from
// LOG1+LOG2 must equal, after the base block, the copy Windows 10 itself
// recovered (yarp's test compares the same range), and list the same keys
// as libregf lists in Windows' copy.
func TestReplayNewFormatMatchesWindows(t *testing.T) {
	dir := "yarp/NewDirtyHive1/"
	h := openCorpus(t, dir+"NewDirtyHive", dir+"NewDirtyHive.LOG1", dir+"NewDirtyHive.LOG2")
	if !h.Dirty() || !h.Recovered() || h.DirtyError() != nil {
		t.Fatalf("dirty %v recovered %v err %v", h.Dirty(), h.Recovered(), h.DirtyError())
	}
	want := readCorpus(t, dir+"RecoveredHive_Windows10")
	if !bytes.Equal(h.Bytes()[baseBlockSize:], want[baseBlockSize:]) {
		t.Fatalf("replayed hive bins differ from Windows 10's recovered hive")
	}
	got, _ := ourKeys(h)
	if ref, ok := libregfKeys(t, corpusTemp(t, "win10", want)); ok {
		diffRows(t, ref, got)
	}
}

// TestReplayOldFormat: OldDirtyHive + its old-format (DIRT) LOG1 against
// Windows 7's recovered copy. Beyond the base block, Windows 7 wrote the
// first hive bin's timestamp when it flushed and repaired one key's cached
// largest-value-name length (0x18 in the log page, 2 after its check);
// every other byte must be equal.
func TestReplayOldFormat(t *testing.T) {
	dir := "yarp/OldDirtyHive/"
	h := openCorpus(t, dir+"OldDirtyHive", dir+"OldDirtyHive.LOG1")
	if !h.Recovered() {
		t.Fatalf("not recovered: %v", h.DirtyError())
	}
	want := readCorpus(t, dir+"RecoveredHive_Windows7")
	got := h.Bytes()
	if len(got) != len(want) {
		t.Fatalf("length %d, Windows %d", len(got), len(want))
	}
	allowed := func(off int) bool {
		return (off >= baseBlockSize+20 && off < baseBlockSize+28) || off == 0x6bdc8
	}
	diffs := 0
	for i := baseBlockSize; i < len(got); i++ {
		if got[i] != want[i] {
			if !allowed(i) {
				t.Errorf("byte 0x%x: ours 0x%02x, Windows 0x%02x", i, got[i], want[i])
			}
			diffs++
		}
	}
	if diffs != 6 {
		t.Errorf("%d differing bytes, expected the 6 explained", diffs)
	}
	k, ok := h.Root().Open(`key_with_many_subkeys\5000\find_me_in_log`)
	if !ok || !k.Valid() {
		t.Errorf("key from the log missing after replay")
	}
	if _, ok := h.Root().Open(`key_with_many_subkeys\1`); ok {
		t.Errorf(`key_with_many_subkeys\1 still present after replay`)
	}
	if v, ok := h.Root().Open(`key_with_many_subkeys\4500`); ok {
		val, _ := v.Value("V")
		// Data (regfexport) is a\0bb\0ccc\0\0: three strings and the list
		// terminator; yarp reports a fourth, empty string because it splits
		// on every NUL.
		if got := val.MultiSz(); len(got) != 3 || got[0] != "a" || got[1] != "bb" || got[2] != "ccc" {
			t.Errorf(`4500\V = %q, want a, bb, ccc`, got)
		}
	} else {
		t.Errorf(`key_with_many_subkeys\4500 missing`)
	}
}

// TestReplayCases covers the other dirty hives: which recover, how many
// dirty pages were applied (regipy's expectations: 315, 158, 132), and which
// must fail (yarp: bad logs).
func TestReplayCases(t *testing.T) {
	cases := []struct {
		hive  string
		logs  []string
		ok    bool
		pages int // -1: not checked
	}{
		{"regipy/SYSTEM_B.xz", []string{"regipy/SYSTEM_B.LOG1.xz", "regipy/SYSTEM_B.LOG2.xz"}, true, 315},
		{"regipy/UsrClass.dat.xz", []string{"regipy/UsrClass.dat.LOG1.xz", "regipy/UsrClass.dat.LOG2.xz"}, true, 158},
		{"regipy/transactions_NTUSER.DAT.xz", []string{"regipy/transactions_ntuser.dat.log1.xz", "regipy/transactions_ntuser.dat.log2.xz"}, true, 132},
		{"yarp/NewDirtyHive2/NewDirtyHive", []string{"yarp/NewDirtyHive2/NewDirtyHive.LOG1", "yarp/NewDirtyHive2/NewDirtyHive.LOG2"}, true, -1},
		{"yarp/BadBaseBlockHive/BadBaseBlockHive", []string{"yarp/BadBaseBlockHive/BadBaseBlockHive.LOG1", "yarp/BadBaseBlockHive/BadBaseBlockHive.LOG2"}, true, -1},
		{"yarp/BadLogHive1/BadLogHive", []string{"yarp/BadLogHive1/BadLogHive.LOG1", "yarp/BadLogHive1/BadLogHive.LOG2"}, false, 0},
		{"yarp/BadLogHive3/BadLogHive", []string{"yarp/BadLogHive3/BadLogHive.LOG1", "yarp/BadLogHive3/BadLogHive.LOG2"}, false, 0},
	}
	for _, c := range cases {
		t.Run(c.hive, func(t *testing.T) {
			h := openCorpus(t, c.hive, c.logs...)
			if !h.Dirty() {
				t.Fatal("hive not reported dirty")
			}
			if h.Recovered() != c.ok {
				t.Fatalf("recovered %v, want %v (%v)", h.Recovered(), c.ok, h.DirtyError())
			}
			if c.pages >= 0 && h.RecoveredPages() != c.pages {
				t.Errorf("%d dirty pages applied, want %d", h.RecoveredPages(), c.pages)
			}
			_, _, err := collect(t, h, "")
			if c.ok != (err == nil || !errors.Is(err, ErrDirty)) {
				t.Errorf("Parse error %v", err)
			}
			if !c.ok {
				return
			}
			// The recovered hive is well formed: libregf reads it as we do.
			got, _ := ourKeys(h)
			if ref, ok := libregfKeys(t, corpusTemp(t, "rec", h.Bytes())); ok {
				diffRows(t, ref, got)
			} else {
				t.Errorf("libregf cannot read the replayed hive")
			}
		})
	}
	h := openCorpus(t, "yarp/NewDirtyHive2/NewDirtyHive", "yarp/NewDirtyHive2/NewDirtyHive.LOG1", "yarp/NewDirtyHive2/NewDirtyHive.LOG2")
	if seq := h.reg.BaseBlock.Sequence1(); seq != 5 {
		t.Errorf("NewDirtyHive2: last sequence %d, yarp expects 5", seq)
	}
	b := openCorpus(t, "yarp/BadBaseBlockHive/BadBaseBlockHive", "yarp/BadBaseBlockHive/BadBaseBlockHive.LOG1")
	if _, ok := b.Root().Subkey("key_with_many_subkeys"); !ok {
		t.Errorf("BadBaseBlockHive: key_with_many_subkeys missing after recovery")
	}
}

// TestDirtyWithoutLogs: a dirty hive given no logs is parsed as it is and
// the error says what is missing.
func TestDirtyWithoutLogs(t *testing.T) {
	h := openCorpus(t, "yarp/NewDirtyHive1/NewDirtyHive")
	if !h.Dirty() || h.Recovered() {
		t.Fatalf("dirty %v recovered %v", h.Dirty(), h.Recovered())
	}
	_, st, err := collect(t, h, "")
	if !errors.Is(err, ErrDirty) {
		t.Fatalf("Parse error %v, want ErrDirty", err)
	}
	if st.Keys != 5 || st.Values != 2 {
		t.Errorf("keys %d values %d, want the unrecovered 5 and 2 (regfexport)", st.Keys, st.Values)
	}
	t.Log(err)
}
