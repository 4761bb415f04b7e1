package pe

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// FuzzInspect: any input returns an Info or an error, never a panic, and
// Parse agrees with Inspect on whether the file is a PE.
func FuzzInspect(f *testing.F) {
	for _, p := range peCorpus(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if len(b) > 4096 {
			f.Add(b[:4096])
		}
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Inspect(bytes.NewReader(b), int64(len(b)))
		if err == nil && info.SignatureStatus == "" {
			t.Fatal("no signature status")
		}
		_, perr := Parse(context.Background(), "f.exe", bytes.NewReader(b), int64(len(b)), event.SinkFunc(func(*event.Event) error { return nil }))
		if err != nil && perr == nil {
			t.Fatalf("Inspect %v, Parse %v", err, perr)
		}
	})
}

// TestMalformed: truncations and corrupted certificate tables of a signed
// corpus file are refused or reported, never a panic; the certificate
// table damage yields "invalid".
func TestMalformed(t *testing.T) {
	b, err := os.ReadFile(testimg.Corpus(t) + "/pe/go-pe/acpiex.sys")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 63, 64, 0x100, 0x3ff, 0x400, 0x1e200, 0x1e208, len(b) - 1} {
		info, err := Inspect(bytes.NewReader(b[:n]), int64(n))
		if err == nil && n == len(b)-1 && info.SignatureStatus != StatusInvalid {
			t.Errorf("truncated to %d: %s", n, info.SignatureStatus)
		}
	}
	l, err := readLayout(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(c []byte){
		"dwLength 0":        func(c []byte) { binary.LittleEndian.PutUint32(c[l.certOff:], 0) },
		"type 1":            func(c []byte) { binary.LittleEndian.PutUint16(c[l.certOff+6:], 1) },
		"DER garbage":       func(c []byte) { c[l.certOff+8] = 0x04 },
		"DER length huge":   func(c []byte) { c[l.certOff+9] = 0x84; binary.BigEndian.PutUint32(c[l.certOff+10:], 0x7fffffff) },
		"table beyond file": func(c []byte) { binary.LittleEndian.PutUint32(c[l.secDirOff+4:], 0x7fffffff) },
	} {
		c := append([]byte(nil), b...)
		mut(c)
		info, err := Inspect(bytes.NewReader(c), int64(len(c)))
		if err != nil || info.SignatureStatus != StatusInvalid || info.SignatureError == "" {
			t.Errorf("%s: err %v status %+v", name, err, info)
		}
	}
}
