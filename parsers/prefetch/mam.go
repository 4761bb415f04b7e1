package prefetch

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	goprefetch "www.velocidex.com/golang/go-prefetch"
)

const (
	// maxDecompressed rejects MAM headers announcing more than this
	// (dependencies.md D17: go-prefetch allocates whatever the header says).
	maxDecompressed = 16 << 20
	// formatXpressHuffman is the MAM compression format of Windows 8.1+.
	formatXpressHuffman = 4
)

// DecompressTimeout bounds one MAM decompression; go-prefetch's decoder
// has been seen to spin for seconds on mutated input (D17). A decoder
// still running when it expires is abandoned (it holds at most
// maxDecompressed bytes) and the file is reported as failed.
var DecompressTimeout = 10 * time.Second

// decompressMAM unwraps a MAM container: "MAM", a format byte whose high
// bit says a CRC32 follows, the decompressed size, then the stream.
func decompressMAM(ctx context.Context, data []byte) ([]byte, error) {
	format := data[3] & 0x7f
	hdr := 8
	if data[3]&0x80 != 0 {
		hdr = 12
	}
	if format != formatXpressHuffman {
		return nil, fmt.Errorf("MAM compression format %d not supported", format)
	}
	if len(data) < hdr {
		return nil, fmt.Errorf("MAM header truncated (%d bytes)", len(data))
	}
	size := binary.LittleEndian.Uint32(data[4:])
	if size > maxDecompressed {
		return nil, fmt.Errorf("MAM header announces %d bytes, more than the %d accepted", size, maxDecompressed)
	}
	if size < headerSize {
		return nil, fmt.Errorf("MAM header announces %d bytes, too short for a prefetch file", size)
	}
	in := data[hdr:]
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{nil, fmt.Errorf("MAM decompression panic: %v", r)}
			}
		}()
		out, err := goprefetch.LZXpressHuffmanDecompress(in, int(size))
		done <- result{out, err}
	}()
	timer := time.NewTimer(DecompressTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("MAM decompression of %d bytes: %w", size, r.err)
		}
		return r.out, nil
	case <-timer.C:
		return nil, fmt.Errorf("MAM decompression of %d bytes did not finish within %v", size, DecompressTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
