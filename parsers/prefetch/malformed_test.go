package prefetch

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

var discard = event.SinkFunc(func(*event.Event) error { return nil })

// TestBadFiles: the corpus's malformed prefetch files are rejected with
// an error naming the artifact, without panic.
func TestBadFiles(t *testing.T) {
	n := 0
	for _, p := range corpusFiles(t) {
		if !isBad(p) {
			continue
		}
		n++
		_, st, err := parseFile(t, p)
		if err == nil || !strings.Contains(err.Error(), p) || st.Records != 0 {
			t.Errorf("%s: records %d, err %v", p, st.Records, err)
		}
	}
	if n == 0 {
		t.Fatal("no Bad/ files found")
	}
}

// TestHostileMAM: headers that would make go-prefetch allocate gigabytes
// (D17) and unknown compression formats are refused before decoding.
func TestHostileMAM(t *testing.T) {
	for _, c := range []struct {
		name string
		head []byte
		want string
	}{
		{"4 GiB", []byte("MAM\x04\xff\xff\xff\xff"), "more than"},
		{"16 MiB + 1", binary.LittleEndian.AppendUint32([]byte("MAM\x04"), 16<<20+1), "more than"},
		{"format 2", binary.LittleEndian.AppendUint32([]byte("MAM\x02"), 1000), "format 2"},
		{"tiny", binary.LittleEndian.AppendUint32([]byte("MAM\x04"), 10), "too short"},
	} {
		data := append(c.head, make([]byte, 300)...)
		_, err := Parse(context.Background(), c.name, bytes.NewReader(data), int64(len(data)), discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestMutations truncates and corrupts every corpus file and checks that
// the SCCA decoder itself never panics (a recovered panic would surface as
// "decoder panic"); go-prefetch's decompressor panics are tolerated but
// must be recovered.
func TestMutations(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	files := corpusFiles(t)
	var runs, failed int
	for _, p := range files {
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Mutate the decompressed form too, so the SCCA decoder sees
		// hostile structures and not only undecodable MAM streams.
		inputs := [][]byte{orig}
		if info, err := Decode(context.Background(), orig); err == nil && info.Compressed {
			if plain, err := decompressMAM(context.Background(), orig); err == nil {
				inputs = append(inputs, plain)
			}
		}
		for _, in := range inputs {
			for i := 0; i < 20; i++ {
				data := append([]byte(nil), in...)
				switch i % 4 {
				case 0:
					data = data[:rng.Intn(len(data)+1)]
				case 1:
					for k := 0; k < 8; k++ {
						data[rng.Intn(len(data))] = byte(rng.Intn(256))
					}
				case 2:
					if len(data) > 300 {
						off := 84 + 4*rng.Intn(50)
						binary.LittleEndian.PutUint32(data[off:], rng.Uint32())
					}
				case 3:
					if len(data) > 300 {
						off := 84 + 4*rng.Intn(50)
						binary.LittleEndian.PutUint32(data[off:], 0xffffffff)
					}
				}
				runs++
				_, err := Parse(context.Background(), p, bytes.NewReader(data), int64(len(data)), discard)
				if err != nil {
					failed++
					if strings.Contains(err.Error(), "decoder panic") {
						t.Errorf("%s mutation %d: %v", p, i, err)
					}
				}
			}
		}
	}
	t.Logf("%d mutated inputs, %d rejected or partly decoded with an error", runs, failed)
}
