package registry

import (
	"context"
	"testing"
)

// BenchmarkParse reports keys/s for Open+Parse of the largest corpus hives.
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name string
		hive string
		logs []string
	}{
		{"SYSTEM_WIN_10_1709", "regipy/SYSTEM_WIN_10_1709.xz", nil},
		{"SYSTEM_B+logs", "regipy/SYSTEM_B.xz", []string{"regipy/SYSTEM_B.LOG1.xz", "regipy/SYSTEM_B.LOG2.xz"}},
		{"NTUSER_BAGMRU", "regipy/NTUSER_BAGMRU.DAT.xz", nil},
		{"amcache", "regipy/amcache.hve.xz", nil},
	} {
		data := readCorpus(b, c.hive)
		var logs [][]byte
		for _, l := range c.logs {
			logs = append(logs, readCorpus(b, l))
		}
		b.Run(c.name, func(b *testing.B) {
			var keys int64
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h, err := Open(data, logs...)
				if err != nil {
					b.Fatal(err)
				}
				st, _ := h.Parse(context.Background(), "", discard)
				keys += st.Keys
			}
			b.ReportMetric(float64(keys)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
