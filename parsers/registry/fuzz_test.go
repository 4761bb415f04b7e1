package registry

import (
	"context"
	"os"
	"strings"
	"testing"
)

func seedHive(f *testing.F, rel string, max int) {
	b := readCorpus(f, rel)
	if len(b) > max {
		b = b[:max]
	}
	f.Add(b)
}

// FuzzOpenParse: any bytes, through every entry point, without a panic; the
// walk never visits more keys than the data has room for. Run with a short
// -fuzzminimizetime: minimizing an 8 KiB input takes the default full minute.
func FuzzOpenParse(f *testing.F) {
	for _, rel := range []string{"yarp/EmptyHive", "yarp/UnicodeHive", "yarp/ExtendedASCIIHive", "yarp/MultiSzHive",
		"yarp/BadListHive", "yarp/BadSubkeyHive", "yarp/TruncatedNameHive", "yarp/TruncatedPairHive", "yarp/BigDataHive",
		"yarp/StringValuesHive", "yarp/WrongOrderHive", "regipy/SAM.xz", "regipy/SECURITY.xz"} {
		seedHive(f, rel, 8*1024)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Open(data)
		if err != nil {
			if strings.Contains(err.Error(), "panic") {
				t.Fatal(err)
			}
			return
		}
		st, err := h.Parse(context.Background(), "u", discard)
		if err != nil && strings.Contains(err.Error(), "panic") {
			t.Fatal(err)
		}
		if st.Keys > int64(len(data)/80+16) {
			t.Fatalf("%d keys from %d bytes", st.Keys, len(data))
		}
		if _, err := h.Identity(); err != nil && strings.Contains(err.Error(), "panic") {
			t.Fatal(err)
		}
	})
}

// FuzzReplay: a dirty hive with a fuzzed log.
func FuzzReplay(f *testing.F) {
	hive := readCorpus(f, "yarp/NewDirtyHive1/NewDirtyHive")
	f.Add(readCorpus(f, "yarp/NewDirtyHive1/NewDirtyHive.LOG1"))
	f.Add(readCorpus(f, "yarp/OldDirtyHive/OldDirtyHive.LOG1")[:8192])
	f.Fuzz(func(t *testing.T, log []byte) {
		h, err := Open(hive, log)
		if err != nil {
			t.Fatalf("the primary always opens: %v", err)
		}
		if _, err := h.Parse(context.Background(), "", discard); err != nil && strings.Contains(err.Error(), "panic") {
			t.Fatal(err)
		}
	})
}

// FuzzShimCache: any AppCompatCache value.
func FuzzShimCache(f *testing.F) {
	for _, n := range []string{"Win10.bin", "Win10Creators.bin", "Win80.bin", "Win81.bin", "win7x64.bin", "win7x86.bin", "WinXPx86.bin", "Win2k8Standard.bin"} {
		b, err := os.ReadFile(corpusPath(f, "appcompatcache/"+n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4096)])
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		_, es, _ := ParseShimCache(d)
		if len(es) > len(d)/8+1 {
			t.Fatalf("%d entries from %d bytes", len(es), len(d))
		}
	})
}
