package ntfs

import (
	"context"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

// BenchmarkParseMFTFile parses the 51 MiB tdungan $MFT (52,320 entries)
// with a sink that drops events, and reports entries/s.
func BenchmarkParseMFTFile(b *testing.B) {
	path := decompress(b, "xz", corpusFile(b, "ntfs/mft/tdungan/$MFT.xz"), "MFT")
	f, size := openFile(b, path)
	sink := event.SinkFunc(func(*event.Event) error { return nil })
	b.ResetTimer()
	var st Stats
	for i := 0; i < b.N; i++ {
		var err error
		if st, err = ParseMFTFile(context.Background(), f, size, sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Records)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(st.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
