package disk

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// EWF v1 (EnCase 1-7, FTK, linen, SMART, libewf "ewf"/"ewfx") reader.
//
// We do not use go-ewf for reading (dependencies.md D1/D2): it truncates the
// last chunk of each table and never verifies checksums. Chunk sizes here come
// from the next table entry or, for the last entry of a table, from the end of
// the section holding the chunk data.

const (
	ewfFileHeaderSize = 13
	ewfSectionSize    = 76
	ewfMaxChunkSize   = 64 << 20 // ewfacquire's largest is 32768 sectors × 512
	ewfMaxHeaderBytes = 4 << 20  // header/header2/xheader, compressed or not
	ewfMaxSegments    = 26*26*26 + 99
	ewfCacheBytes     = 32 << 20
)

// ErrChecksum is wrapped by read errors caused by a chunk whose stored
// Adler-32 (or zlib checksum) does not match its data.
var ErrChecksum = errors.New("checksum mismatch")

type ewfChunk struct {
	off        int64 // absolute offset in the segment file
	size       uint32
	seg        uint16
	compressed bool
}

type ewfImage struct {
	format   string
	paths    []string
	files    []*os.File
	chunks   []ewfChunk
	chunk    int64 // chunk size in bytes
	size     int64 // media size in bytes
	hashes   map[string]string
	meta     map[string]string
	cache    *lru[int64, []byte]
	segSizes []int64
}

type ewfSection struct {
	typ        string
	start, end int64 // descriptor start, section end
}

type ewfMedia struct {
	chunks          uint64
	sectorsPerChunk uint32
	bytesPerSector  uint32
	sectors         uint64
}

// ewfSegmentName returns the file name of segment n (1-based) given the
// first segment's path: .E01….E99, .EAA….EZZ, .FAA… (same for .s01, .e01).
func ewfSegmentName(first string, n int) string {
	ext := filepath.Ext(first)
	if len(ext) != 4 || n < 1 {
		return ""
	}
	base := first[:len(first)-3]
	letter := ext[1]
	if n <= 99 {
		return fmt.Sprintf("%s%c%02d", base, letter, n)
	}
	j := n - 100
	upper := letter >= 'A' && letter <= 'Z'
	a, z := byte('a'), byte('z')
	if upper {
		a, z = 'A', 'Z'
	}
	l0 := int(letter) + j/(26*26)
	if l0 > int(z) {
		return ""
	}
	return fmt.Sprintf("%s%c%c%c", base, byte(l0), a+byte((j/26)%26), a+byte(j%26))
}

func ewfSegments(first string) []string {
	paths := []string{first}
	for n := 2; n <= ewfMaxSegments; n++ {
		p := ewfSegmentName(first, n)
		if p == "" || !exists(p) {
			break
		}
		paths = append(paths, p)
	}
	return paths
}

func openEWF(first string) (Image, error) {
	img := &ewfImage{format: "e01", hashes: map[string]string{}, meta: map[string]string{}}
	if e := strings.ToLower(filepath.Ext(first)); strings.HasPrefix(e, ".s") {
		img.format = "s01"
	}
	img.paths = ewfSegments(first)
	var media *ewfMedia
	var headers = map[string][]byte{}
	for i, p := range img.paths {
		f, err := os.OpenFile(p, os.O_RDONLY, 0)
		if err != nil {
			img.Close()
			return nil, fmt.Errorf("ewf %s: %w", p, err)
		}
		img.files = append(img.files, f)
		m, err := img.readSegment(i, f, headers)
		if err != nil {
			img.Close()
			return nil, fmt.Errorf("ewf %s (segment %d): %w", p, i+1, err)
		}
		if media == nil {
			media = m
		}
	}
	if media == nil {
		img.Close()
		return nil, fmt.Errorf("ewf %s: no volume section", first)
	}
	if err := img.setMedia(media); err != nil {
		img.Close()
		return nil, fmt.Errorf("ewf %s: %w", first, err)
	}
	img.parseHeaders(headers)
	return img, nil
}

func (img *ewfImage) setMedia(m *ewfMedia) error {
	bps, spc := int64(m.bytesPerSector), int64(m.sectorsPerChunk)
	if bps < 1 || bps > 65536 || spc < 1 || bps*spc > ewfMaxChunkSize {
		return fmt.Errorf("implausible geometry: %d bytes/sector, %d sectors/chunk", bps, spc)
	}
	if m.sectors > uint64(1<<62)/uint64(bps) {
		return fmt.Errorf("implausible sector count %d", m.sectors)
	}
	img.chunk = bps * spc
	img.size = int64(m.sectors) * bps
	need := (img.size + img.chunk - 1) / img.chunk
	if int64(len(img.chunks)) < need {
		return fmt.Errorf("chunk tables list %d chunks but the media (%d bytes) needs %d: missing or truncated segment", len(img.chunks), img.size, need)
	}
	img.chunks = img.chunks[:need]
	n := ewfCacheBytes / img.chunk
	if n < 4 {
		n = 4
	}
	img.cache = newLRU[int64, []byte](int(n))
	img.meta["bytes_per_sector"] = strconv.FormatInt(bps, 10)
	img.meta["sectors_per_chunk"] = strconv.FormatInt(spc, 10)
	img.meta["media_size"] = strconv.FormatInt(img.size, 10)
	return nil
}

// readSegment walks the section chain of one segment file, appending its
// chunk table entries to img.chunks.
func (img *ewfImage) readSegment(idx int, f *os.File, headers map[string][]byte) (*ewfMedia, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	fsize := st.Size()
	img.segSizes = append(img.segSizes, fsize)
	var fh [ewfFileHeaderSize]byte
	if _, err := f.ReadAt(fh[:], 0); err != nil {
		return nil, fmt.Errorf("file header: %w", err)
	}
	if !bytes.Equal(fh[:8], magicEVF) {
		return nil, fmt.Errorf("not an EWF v1 segment (signature % x)", fh[:8])
	}
	if n := int(binary.LittleEndian.Uint16(fh[9:])); n != idx+1 {
		return nil, fmt.Errorf("file header says segment %d, expected %d", n, idx+1)
	}
	var (
		media    *ewfMedia
		sections []ewfSection
		tables   [][]ewfChunk
		off      = int64(ewfFileHeaderSize)
		desc     [ewfSectionSize]byte
		finished bool
	)
	for !finished {
		if off+ewfSectionSize > fsize {
			return nil, fmt.Errorf("section descriptor at offset %d beyond end of file (%d bytes): truncated segment", off, fsize)
		}
		if _, err := f.ReadAt(desc[:], off); err != nil {
			return nil, fmt.Errorf("section descriptor at offset %d: %w", off, err)
		}
		if got, want := adler32.Checksum(desc[:72]), binary.LittleEndian.Uint32(desc[72:]); got != want {
			return nil, fmt.Errorf("section descriptor at offset %d: %w (stored %08x, computed %08x)", off, ErrChecksum, want, got)
		}
		typ := string(bytes.TrimRight(desc[:16], "\x00"))
		next := int64(binary.LittleEndian.Uint64(desc[16:]))
		size := int64(binary.LittleEndian.Uint64(desc[24:]))
		end := off + size
		if size < ewfSectionSize || end > fsize || end < off {
			if typ == "next" || typ == "done" {
				end = off + ewfSectionSize
			} else {
				return nil, fmt.Errorf("section %q at offset %d has size %d, file has %d bytes: truncated segment", typ, off, size, fsize)
			}
		}
		sections = append(sections, ewfSection{typ: typ, start: off, end: end})
		dataOff, dataLen := off+ewfSectionSize, end-off-ewfSectionSize
		switch typ {
		case "header", "header2", "xheader":
			if idx == 0 && headers[typ] == nil && dataLen <= ewfMaxHeaderBytes {
				b := make([]byte, dataLen)
				if _, err := f.ReadAt(b, dataOff); err != nil {
					return nil, fmt.Errorf("section %s at offset %d: %w", typ, off, err)
				}
				headers[typ] = b
			}
		case "volume", "disk", "data":
			if media == nil {
				m, err := readEWFVolume(f, dataOff, dataLen)
				if err != nil {
					return nil, fmt.Errorf("section %s at offset %d: %w", typ, off, err)
				}
				media = m
			}
		case "table":
			t, err := readEWFTable(f, dataOff, dataLen, uint16(idx))
			if err != nil {
				return nil, fmt.Errorf("section table at offset %d: %w", off, err)
			}
			tables = append(tables, t)
		case "hash":
			if dataLen >= 16 {
				b := make([]byte, 16)
				if _, err := f.ReadAt(b, dataOff); err == nil {
					img.setHash("md5", b)
				}
			}
		case "digest":
			if dataLen >= 36 {
				b := make([]byte, 36)
				if _, err := f.ReadAt(b, dataOff); err == nil {
					img.setHash("md5", b[:16])
					img.setHash("sha1", b[16:36])
				}
			}
		case "next", "done":
			finished = true
			continue
		}
		if next <= off || next > fsize {
			return nil, fmt.Errorf("section %q at offset %d points to next section at %d (file has %d bytes)", typ, off, next, fsize)
		}
		off = next
	}
	for _, t := range tables {
		if err := sizeEWFChunks(t, sections, img.chunkLimit(media)); err != nil {
			return nil, err
		}
		img.chunks = append(img.chunks, t...)
	}
	return media, nil
}

// chunkLimit bounds the stored size of a chunk whose end is only known from
// its section end: deflate output for incompressible data grows by a few
// bytes per block, an uncompressed chunk carries a 4-byte checksum.
func (img *ewfImage) chunkLimit(m *ewfMedia) int64 {
	cs := int64(ewfMaxChunkSize)
	if m != nil && m.bytesPerSector > 0 && m.sectorsPerChunk > 0 && int64(m.bytesPerSector)*int64(m.sectorsPerChunk) <= ewfMaxChunkSize {
		cs = int64(m.bytesPerSector) * int64(m.sectorsPerChunk)
	}
	return cs + cs/16 + 1024
}

func (img *ewfImage) setHash(name string, b []byte) {
	if bytes.Count(b, []byte{0}) == len(b) {
		return
	}
	img.hashes[name] = hex.EncodeToString(b)
}

func readEWFVolume(f *os.File, off, n int64) (*ewfMedia, error) {
	if n < 24 {
		return nil, fmt.Errorf("volume data too short (%d bytes)", n)
	}
	b := make([]byte, 24)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, err
	}
	m := &ewfMedia{
		chunks:          uint64(binary.LittleEndian.Uint32(b[4:])),
		sectorsPerChunk: binary.LittleEndian.Uint32(b[8:]),
		bytesPerSector:  binary.LittleEndian.Uint32(b[12:]),
	}
	if n >= 1052 { // EnCase layout: 64-bit sector count
		m.sectors = binary.LittleEndian.Uint64(b[16:])
	} else { // SMART / EWF-S01 layout (94 bytes)
		m.sectors = uint64(binary.LittleEndian.Uint32(b[16:]))
	}
	return m, nil
}

func readEWFTable(f *os.File, off, n int64, seg uint16) ([]ewfChunk, error) {
	if n < 24 {
		return nil, fmt.Errorf("table data too short (%d bytes)", n)
	}
	var h [24]byte
	if _, err := f.ReadAt(h[:], off); err != nil {
		return nil, err
	}
	if got, want := adler32.Checksum(h[:20]), binary.LittleEndian.Uint32(h[20:]); got != want {
		return nil, fmt.Errorf("table header: %w (stored %08x, computed %08x)", ErrChecksum, want, got)
	}
	count := int64(binary.LittleEndian.Uint32(h[0:]))
	base := int64(binary.LittleEndian.Uint64(h[8:]))
	if count > (n-24)/4 {
		return nil, fmt.Errorf("table lists %d entries but holds room for %d", count, (n-24)/4)
	}
	if base < 0 || base > 1<<56 {
		return nil, fmt.Errorf("implausible table base offset %d", base)
	}
	raw := make([]byte, count*4)
	if _, err := f.ReadAt(raw, off+24); err != nil {
		return nil, err
	}
	t := make([]ewfChunk, count)
	overflow := false
	var prev int64 = -1
	for i := range t {
		v := binary.LittleEndian.Uint32(raw[i*4:])
		o, comp := int64(v&0x7fffffff), v&0x80000000 != 0
		// Segments written without a base offset may pass 2 GiB; from
		// then on the top bit belongs to the offset and chunks are stored
		// uncompressed (libewf's "offset overflow").
		if !overflow && base == 0 && o < prev && int64(v) > prev {
			overflow = true
		}
		if overflow {
			o, comp = int64(v), false
		}
		prev = o
		t[i] = ewfChunk{off: base + o, seg: seg, compressed: comp}
	}
	return t, nil
}

func sizeEWFChunks(t []ewfChunk, sections []ewfSection, limit int64) error {
	for i := range t {
		var end int64
		if i+1 < len(t) {
			end = t[i+1].off
			if end <= t[i].off {
				return fmt.Errorf("chunk table entry %d: offset %d not after previous %d", i+1, end, t[i].off)
			}
		} else {
			end = -1
			for _, s := range sections {
				if (s.typ == "sectors" || s.typ == "table") && t[i].off >= s.start+ewfSectionSize && t[i].off < s.end {
					end = s.end
					break
				}
			}
			if end < 0 {
				return fmt.Errorf("chunk at offset %d lies outside every sectors/table section", t[i].off)
			}
			if end-t[i].off > limit {
				end = t[i].off + limit
			}
		}
		if end-t[i].off > limit {
			return fmt.Errorf("chunk at offset %d has stored size %d, above the limit %d", t[i].off, end-t[i].off, limit)
		}
		t[i].size = uint32(end - t[i].off)
	}
	return nil
}

var ewfHeaderNames = map[string]string{
	"c": "case_number", "n": "evidence_number", "a": "description", "e": "examiner",
	"t": "notes", "av": "acquisition_software_version", "ov": "acquisition_os",
	"m": "acquisition_date", "u": "system_date", "md": "model", "sn": "serial_number",
	"l": "device_label", "r": "compression", "pid": "process_id", "ext": "extents",
}

// parseHeaders fills metadata from header (ASCII) then header2 (UTF-16,
// preferred because it keeps non-ASCII names).
func (img *ewfImage) parseHeaders(h map[string][]byte) {
	for _, typ := range []string{"header", "header2"} {
		raw, ok := h[typ]
		if !ok {
			continue
		}
		text, err := inflateLimited(raw, ewfMaxHeaderBytes)
		if err != nil {
			continue
		}
		s := string(text)
		if typ == "header2" || (len(text) >= 2 && text[0] == 0xff && text[1] == 0xfe) {
			s = decodeUTF16LE(text)
		}
		lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
		if len(lines) < 4 {
			continue
		}
		keys, vals := strings.Split(lines[2], "\t"), strings.Split(lines[3], "\t")
		for i, k := range keys {
			name, ok := ewfHeaderNames[k]
			if !ok || i >= len(vals) || vals[i] == "" {
				continue
			}
			v := vals[i]
			if (k == "m" || k == "u") && allDigits(v) {
				if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
					v = time.Unix(secs, 0).UTC().Format(time.RFC3339)
				}
			}
			img.meta[name] = v
		}
	}
}

func inflateLimited(b []byte, limit int64) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit))
	if err != nil {
		return nil, err
	}
	return out, nil
}

func decodeUTF16LE(b []byte) string {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe {
		b = b[2:]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[i*2:])
	}
	return string(utf16.Decode(u))
}

func (img *ewfImage) Size() int64                 { return img.size }
func (img *ewfImage) Format() string              { return img.format }
func (img *ewfImage) Files() []string             { return append([]string(nil), img.paths...) }
func (img *ewfImage) Metadata() map[string]string { return img.meta }

func (img *ewfImage) Hashes() map[string]string {
	if len(img.hashes) == 0 {
		return nil
	}
	return img.hashes
}

func (img *ewfImage) Close() error {
	err := closeAll(img.files)
	img.files = nil
	return err
}

func (img *ewfImage) ReadAt(p []byte, off int64) (int, error) {
	return readAtBounded(p, off, img.size, func(p []byte, off int64) error {
		for len(p) > 0 {
			i := off / img.chunk
			data, err := img.chunkData(i)
			if err != nil {
				return err
			}
			n := copy(p, data[off-i*img.chunk:])
			p, off = p[n:], off+int64(n)
		}
		return nil
	})
}

// chunkData returns chunk i decoded and verified (cached).
func (img *ewfImage) chunkData(i int64) ([]byte, error) {
	if b, ok := img.cache.get(i); ok {
		return b, nil
	}
	c := img.chunks[i]
	expected := img.chunk
	if rem := img.size - i*img.chunk; rem < expected {
		expected = rem
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("ewf %s (segment %d) chunk %d at file offset %d (media offset %d): %w",
			img.paths[c.seg], int(c.seg)+1, i, c.off, i*img.chunk, fmt.Errorf(format, args...))
	}
	stored := make([]byte, c.size)
	if n, err := img.files[c.seg].ReadAt(stored, c.off); n < len(stored) {
		// The last chunk of a table may be sized up to a limit; a short
		// read there is fine as long as enough bytes came back.
		if !(c.compressed && n > 0 && err == io.EOF) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fail("read %d bytes: %w", len(stored), err)
		}
		stored = stored[:n]
	}
	var out []byte
	if c.compressed {
		zr, err := zlib.NewReader(bytes.NewReader(stored))
		if err != nil {
			return nil, fail("zlib: %w", err)
		}
		buf := make([]byte, img.chunk)
		n, err := io.ReadFull(zr, buf)
		switch err {
		case nil: // full chunk; the stream must end here
			var one [1]byte
			if _, err := io.ReadFull(zr, one[:]); err != io.EOF {
				if err == nil {
					err = errors.New("inflated data longer than the chunk size")
				}
				return nil, fail("inflate: %w", wrapZlib(err))
			}
		case io.ErrUnexpectedEOF: // stream ended (checksum verified) before a full chunk
		default:
			return nil, fail("inflate: %w", wrapZlib(err))
		}
		if int64(n) < expected {
			return nil, fail("inflated %d bytes, expected %d", n, expected)
		}
		out = buf[:expected]
	} else {
		sz := int64(len(stored))
		switch {
		case sz >= expected+4 && adler32.Checksum(stored[:expected]) == binary.LittleEndian.Uint32(stored[expected:]):
		case expected < img.chunk && sz >= img.chunk+4 && adler32.Checksum(stored[:img.chunk]) == binary.LittleEndian.Uint32(stored[img.chunk:]):
		case sz == expected || sz == img.chunk:
			// Formats that store plain chunks without a checksum.
		case sz >= expected+4:
			return nil, fail("%w: stored Adler-32 %08x, computed %08x", ErrChecksum,
				binary.LittleEndian.Uint32(stored[expected:]), adler32.Checksum(stored[:expected]))
		default:
			return nil, fail("stored chunk is %d bytes, expected %d", sz, expected)
		}
		out = stored[:expected]
	}
	img.cache.put(i, out)
	return out, nil
}

func wrapZlib(err error) error {
	if errors.Is(err, zlib.ErrChecksum) {
		return fmt.Errorf("%w: %v", ErrChecksum, err)
	}
	return err
}
