package regf

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unicode/utf16"

	"www.velocidex.com/golang/regparser"
	"www.velocidex.com/golang/regparser/appcompatcache"
)

// rpName decodes a raw regparser name (D13): one byte per character when
// the compressed flag is set, UTF-16LE otherwise. The writer compresses
// only ASCII and 0xA0-0xFF, where Windows-1252 equals Latin-1.
func rpName(raw string, compressed bool) string {
	b := []byte(raw)
	if compressed {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// TestRegparser: Velocidex regparser finds the same keys (names, subkey
// counts, last-write seconds — it truncates to seconds, D14) and the same
// values (names, types, data; big data reassembled from db segments).
func TestRegparser(t *testing.T) {
	for _, f := range allFixtures() {
		t.Run(f.name, func(t *testing.T) {
			b, err := Bytes(f.root, f.opts)
			if err != nil {
				t.Fatal(err)
			}
			reg, err := regparser.NewRegistry(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			want := flatten(f.root)
			seen := 0
			var order []string
			var walk func(k *regparser.CM_KEY_NODE, path string)
			walk = func(k *regparser.CM_KEY_NODE, path string) {
				order = append(order, path)
				w, ok := want[path]
				if !ok {
					t.Errorf("regparser lists unexpected key %q", path)
					return
				}
				seen++
				if got := k.LastWriteTime().Unix(); got != w.LastWrite.Time().Unix() {
					t.Errorf("%s: regparser last write %d s, wrote %d s", path, got, w.LastWrite.Time().Unix())
				}
				subs := k.Subkeys()
				if len(subs) != w.Subkeys || int(k.SubKeyCounts()[0]) != w.Subkeys {
					t.Errorf("%s: regparser %d subkeys (declared %d), wrote %d", path, len(subs), k.SubKeyCounts()[0], w.Subkeys)
				}
				vals := k.Values()
				if len(vals) != len(w.Values) {
					t.Errorf("%s: regparser %d values, wrote %d", path, len(vals), len(w.Values))
				} else {
					for i, v := range vals {
						wv := w.Values[i]
						name := rpName(v.ValueName(), v.Flags()&1 != 0)
						vd := v.ValueData()
						data := vd.Data
						if n := int(v.DataSize()); n <= 4 && len(data) >= n {
							data = data[:n] // inline data comes back as the whole 4-byte field
						}
						if name != wv.Name || v.Type() != wv.Type || !bytes.Equal(data, wv.Data) {
							t.Errorf("%s value %d: regparser %q type %d %d bytes, wrote %q type %d %d bytes",
								path, i, name, v.Type(), len(data), wv.Name, wv.Type, len(wv.Data))
						}
					}
				}
				for _, sk := range subs {
					walk(sk, path+`\`+rpName(sk.Name(), sk.Flags()&0x20 != 0))
				}
			}
			root := reg.OpenKey("")
			if root == nil {
				t.Fatal("regparser: no root key")
			}
			walk(root, rpName(root.Name(), root.Flags()&0x20 != 0))
			if seen != len(want) {
				t.Errorf("regparser lists %d keys, wrote %d", seen, len(want))
			}
			checkSortedOrder(t, order)
		})
	}
}

// TestAppCompatCacheRegparser: regparser's own AppCompatCache decoder (an
// independent reader of the format) returns the built entries' paths and
// times (it keeps whole seconds).
func TestAppCompatCacheRegparser(t *testing.T) {
	_, shims := systemFixture()
	got := appcompatcache.ParseValueData(AppCompatCacheWin10(shims))
	if len(got) != len(shims) {
		t.Fatalf("regparser decodes %d entries, built %d", len(got), len(shims))
	}
	for i, e := range got {
		if e.Name != shims[i].Path || e.Epoch != uint64(shims[i].LastModified.Time().Unix()) {
			t.Errorf("entry %d: regparser %q %d, built %q %d", i, e.Name, e.Epoch, shims[i].Path, shims[i].LastModified.Time().Unix())
		}
	}
}
