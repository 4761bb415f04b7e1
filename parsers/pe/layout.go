package pe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// layout is what we read from the headers ourselves. go-pe reads the same
// fields, but the Authenticode digest needs exact file offsets (checksum,
// security directory entry, section table) and must not depend on a
// library that is known to get the digest wrong (D9).
type layout struct {
	ntOff         int64
	machine       uint16
	numSections   uint16
	timeDateStamp uint32
	chars         uint16
	pe32Plus      bool
	sizeOfHeaders int64
	subsystem     uint16
	dllChars      uint16

	checksumOff int64 // file offset of OptionalHeader.CheckSum
	secDirOff   int64 // file offset of the security data directory entry; 0 if absent
	certOff     int64 // attribute certificate table (a file offset); 0 if absent
	certSize    int64

	sections     []sectionHdr
	reproducible bool // a debug directory entry of type IMAGE_DEBUG_TYPE_REPRO

	// CodeView (RSDS) record: the PDB the linker wrote.
	pdbPath string
	pdbGUID [16]byte // as stored: Data1..Data3 little-endian
	pdbAge  uint32
	hasPDB  bool
}

type sectionHdr struct {
	name             string
	virtualSize, rva uint32
	rawSize, rawPtr  uint32
	characteristics  uint32
}

const (
	maxNTOffset       = 1 << 24 // e_lfanew beyond 16 MiB is not a PE any loader accepts
	maxSections       = 96      // the Windows loader's own limit
	maxDebugDirs      = 64
	imageFileDLL      = 0x2000
	debugTypeRepr     = 16
	debugTypeCodeView = 2
	maxPDBPath        = 1024
)

var errNotPE = errors.New("not a PE file")

// readLayout parses the DOS, COFF and optional headers and the section
// table.
func readLayout(r io.ReaderAt, size int64) (*layout, error) {
	var dos [64]byte
	if err := readFull(r, dos[:], 0, size); err != nil {
		return nil, fmt.Errorf("DOS header: %w", err)
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return nil, errNotPE
	}
	l := &layout{ntOff: int64(binary.LittleEndian.Uint32(dos[0x3c:]))}
	if l.ntOff < 4 || l.ntOff > maxNTOffset {
		return nil, fmt.Errorf("NT header offset %#x: %w", l.ntOff, errNotPE)
	}
	var nt [24]byte
	if err := readFull(r, nt[:], l.ntOff, size); err != nil {
		return nil, fmt.Errorf("NT header at %#x: %w", l.ntOff, err)
	}
	if string(nt[:4]) != "PE\x00\x00" {
		return nil, fmt.Errorf("NT signature at %#x: %w", l.ntOff, errNotPE)
	}
	le := binary.LittleEndian
	l.machine = le.Uint16(nt[4:])
	l.numSections = le.Uint16(nt[6:])
	l.timeDateStamp = le.Uint32(nt[8:])
	optSize := int64(le.Uint16(nt[20:]))
	l.chars = le.Uint16(nt[22:])
	optOff := l.ntOff + 24
	if optSize < 2 {
		return nil, fmt.Errorf("optional header of %d bytes at %#x", optSize, optOff)
	}
	opt := make([]byte, optSize)
	if err := readFull(r, opt, optOff, size); err != nil {
		return nil, fmt.Errorf("optional header at %#x: %w", optOff, err)
	}
	var ddOff, nDirsOff int64
	switch le.Uint16(opt) {
	case 0x10b:
		ddOff, nDirsOff = 96, 92
	case 0x20b:
		l.pe32Plus = true
		ddOff, nDirsOff = 112, 108
	default:
		return nil, fmt.Errorf("optional header magic %#x at %#x", le.Uint16(opt), optOff)
	}
	if optSize < ddOff {
		return nil, fmt.Errorf("optional header of %d bytes at %#x is too short", optSize, optOff)
	}
	l.sizeOfHeaders = int64(le.Uint32(opt[60:]))
	l.checksumOff = optOff + 64
	l.subsystem = le.Uint16(opt[68:])
	l.dllChars = le.Uint16(opt[70:])
	nDirs := int64(le.Uint32(opt[nDirsOff:]))
	dir := func(i int64) (uint32, uint32, int64, bool) {
		o := ddOff + 8*i
		if i >= nDirs || o+8 > optSize {
			return 0, 0, 0, false
		}
		return le.Uint32(opt[o:]), le.Uint32(opt[o+4:]), optOff + o, true
	}
	if off, sz, at, ok := dir(4); ok {
		l.secDirOff = at
		if off != 0 && sz != 0 {
			l.certOff, l.certSize = int64(off), int64(sz)
		}
	}

	n := int64(l.numSections)
	if n > maxSections {
		return nil, fmt.Errorf("%d sections (the loader accepts at most %d)", n, maxSections)
	}
	tbl := make([]byte, 40*n)
	if err := readFull(r, tbl, optOff+optSize, size); err != nil {
		return nil, fmt.Errorf("section table at %#x: %w", optOff+optSize, err)
	}
	for i := int64(0); i < n; i++ {
		e := tbl[40*i:]
		name := e[:8]
		for j, c := range name {
			if c == 0 {
				name = name[:j]
				break
			}
		}
		l.sections = append(l.sections, sectionHdr{
			name: string(name), virtualSize: le.Uint32(e[8:]), rva: le.Uint32(e[12:]),
			rawSize: le.Uint32(e[16:]), rawPtr: le.Uint32(e[20:]), characteristics: le.Uint32(e[36:]),
		})
	}

	// A reproducible build stores a content hash in TimeDateStamp; the
	// debug directory says so (objdump prints "This is a reproducible
	// build file hash, not a timestamp").
	if rva, sz, _, ok := dir(6); ok && rva != 0 && sz >= 28 {
		if off, ok := l.fileOffset(rva); ok {
			cnt := int64(sz) / 28
			if cnt > maxDebugDirs {
				cnt = maxDebugDirs
			}
			buf := make([]byte, 28*cnt)
			if readFull(r, buf, off, size) == nil {
				for i := int64(0); i < cnt; i++ {
					e := buf[28*i:]
					switch le.Uint32(e[12:]) {
					case debugTypeRepr:
						l.reproducible = true
					case debugTypeCodeView:
						if !l.hasPDB {
							l.readCodeView(r, size, int64(le.Uint32(e[24:])), int64(le.Uint32(e[16:])))
						}
					}
				}
			}
		}
	}
	return l, nil
}

// readCodeView reads an RSDS record: signature, GUID, age, then the
// NUL-terminated PDB path.
func (l *layout) readCodeView(r io.ReaderAt, size, off, n int64) {
	if n < 24 {
		return
	}
	if n > 24+maxPDBPath {
		n = 24 + maxPDBPath
	}
	if off+n > size {
		n = size - off
	}
	if n < 24 {
		return
	}
	b := make([]byte, n)
	if readFull(r, b, off, size) != nil || string(b[:4]) != "RSDS" {
		return
	}
	copy(l.pdbGUID[:], b[4:20])
	l.pdbAge = binary.LittleEndian.Uint32(b[20:])
	p := b[24:]
	if i := bytes.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	l.pdbPath = strings.ToValidUTF8(string(p), "\uFFFD")
	l.hasPDB = true
}

// fileOffset maps an RVA to a file offset through the section table.
func (l *layout) fileOffset(rva uint32) (int64, bool) {
	for _, s := range l.sections {
		span := s.virtualSize
		if span < s.rawSize {
			span = s.rawSize
		}
		if rva >= s.rva && uint64(rva) < uint64(s.rva)+uint64(span) && rva-s.rva < s.rawSize {
			return int64(s.rawPtr) + int64(rva-s.rva), true
		}
	}
	if int64(rva) < l.sizeOfHeaders {
		return int64(rva), true
	}
	return 0, false
}

// digestRanges lists the byte ranges the Authenticode digest covers, in
// hashing order: the headers without the checksum and the security
// directory entry, each section with raw data in file order, then
// everything from the end of the last section to the certificate table
// (or to the end of the file). go-pe leaves that last range out (D9).
func (l *layout) digestRanges(size int64) ([][2]int64, error) {
	if l.secDirOff == 0 {
		return nil, errors.New("no security directory entry")
	}
	hdrEnd := l.sizeOfHeaders
	if hdrEnd > size {
		hdrEnd = size
	}
	if hdrEnd < l.secDirOff+8 {
		return nil, fmt.Errorf("SizeOfHeaders %#x ends inside the data directories", l.sizeOfHeaders)
	}
	out := [][2]int64{{0, l.checksumOff}, {l.checksumOff + 4, l.secDirOff}, {l.secDirOff + 8, hdrEnd}}
	secs := append([]sectionHdr(nil), l.sections...)
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].rawPtr < secs[j].rawPtr })
	end := hdrEnd
	for _, s := range secs {
		if s.rawSize == 0 {
			continue
		}
		a, b := int64(s.rawPtr), int64(s.rawPtr)+int64(s.rawSize)
		if a > size {
			return nil, fmt.Errorf("section %q raw data at %#x beyond the %d-byte file", s.name, a, size)
		}
		if b > size {
			return nil, fmt.Errorf("section %q raw data %#x-%#x beyond the %d-byte file", s.name, a, b, size)
		}
		out = append(out, [2]int64{a, b})
		if b > end {
			end = b
		}
	}
	tail := size
	if l.certOff != 0 {
		tail = l.certOff
	}
	if tail > end {
		out = append(out, [2]int64{end, tail})
	}
	return out, nil
}

// readFull reads len(b) bytes at off, refusing to read past size.
func readFull(r io.ReaderAt, b []byte, off, size int64) error {
	if off < 0 || off+int64(len(b)) > size {
		return fmt.Errorf("%d bytes at %#x beyond the %d-byte file", len(b), off, size)
	}
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read %d bytes at %#x: %w", len(b), off, err)
}
