package registry

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
)

// TestSubkeyAnomalies: the yarp hives whose subkey lists break the
// configuration manager's rules make Parse report where, as yarp's tests
// expect a walk error there (test_invalid_parent, test_bad_list,
// test_bad_subkey, test_duplicate_subkeys, test_wrong_order: after 1
// subkey of key 1 and 3 of key 2); CompHive, which yarp walks without
// error, reports nothing; and every key is still read (libregf's counts).
func TestSubkeyAnomalies(t *testing.T) {
	for _, tc := range []struct {
		hive string
		keys int64
		want []string
	}{
		{"yarp/InvalidParentHive", 5003, []string{`\key_with_many_subkeys: key at 0x1144: subkey "4900" at 0x75b0c names key node 0x1024 as its parent`}},
		{"yarp/BadListHive", 7, []string{`\2: key at 0x12ec: subkey "subkey" at 0x1474 names key node 0x1384 as its parent`}},
		{"yarp/BadSubkeyHive", 7, []string{`\2: key at 0x12ec: subkey "subkey" at 0x1474 names key node 0x1384 as its parent`}},
		{"yarp/DuplicateSubkeysHive", 5003, []string{`\key_with_many_subkeys: key at 0x1144: subkey "4500" listed twice`}},
		{"yarp/WrongOrderHive", 11, []string{`\1: key at 0x125c: subkeys out of order: "1" listed after "2"`,
			`\2: key at 0x12dc: subkeys out of order: "в" listed after "г"`}},
		{"yarp/CompHive", 4, nil},
	} {
		h, err := Open(readCorpus(t, tc.hive))
		if err != nil {
			t.Fatalf("%s: %v", tc.hive, err)
		}
		st, err := h.Parse(context.Background(), "", discard)
		if st.Keys != tc.keys {
			t.Errorf("%s: %d keys, want %d (libregf)", tc.hive, st.Keys, tc.keys)
		}
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v, want no error", tc.hive, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.hive, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", tc.hive, w, err)
			}
		}
		if st.Errors != int64(len(tc.want)) {
			t.Errorf("%s: %d errors, want %d", tc.hive, st.Errors, len(tc.want))
		}
	}
}

// TestNoAnomaliesInRealHives guards against false alarms: no hive written
// by Windows itself (everything in the corpus but yarp's crafted ones)
// may report a subkey anomaly.
func TestNoAnomaliesInRealHives(t *testing.T) {
	n := 0
	for _, rel := range corpusHives(t) {
		if strings.HasPrefix(rel, "yarp/") {
			continue
		}
		h, err := Open(readCorpus(t, rel))
		if err != nil {
			continue
		}
		n++
		_, err = h.Parse(context.Background(), "", discard)
		if err == nil {
			continue
		}
		for _, bad := range []string{"as its parent", "listed twice", "out of order"} {
			if strings.Contains(err.Error(), bad) {
				t.Errorf("%s: %v", rel, err)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d real hives opened", n)
	}
	t.Logf("%d real hives", n)
}

func TestCompareNames(t *testing.T) {
	utf16 := func(units ...uint16) collationKey {
		b := make([]byte, 2*len(units))
		for i, u := range units {
			binary.LittleEndian.PutUint16(b[2*i:], u)
		}
		return collate(b, false)
	}
	comp := func(s string) collationKey { return collate([]byte(s), true) }
	for _, tc := range []struct {
		name       string
		a, b       collationKey
		c          int
		known      bool
		upperOfA0  uint16
		knownOfA0b bool
	}{
		{"ASCII case folds", comp("abc"), utf16('A', 'B', 'C'), 0, true, 'A', true},
		{"shorter first", comp("ab"), comp("abc"), -1, true, 'A', true},
		{"underscore sorts after letters once upcased", comp("_"), comp("a"), 1, true, '_', true},
		{"Cyrillic", utf16(0x0432), utf16(0x0433), -1, true, 0x0412, true}, // в < г
		{"compressed 0x9F is U+009F, not Ÿ", comp("\x9f"), utf16(0x0178), -1, true, 0x9F, true},
		{"ÿ upcases to Ÿ", utf16(0x00FF), utf16(0x0178), 0, true, 0x0178, true},
		{"dotless i stays", utf16(0x0131), utf16('I'), 1, true, 0x0131, true},
		{"Georgian: Windows 10 has no pair", utf16(0x10D0), utf16(0x1C90), 0, false, 0x10D0, false},
		{"same units are equal whatever the table", utf16(0x10D0), utf16(0x10D0), 0, true, 0x10D0, false},
	} {
		c, known := compareNames(tc.a, tc.b)
		if c != tc.c || known != tc.known {
			t.Errorf("%s: compareNames = %d, %v; want %d, %v", tc.name, c, known, tc.c, tc.known)
		}
		if up, ok := upcase(tc.a.unit(0)); up != tc.upperOfA0 || ok != tc.knownOfA0b {
			t.Errorf("%s: upcase(U+%04X) = U+%04X, %v; want U+%04X, %v", tc.name, tc.a.unit(0), up, ok, tc.upperOfA0, tc.knownOfA0b)
		}
	}
}
