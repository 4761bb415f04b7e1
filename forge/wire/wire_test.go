package wire

import (
	"bytes"
	"testing"
)

// Expected bytes from Python: "é😀".encode("utf-16-le") and the SID layout
// of [MS-DTYP] 2.4.2.2 for S-1-5-21-1-2-3-500.
func TestEncodings(t *testing.T) {
	if got, want := UTF16("é😀"), []byte{0xe9, 0x00, 0x3d, 0xd8, 0x00, 0xde}; !bytes.Equal(got, want) {
		t.Errorf("UTF16 = % x, want % x", got, want)
	}
	if got, want := UTF16Z("A"), []byte{'A', 0, 0, 0}; !bytes.Equal(got, want) {
		t.Errorf("UTF16Z = % x, want % x", got, want)
	}
	if n := UTF16Len("é😀"); n != 3 {
		t.Errorf("UTF16Len = %d, want 3", n)
	}
	got, err := SID("S-1-5-21-1-2-3-500")
	want := []byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xf4, 1, 0, 0}
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("SID = % x, %v; want % x", got, err, want)
	}
	for _, bad := range []string{"", "S-1", "X-1-5", "S-1-5-x", "S-1-281474976710656"} {
		if _, err := SID(bad); err == nil {
			t.Errorf("SID(%q) accepted", bad)
		}
	}
}
