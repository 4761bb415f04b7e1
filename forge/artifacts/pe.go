package artifacts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/foothold/foothold/forge/wire"
)

// PE describes a small x64 (PE32+) executable or DLL. The forge needs files
// that look like real Windows binaries to every PE reader (headers,
// sections, imports, version resource, CodeView debug record) and that can
// carry an Authenticode signature; it does not need them to do anything, so
// the code section is a stub that returns 0.
type PE struct {
	DLL bool
	// Linked becomes the COFF TimeDateStamp (seconds since 1970, UTC) and the
	// debug directory's TimeDateStamp, as the MSVC linker writes both.
	Linked time.Time
	// Subsystem: 2 GUI (default), 3 console.
	Subsystem uint16
	Version   *VersionInfo
	// PDBPath, when set, adds a CodeView (RSDS) debug entry.
	PDBPath string
	PDBGUID [16]byte // as stored (Data1..3 little-endian)
	PDBAge  uint32
	Imports []Import
	// Data fills a .data section; use it to give files distinct content
	// and realistic sizes.
	Data []byte
}

// Import is one DLL and the functions imported from it by name.
type Import struct {
	DLL       string
	Functions []string
}

// VersionInfo is the VS_VERSIONINFO resource. FileVersion and
// ProductVersion strings are free text (as in real files); the binary
// VS_FIXEDFILEINFO versions come from FileVer and ProdVer.
type VersionInfo struct {
	CompanyName, FileDescription, FileVersion, InternalName, LegalCopyright,
	OriginalFilename, ProductName, ProductVersion string
	FileVer, ProdVer [4]uint16
}

const (
	fileAlign    = 0x200
	sectAlign    = 0x1000
	headerSize   = 0x400 // DOS header + stub + NT headers + up to 6 section headers, file-aligned
	peOffset     = 0x80
	optHdrSize   = 240 // PE32+ optional header with 16 data directories
	maxSections  = 5
	exeImageBase = 0x140000000
	dllImageBase = 0x180000000
)

// Offsets into the image that the signing and checksum code needs.
const (
	coffOff        = peOffset + 4
	optOff         = coffOff + 20
	checksumOff    = optOff + 64
	dataDirOff     = optOff + 112
	securityDirOff = dataDirOff + 4*8 // IMAGE_DIRECTORY_ENTRY_SECURITY
)

// dosStub is the 64-byte real-mode program every MSVC-linked image carries.
var dosStub = append([]byte{0x0e, 0x1f, 0xba, 0x0e, 0x00, 0xb4, 0x09, 0xcd, 0x21, 0xb8, 0x01, 0x4c, 0xcd, 0x21},
	"This program cannot be run in DOS mode.\r\r\n$\x00\x00\x00\x00\x00\x00\x00"...)

type section struct {
	name  string
	chars uint32
	rva   uint32
	data  []byte
}

// BuildPE lays out the image: .text, .rdata (imports, debug directory),
// .data, .rsrc (version). All strings are validated so a scenario typo
// cannot produce an image that readers reject.
func BuildPE(p PE) ([]byte, error) {
	if p.Linked.IsZero() {
		return nil, errors.New("pe: Linked time is required")
	}
	stamp := p.Linked.Unix()
	if stamp < 0 || stamp > 0xFFFFFFFF {
		return nil, fmt.Errorf("pe: Linked time %s outside the 32-bit COFF range", p.Linked.UTC())
	}
	for _, imp := range p.Imports {
		if imp.DLL == "" || len(imp.Functions) == 0 {
			return nil, fmt.Errorf("pe: import %q needs a DLL name and at least one function", imp.DLL)
		}
	}

	// Code: xor eax,eax; ret; padded with int3 as linkers do.
	text := &section{name: ".text", chars: 0x60000020, data: append([]byte{0x31, 0xc0, 0xc3}, bytes.Repeat([]byte{0xcc}, 13)...)}
	secs := []*section{text}
	rdata := &section{name: ".rdata", chars: 0x40000040}
	if len(p.Imports) > 0 || p.PDBPath != "" {
		secs = append(secs, rdata)
	}
	var data *section
	if len(p.Data) > 0 {
		data = &section{name: ".data", chars: 0xC0000040, data: p.Data}
		secs = append(secs, data)
	}
	var rsrc *section
	if p.Version != nil {
		rsrc = &section{name: ".rsrc", chars: 0x40000040}
		secs = append(secs, rsrc)
	}

	// RVAs depend only on section sizes, and .rdata/.rsrc contents depend
	// on their own RVA, so assign RVAs with size estimates first: building
	// with a provisional RVA gives the exact size (content size does not
	// depend on the RVA value).
	var dirs [16][2]uint32
	var importRVA, importSize, iatRVA, iatSize, debugRVA uint32
	buildRdata := func(base uint32) {
		var b bytes.Buffer
		importRVA, importSize, iatRVA, iatSize = 0, 0, 0, 0
		if len(p.Imports) > 0 {
			importRVA, importSize, iatRVA, iatSize = writeImports(&b, base, p.Imports)
		}
		debugRVA = 0
		if p.PDBPath != "" {
			align(&b, 4)
			debugRVA = base + uint32(b.Len())
			cvRVA := debugRVA + 28
			var cv bytes.Buffer
			cv.WriteString("RSDS")
			cv.Write(p.PDBGUID[:])
			binary.Write(&cv, binary.LittleEndian, p.PDBAge)
			cv.WriteString(p.PDBPath)
			cv.WriteByte(0)
			// IMAGE_DEBUG_DIRECTORY; PointerToRawData is patched once the
			// file offset of .rdata is known.
			var dd [28]byte
			binary.LittleEndian.PutUint32(dd[4:], uint32(stamp))
			binary.LittleEndian.PutUint32(dd[12:], 2) // IMAGE_DEBUG_TYPE_CODEVIEW
			binary.LittleEndian.PutUint32(dd[16:], uint32(cv.Len()))
			binary.LittleEndian.PutUint32(dd[20:], cvRVA)
			b.Write(dd[:])
			b.Write(cv.Bytes())
		}
		rdata.data = b.Bytes()
	}
	var rsrcSize uint32
	buildRsrc := func(base uint32) error {
		d, err := resourceSection(base, p.Version, p.DLL)
		if err != nil {
			return err
		}
		rsrc.data = d
		rsrcSize = uint32(len(d))
		return nil
	}
	for pass := 0; pass < 2; pass++ {
		rva := uint32(sectAlign)
		for _, s := range secs {
			s.rva = rva
			switch s {
			case rdata:
				buildRdata(rva)
			case rsrc:
				if err := buildRsrc(rva); err != nil {
					return nil, err
				}
			}
			rva += alignUp(uint32(len(s.data)), sectAlign)
		}
	}
	if len(secs) > maxSections {
		return nil, errors.New("pe: too many sections")
	}
	sizeOfImage := secs[len(secs)-1].rva + alignUp(uint32(len(secs[len(secs)-1].data)), sectAlign)

	// File offsets.
	off := uint32(headerSize)
	offsets := make([]uint32, len(secs))
	for i, s := range secs {
		offsets[i] = off
		off += alignUp(uint32(len(s.data)), fileAlign)
	}
	if p.PDBPath != "" {
		for i, s := range secs {
			if s == rdata {
				rel := debugRVA - s.rva
				binary.LittleEndian.PutUint32(s.data[rel+24:], offsets[i]+rel+28)
			}
		}
		dirs[6] = [2]uint32{debugRVA, 28}
	}
	if importRVA != 0 {
		dirs[1] = [2]uint32{importRVA, importSize}
		dirs[12] = [2]uint32{iatRVA, iatSize}
	}
	if rsrc != nil {
		dirs[2] = [2]uint32{rsrc.rva, rsrcSize}
	}

	img := make([]byte, off)
	// DOS header.
	copy(img, "MZ")
	le := binary.LittleEndian
	for i, v := range []uint16{0x90, 3, 0, 4, 0, 0xFFFF, 0, 0xB8, 0, 0, 0, 0x40} {
		le.PutUint16(img[2+2*i:], v)
	}
	le.PutUint32(img[0x3c:], peOffset)
	copy(img[0x40:], dosStub)
	copy(img[peOffset:], "PE\x00\x00")

	// COFF header.
	chars := uint16(0x0022) // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
	if p.DLL {
		chars |= 0x2000
	} else {
		chars |= 0x0001 // RELOCS_STRIPPED: no .reloc, fixed base
	}
	le.PutUint16(img[coffOff:], 0x8664)
	le.PutUint16(img[coffOff+2:], uint16(len(secs)))
	le.PutUint32(img[coffOff+4:], uint32(stamp))
	le.PutUint16(img[coffOff+16:], optHdrSize)
	le.PutUint16(img[coffOff+18:], chars)

	// Optional header (PE32+).
	o := img[optOff:]
	le.PutUint16(o[0:], 0x20b)
	o[2], o[3] = 14, 36 // linker 14.36 (Visual Studio 2022 17.6)
	var codeSize, initSize uint32
	for _, s := range secs {
		if s == text {
			codeSize += alignUp(uint32(len(s.data)), fileAlign)
		} else {
			initSize += alignUp(uint32(len(s.data)), fileAlign)
		}
	}
	le.PutUint32(o[4:], codeSize)
	le.PutUint32(o[8:], initSize)
	le.PutUint32(o[16:], text.rva) // AddressOfEntryPoint
	le.PutUint32(o[20:], text.rva) // BaseOfCode
	base := uint64(exeImageBase)
	if p.DLL {
		base = dllImageBase
	}
	le.PutUint64(o[24:], base)
	le.PutUint32(o[32:], sectAlign)
	le.PutUint32(o[36:], fileAlign)
	le.PutUint16(o[40:], 6) // OS 6.0
	le.PutUint16(o[48:], 6) // subsystem 6.0
	le.PutUint32(o[56:], sizeOfImage)
	le.PutUint32(o[60:], headerSize)
	sub := p.Subsystem
	if sub == 0 {
		sub = 2
	}
	le.PutUint16(o[68:], sub)
	le.PutUint16(o[70:], 0x8100) // TERMINAL_SERVER_AWARE | NX_COMPAT
	le.PutUint64(o[72:], 0x100000)
	le.PutUint64(o[80:], 0x1000)
	le.PutUint64(o[88:], 0x100000)
	le.PutUint64(o[96:], 0x1000)
	le.PutUint32(o[108:], 16)
	for i, d := range dirs {
		le.PutUint32(o[112+8*i:], d[0])
		le.PutUint32(o[116+8*i:], d[1])
	}

	// Section table and contents.
	sh := img[optOff+optHdrSize:]
	for i, s := range secs {
		e := sh[40*i:]
		copy(e[:8], s.name)
		le.PutUint32(e[8:], uint32(len(s.data)))
		le.PutUint32(e[12:], s.rva)
		le.PutUint32(e[16:], alignUp(uint32(len(s.data)), fileAlign))
		le.PutUint32(e[20:], offsets[i])
		le.PutUint32(e[36:], s.chars)
		copy(img[offsets[i]:], s.data)
	}
	le.PutUint32(img[checksumOff:], PEChecksum(img))
	return img, nil
}

// writeImports writes import descriptors, lookup tables, the IAT, hint/name
// entries and DLL names, in the order MSVC's linker uses in .rdata.
func writeImports(b *bytes.Buffer, base uint32, imps []Import) (dirRVA, dirSize, iatRVA, iatSize uint32) {
	// Sizes first so every table's RVA is known before writing.
	nthunks := 0
	for _, imp := range imps {
		nthunks += len(imp.Functions) + 1
	}
	iatRVA = base
	iatSize = uint32(8 * nthunks)
	dirRVA = iatRVA + iatSize
	dirSize = uint32(20 * (len(imps) + 1))
	iltRVA := dirRVA + dirSize
	namesRVA := iltRVA + uint32(8*nthunks)

	var names bytes.Buffer
	hintRVA := make([][]uint32, len(imps))
	dllRVA := make([]uint32, len(imps))
	for i, imp := range imps {
		for _, f := range imp.Functions {
			if names.Len()%2 == 1 {
				names.WriteByte(0)
			}
			hintRVA[i] = append(hintRVA[i], namesRVA+uint32(names.Len()))
			names.Write([]byte{0, 0}) // hint 0: the loader falls back to a name search
			names.WriteString(f)
			names.WriteByte(0)
		}
		if names.Len()%2 == 1 {
			names.WriteByte(0)
		}
		dllRVA[i] = namesRVA + uint32(names.Len())
		names.WriteString(imp.DLL)
		names.WriteByte(0)
	}
	thunks := func() []byte {
		var t bytes.Buffer
		for i := range imps {
			for _, r := range hintRVA[i] {
				binary.Write(&t, binary.LittleEndian, uint64(r))
			}
			t.Write(make([]byte, 8))
		}
		return t.Bytes()
	}
	b.Write(thunks()) // IAT: before binding it holds the same thunks as the ILT
	idx := uint32(0)
	for i := range imps {
		var d [20]byte
		binary.LittleEndian.PutUint32(d[0:], iltRVA+8*idx)
		binary.LittleEndian.PutUint32(d[12:], dllRVA[i])
		binary.LittleEndian.PutUint32(d[16:], iatRVA+8*idx)
		b.Write(d[:])
		idx += uint32(len(imps[i].Functions) + 1)
	}
	b.Write(make([]byte, 20))
	b.Write(thunks())
	b.Write(names.Bytes())
	return
}

// resourceSection builds a .rsrc holding one RT_VERSION resource (type 16,
// name 1, language 0x0409), the layout rc.exe produces.
func resourceSection(base uint32, v *VersionInfo, dll bool) ([]byte, error) {
	vi, err := versionResource(v, dll)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	dir := func(n uint16) {
		var d [16]byte
		le.PutUint16(d[14:], n) // NumberOfIdEntries
		b.Write(d[:])
	}
	entry := func(id, off uint32) {
		var e [8]byte
		le.PutUint32(e[0:], id)
		le.PutUint32(e[4:], off)
		b.Write(e[:])
	}
	// Three directory levels (type, name, language), then the data entry.
	dir(1)
	entry(16, 0x80000000|24)
	dir(1)
	entry(1, 0x80000000|48)
	dir(1)
	entry(0x0409, 72)
	dataRVA := base + 72 + 16
	var de [16]byte
	le.PutUint32(de[0:], dataRVA)
	le.PutUint32(de[4:], uint32(len(vi)))
	b.Write(de[:])
	b.Write(vi)
	return b.Bytes(), nil
}

// versionResource encodes VS_VERSIONINFO with one StringTable 040904B0
// (US English, Unicode) and the matching Translation.
func versionResource(v *VersionInfo, dll bool) ([]byte, error) {
	le := binary.LittleEndian
	var fixed [52]byte
	le.PutUint32(fixed[0:], 0xFEEF04BD)
	le.PutUint32(fixed[4:], 0x00010000)
	le.PutUint32(fixed[8:], uint32(v.FileVer[0])<<16|uint32(v.FileVer[1]))
	le.PutUint32(fixed[12:], uint32(v.FileVer[2])<<16|uint32(v.FileVer[3]))
	le.PutUint32(fixed[16:], uint32(v.ProdVer[0])<<16|uint32(v.ProdVer[1]))
	le.PutUint32(fixed[20:], uint32(v.ProdVer[2])<<16|uint32(v.ProdVer[3]))
	le.PutUint32(fixed[24:], 0x3F)    // dwFileFlagsMask
	le.PutUint32(fixed[32:], 0x40004) // VOS_NT_WINDOWS32
	ftype := uint32(1)                // VFT_APP
	if dll {
		ftype = 2 // VFT_DLL
	}
	le.PutUint32(fixed[36:], ftype)

	pairs := [][2]string{
		{"CompanyName", v.CompanyName},
		{"FileDescription", v.FileDescription},
		{"FileVersion", v.FileVersion},
		{"InternalName", v.InternalName},
		{"LegalCopyright", v.LegalCopyright},
		{"OriginalFilename", v.OriginalFilename},
		{"ProductName", v.ProductName},
		{"ProductVersion", v.ProductVersion},
	}
	var strs [][]byte
	for _, kv := range pairs {
		if kv[1] == "" {
			continue
		}
		val := wire.UTF16Z(kv[1])
		if len(val) > 0xFFFF/2 {
			return nil, fmt.Errorf("pe: version string %s too long", kv[0])
		}
		strs = append(strs, versionNode(kv[0], 1, uint16(len(val)/2), val, nil))
	}
	table := versionNode("040904B0", 1, 0, nil, strs)
	sfi := versionNode("StringFileInfo", 1, 0, nil, [][]byte{table})
	var tr [4]byte
	le.PutUint16(tr[0:], 0x0409)
	le.PutUint16(tr[2:], 1200)
	vfi := versionNode("VarFileInfo", 1, 0, nil, [][]byte{versionNode("Translation", 0, 4, tr[:], nil)})
	out := versionNode("VS_VERSION_INFO", 0, 52, fixed[:], [][]byte{sfi, vfi})
	if len(out) > 0xFFFF {
		return nil, errors.New("pe: version resource exceeds 64 KiB")
	}
	return out, nil
}

// versionNode encodes one version-resource block: wLength, wValueLength,
// wType, key, padding, value, padding, children. Every child starts on a
// 32-bit boundary; wLength counts up to the end of the last child without
// trailing padding, as rc.exe writes it.
func versionNode(key string, typ, valueLen uint16, value []byte, children [][]byte) []byte {
	var b bytes.Buffer
	b.Write(make([]byte, 6))
	b.Write(wire.UTF16Z(key))
	align(&b, 4)
	b.Write(value)
	for _, c := range children {
		align(&b, 4)
		b.Write(c)
	}
	out := b.Bytes()
	binary.LittleEndian.PutUint16(out[0:], uint16(len(out)))
	binary.LittleEndian.PutUint16(out[2:], valueLen)
	binary.LittleEndian.PutUint16(out[4:], typ)
	return out
}

func align(b *bytes.Buffer, n int) {
	for b.Len()%n != 0 {
		b.WriteByte(0)
	}
}

func alignUp(v, a uint32) uint32 { return (v + a - 1) &^ (a - 1) }

// PEChecksum computes the optional header CheckSum as imagehlp's
// CheckSumMappedFile does: a 16-bit one's-complement style sum of the file's
// 16-bit words, skipping the CheckSum field itself, plus the file length.
func PEChecksum(img []byte) uint32 {
	ck := -1
	if len(img) >= 0x40 {
		if pe := int64(binary.LittleEndian.Uint32(img[0x3c:])); pe+24+68 <= int64(len(img)) {
			ck = int(pe) + 24 + 64
		}
	}
	var sum uint64
	for i := 0; i+1 < len(img); i += 2 {
		if i == ck || i == ck+2 {
			continue
		}
		sum += uint64(binary.LittleEndian.Uint16(img[i:]))
		sum = (sum & 0xFFFF) + (sum >> 16)
	}
	if len(img)%2 == 1 {
		sum += uint64(img[len(img)-1])
		sum = (sum & 0xFFFF) + (sum >> 16)
	}
	sum = (sum & 0xFFFF) + (sum >> 16)
	return uint32(sum) + uint32(len(img))
}
