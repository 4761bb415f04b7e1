package srum

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// TestGoESEGolden: the first network usage row of the go-ese sample,
// values read from `esedbexport` (network table row AutoIncId 6:
// TimeStamp Oct 07, 2021 08:54:00.000000083, AppId 161, UserId 8, BytesSent 4063,
// BytesRecvd 12213) and the id map resolving UserId 8 to a SID.
func TestGoESEGolden(t *testing.T) {
	_, evs, _, err := parseDB(t, filepath.Join(testimg.Corpus(t), "srum", "go-ese", "SRUDB.dat"))
	if err != nil {
		t.Fatal(err)
	}
	var found *event.Event
	for i := range evs {
		if v, _ := evs[i].Get("auto_inc_id"); evs[i].Type == "network_usage" && fmt.Sprint(v) == "6" {
			found = &evs[i]
		}
	}
	if found == nil {
		t.Fatal("network row 6 missing")
	}
	e := found
	// esedbexport prints 08:54:00.000000083: the double SRUM stored is
	// 83.8 ns past 08:54, so the nearest tick is .0000001 (go-ese used to
	// give 08:53:59; see TestOLEDate).
	if s := e.Time.String(); s != "2021-10-07T08:54:00.0000001Z" {
		t.Errorf("time %s", e.Time)
	}
	for k, want := range map[string]string{"app_index": "161", "user_index": "8", "bytes_sent": "4063", "bytes_received": "12213"} {
		if v, _ := e.Get(k); fmt.Sprint(v) != want {
			t.Errorf("%s = %v, want %s", k, v, want)
		}
	}
	if !strings.HasPrefix(e.User, "S-1-5-") || e.Path == "" {
		t.Errorf("user %q path %q: id map not applied", e.User, e.Path)
	}
	t.Logf("%s | %s | %s", e.Path, e.User, e.Message)
}

// TestMalformed: truncated and corrupted databases and non-ESE input
// return errors (or fewer rows), never panic or hang.
func TestMalformed(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testimg.Corpus(t), "srum", "DFIRArtifactMuseum", "Server2022", "APTSimulatorVM", "Clean", "SRUDB.dat"))
	if err != nil {
		t.Fatal(err)
	}
	discard := event.SinkFunc(func(*event.Event) error { return nil })
	if _, err := Parse(context.Background(), "x", bytes.NewReader([]byte("not ese at all")), 14, discard); err == nil {
		t.Error("non-ESE input accepted")
	}
	for _, cut := range []int{8, 4096, 8192, 3 * 4096, len(data) / 2} {
		d := data[:cut]
		_, err := Parse(context.Background(), "cut", bytes.NewReader(d), int64(len(d)), discard)
		if err != nil && strings.Contains(err.Error(), "panic") {
			t.Logf("cut %d: recovered %v", cut, err)
		}
	}
	for i := 0; i < 50; i++ {
		d := append([]byte(nil), data...)
		for k := 0; k < 16; k++ {
			d[(i*7919+k*104729)%len(d)] ^= 0xff
		}
		Parse(context.Background(), "flip", bytes.NewReader(d), int64(len(d)), discard)
	}
}

func FuzzParse(f *testing.F) {
	for _, db := range []string{"DFIRArtifactMuseum/Server2022/APTSimulatorVM/Clean/SRUDB.dat"} {
		data, err := os.ReadFile(filepath.Join(testimg.Corpus(f), "srum", filepath.FromSlash(db)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	discard := event.SinkFunc(func(*event.Event) error { return nil })
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(context.Background(), "fuzz", bytes.NewReader(data), int64(len(data)), discard)
	})
}
