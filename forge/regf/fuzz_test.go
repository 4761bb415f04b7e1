package regf

import (
	"bytes"
	"testing"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/registry"
)

// fuzzAlphabet mixes case variants (Path must merge them), Latin-1 that
// compresses, C1 controls and CJK/emoji that must not.
var fuzzAlphabet = []rune("aAbBzZ_ 09.{}-ÿŸéÉ\u0085€ЖжΣσς名😀")

// treeFromBytes turns fuzz input into a key tree: each step adds a key, a
// value, a class or a time somewhere in the tree built so far.
func treeFromBytes(data []byte) *Key {
	root := &Key{Name: "ROOT"}
	keys := []*Key{root}
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		c := data[0]
		data = data[1:]
		return c
	}
	name := func() string {
		n := int(next())%12 + 1
		r := make([]rune, n)
		for i := range r {
			r[i] = fuzzAlphabet[int(next())%len(fuzzAlphabet)]
		}
		return string(r)
	}
	budget := 1 << 20 // value bytes per input, so each run stays fast
	for steps := 0; len(data) > 0 && steps < 400; steps++ {
		op := next()
		k := keys[int(next())%len(keys)]
		switch op % 5 {
		case 0, 1:
			if nk := k.Path(name(), event.FileTime(next())<<40|event.FileTime(next())); nk != k {
				keys = append(keys, nk)
			}
		case 2:
			size := int(next())<<8 | int(next())
			if next()%4 == 0 {
				size *= 3 // up to ~196 KiB: several big-data segments
			}
			size = min(size, budget)
			budget -= size
			d := bytes.Repeat([]byte{next()}, size)
			k.Set(Value{Name: name(), Type: uint32(next()), Data: d})
		case 3:
			k.Class = name()
		case 4:
			k.LastWrite = event.FileTime(next())<<56 | event.FileTime(next())
		}
	}
	return root
}

// FuzzWrite: any tree the builder accepts is written as a hive that passes
// the structural check and reads back exactly through our parser.
func FuzzWrite(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 3, 1, 2, 2, 0, 0, 0, 1, 1, 4, 5, 6})
	f.Add([]byte("\x00\x00\x05abcde\x02\x01\x40\x00\x01\x07\x03\x04xyz\x03\x00\x02k1\x04\x01\x09\x09"))
	f.Add(bytes.Repeat([]byte{0, 0, 7, 0x41, 0x42, 0x43}, 60))
	f.Add(bytes.Repeat([]byte{2, 0, 0xFF, 0xF0, 0, 9, 3, 7, 11}, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := treeFromBytes(data)
		opts := Options{HiveName: `\??\C:\fuzz`, LastWritten: 1}
		b, err := Bytes(root, opts)
		if err != nil {
			t.Fatalf("builder rejected a tree made with Path/Set: %v", err)
		}
		checkLayout(t, b, opts)
		h, err := registry.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		walkOurs(t, h, root)
	})
}
