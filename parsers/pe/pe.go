// Package pe describes Windows executables and DLLs for the timeline:
// hashes, compile time, machine, PDB, version information, imphash and the
// embedded Authenticode signature.
//
// Headers, the debug directory (PDB, reproducible-build flag) and the
// certificate table are read here; go-pe (over a paged reader, as it reads
// in many small pieces) supplies version information and the import list
// for the imphash. The Authenticode digest is computed here too: go-pe's
// leaves out the bytes between the last section and the certificate table
// (dependencies.md D9), which is where appended payloads live.
package pe

import (
	"context"
	"crypto"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
	gope "www.velocidex.com/golang/go-pe"

	"github.com/foothold/foothold/parsers/event"
)

// MaxHashSize bounds the file hashes and the Authenticode digest: a file
// larger than this is described from its headers only.
const MaxHashSize = 512 << 20

// Stats is what one file gave.
type Stats struct{ Records, Errors int64 }

// VersionInfo holds the StringFileInfo values investigators search for.
type VersionInfo struct {
	CompanyName, ProductName, FileVersion, OriginalFilename, FileDescription, InternalName string
}

// Info describes one PE file.
type Info struct {
	Size              int64
	MD5, SHA1, SHA256 string // lower-case hex; empty above MaxHashSize

	Machine, Subsystem         string
	MachineCode, SubsystemCode uint16
	PE32Plus, DLL              bool
	TimeDateStamp              uint32         // raw COFF value
	Compiled                   event.FileTime // 0 when unset or a reproducible-build hash
	Reproducible               bool

	PDBPath string
	PDBGUID string // {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}
	PDBAge  uint32
	PDBKey  string // symbol-server key: GUID without dashes, then age in hex

	Version VersionInfo
	ImpHash string // pefile-compatible; empty without imports

	// Authentihash is the SHA-256 Authenticode digest, computed for every
	// file so catalog-signed files can be matched too.
	Authentihash string
	// Digest is the Authenticode digest with the signature's algorithm.
	Digest string

	SignatureStatus string // StatusValid, StatusDigestMismatch, StatusUnsigned, StatusInvalid
	SignatureError  string
	Signature       *Signature
	// SignatureAnomaly is set when the certificate table carries bytes
	// after the PKCS#7 blob (CVE-2013-3900); CertTableTrailing counts them.
	SignatureAnomaly  string
	CertTableTrailing int64

	// Problems are non-fatal: fields that could not be read.
	Problems []string
}

// IsPE reports whether head starts like a PE image (MZ, and the PE
// signature where e_lfanew points when head is long enough to tell).
func IsPE(head []byte) bool {
	if len(head) < 64 || head[0] != 'M' || head[1] != 'Z' {
		return false
	}
	off := int(uint32(head[0x3c]) | uint32(head[0x3d])<<8 | uint32(head[0x3e])<<16 | uint32(head[0x3f])<<24)
	if off+4 <= len(head) && off >= 0 {
		return string(head[off:off+4]) == "PE\x00\x00"
	}
	return off > 0 && off < maxNTOffset
}

// Inspect describes the PE in r for the `foothold file` command.
func Inspect(r io.ReaderAt, size int64) (*Info, error) {
	return inspect(context.Background(), r, size)
}

func inspect(ctx context.Context, r io.ReaderAt, size int64) (info *Info, err error) {
	defer func() {
		if p := recover(); p != nil {
			info, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	if size < 0 {
		return nil, fmt.Errorf("negative size %d", size)
	}
	r = io.NewSectionReader(r, 0, size)
	l, err := readLayout(r, size)
	if err != nil {
		return nil, err
	}
	info = &Info{
		Size:          size,
		MachineCode:   l.machine,
		Machine:       machineName(l.machine),
		SubsystemCode: l.subsystem,
		Subsystem:     subsystemName(l.subsystem),
		PE32Plus:      l.pe32Plus,
		DLL:           l.chars&imageFileDLL != 0,
		TimeDateStamp: l.timeDateStamp,
		Reproducible:  l.reproducible,
	}
	if l.timeDateStamp != 0 && !l.reproducible {
		info.Compiled = event.FromTime(time.Unix(int64(l.timeDateStamp), 0))
	}
	if l.hasPDB {
		g := l.pdbGUID
		info.PDBPath = l.pdbPath
		info.PDBAge = l.pdbAge
		d1 := fmt.Sprintf("%02X%02X%02X%02X", g[3], g[2], g[1], g[0])
		d2 := fmt.Sprintf("%02X%02X", g[5], g[4])
		d3 := fmt.Sprintf("%02X%02X", g[7], g[6])
		d4 := fmt.Sprintf("%X", g[8:10])
		d5 := fmt.Sprintf("%X", g[10:16])
		info.PDBGUID = "{" + d1 + "-" + d2 + "-" + d3 + "-" + d4 + "-" + d5 + "}"
		info.PDBKey = d1 + d2 + d3 + d4 + d5 + fmt.Sprintf("%X", l.pdbAge)
	}
	info.goPE(r, size)

	if size > MaxHashSize {
		info.Problems = append(info.Problems, fmt.Sprintf("file of %d bytes exceeds %d: not hashed", size, int64(MaxHashSize)))
		info.signature(ctx, r, l, false)
		return info, nil
	}
	m, s1, s256 := md5.New(), sha1.New(), sha256.New()
	if err := hashRanges(ctx, r, [][2]int64{{0, size}}, m, s1, s256); err != nil {
		return nil, fmt.Errorf("hashing: %w", err)
	}
	info.MD5 = hex.EncodeToString(m.Sum(nil))
	info.SHA1 = hex.EncodeToString(s1.Sum(nil))
	info.SHA256 = hex.EncodeToString(s256.Sum(nil))
	if err := info.signature(ctx, r, l, true); err != nil {
		return nil, err
	}
	return info, nil
}

// goPE takes version information and the imphash from go-pe. Failures
// are recorded, not fatal: the rest of the description stands.
func (info *Info) goPE(r io.ReaderAt, size int64) {
	defer func() {
		if p := recover(); p != nil {
			info.Problems = append(info.Problems, fmt.Sprintf("go-pe: panic: %v", p))
		}
	}()
	paged, err := ntfs.NewPagedReader(r, 4096, 100)
	if err != nil {
		info.Problems = append(info.Problems, "go-pe: "+err.Error())
		return
	}
	f, err := gope.NewPEFileWithSize(paged, size)
	if err != nil {
		info.Problems = append(info.Problems, "go-pe: "+err.Error())
		return
	}
	v := f.VersionInformation()
	get := func(k string) string {
		s, _ := v.GetString(k)
		return strings.TrimRight(s, "\x00")
	}
	info.Version = VersionInfo{
		CompanyName: get("CompanyName"), ProductName: get("ProductName"), FileVersion: get("FileVersion"),
		OriginalFilename: get("OriginalFilename"), FileDescription: get("FileDescription"), InternalName: get("InternalName"),
	}
	imports := f.Imports()
	for _, imp := range imports {
		// go-pe's ImpHash indexes the part after '!' unchecked.
		if !strings.Contains(imp, "!") {
			info.Problems = append(info.Problems, fmt.Sprintf("go-pe: import %q without function", imp))
			return
		}
	}
	if len(imports) > 0 {
		info.ImpHash = f.ImpHash()
	}
}

// signature computes the Authenticode digests and reads the embedded
// signature. hashed is false when the file is too large to digest.
func (info *Info) signature(ctx context.Context, r io.ReaderAt, l *layout, hashed bool) error {
	size := info.Size
	info.SignatureStatus = StatusUnsigned
	var der []byte
	if l.certOff != 0 {
		var err error
		var anomalous bool
		der, info.CertTableTrailing, anomalous, err = certBlob(r, l, size)
		if err != nil {
			info.SignatureStatus, info.SignatureError = StatusInvalid, err.Error()
			der = nil
		}
		if anomalous {
			info.SignatureAnomaly = fmt.Sprintf("%d bytes after the PKCS#7 blob inside the certificate table", info.CertTableTrailing)
		}
		if end := l.certOff + l.certSize; end < size {
			info.Problems = append(info.Problems, fmt.Sprintf("%d bytes after the certificate table (not covered by the signature)", size-end))
		}
	}
	var sig *Signature
	var alg crypto.Hash
	var want []byte
	if der != nil {
		var err error
		sig, alg, want, err = parseSignature(der)
		info.Signature = sig
		if err != nil {
			info.SignatureStatus, info.SignatureError = StatusInvalid, err.Error()
		}
	}
	if !hashed {
		if info.SignatureStatus != StatusInvalid && der != nil {
			info.SignatureStatus, info.SignatureError = StatusInvalid, "file too large to digest"
		}
		return nil
	}
	ranges, err := l.digestRanges(size)
	if err != nil {
		info.Problems = append(info.Problems, "Authenticode digest: "+err.Error())
		if der != nil && info.SignatureStatus != StatusInvalid {
			info.SignatureStatus, info.SignatureError = StatusInvalid, "Authenticode digest: "+err.Error()
		}
		return nil
	}
	h256 := sha256.New()
	hs := []hash.Hash{h256}
	var hsig hash.Hash
	if alg != 0 && alg != crypto.SHA256 {
		hsig = newHash(alg)
		hs = append(hs, hsig)
	}
	if err := hashRanges(ctx, r, ranges, hs...); err != nil {
		return fmt.Errorf("Authenticode digest: %w", err)
	}
	info.Authentihash = hex.EncodeToString(h256.Sum(nil))
	switch {
	case alg == crypto.SHA256:
		info.Digest = info.Authentihash
	case hsig != nil:
		info.Digest = hex.EncodeToString(hsig.Sum(nil))
	}
	if sig == nil || want == nil || info.SignatureStatus == StatusInvalid {
		return nil
	}
	switch {
	case !strings.EqualFold(info.Digest, hex.EncodeToString(want)):
		info.SignatureStatus = StatusDigestMismatch
	case sig.VerifyError != "":
		info.SignatureStatus, info.SignatureError = StatusInvalid, "signer signature: "+sig.VerifyError
	default:
		info.SignatureStatus = StatusValid
	}
	return nil
}

// Parse describes the PE file name and emits its compile time ("compiled")
// and, when signed, its signing time ("signed"). A file with neither gets
// one undated "pe" event so its hashes and signature reach the case.
func Parse(ctx context.Context, name string, r io.ReaderAt, size int64, sink event.Sink) (Stats, error) {
	var st Stats
	where := "pe"
	if name != "" {
		where = "pe " + name
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	info, err := inspect(ctx, r, size)
	if err != nil {
		st.Errors++
		return st, fmt.Errorf("%s: %w", where, err)
	}
	st.Records = 1
	var errs []error
	for _, p := range info.Problems {
		errs = append(errs, fmt.Errorf("%s: %s", where, p))
	}
	if len(errs) > 8 {
		errs = append(errs[:8], fmt.Errorf("and %d more", len(errs)-8))
	}

	base := baseName(name)
	emit := func(typ string, t event.FileTime, desc, msg string) error {
		e := &event.Event{Time: t, TimeDesc: desc, Artifact: event.PE, Type: typ, Path: name,
			Message: msg, Record: -1, Offset: -1}
		info.fields(e, name)
		return sink.Emit(e)
	}
	emitted := false
	if info.Compiled != 0 {
		msg := fmt.Sprintf("%s compiled (%s %s)%s", base, info.Machine, kind(info), info.describe())
		if err := emit("compiled", info.Compiled, "PE compile time", msg); err != nil {
			return st, err
		}
		emitted = true
	}
	if s := info.Signature; s != nil && (s.SigningTime != 0 || s.TimestampTime != 0) {
		t, desc := s.SigningTime, "Signing time"
		if t == 0 {
			t, desc = s.TimestampTime, "Signature timestamp"
		}
		msg := fmt.Sprintf("%s signed by %s (signature %s)", base, orUnknown(s.Subject), info.SignatureStatus)
		if info.SignatureAnomaly != "" {
			msg += "; " + info.SignatureAnomaly
		}
		if err := emit("signed", t, desc, msg); err != nil {
			return st, err
		}
		emitted = true
	}
	if !emitted {
		msg := fmt.Sprintf("%s (%s %s)%s", base, info.Machine, kind(info), info.describe())
		if err := emit("pe", 0, "", msg); err != nil {
			return st, err
		}
	}
	st.Errors = int64(len(info.Problems))
	return st, errors.Join(errs...)
}

func (info *Info) describe() string {
	var b strings.Builder
	v := info.Version
	if v.CompanyName != "" || v.ProductName != "" || v.FileVersion != "" {
		fmt.Fprintf(&b, "; %s", strings.TrimSpace(strings.Join(nonEmpty(v.CompanyName, v.ProductName, v.FileVersion), " ")))
	}
	if v.OriginalFilename != "" {
		fmt.Fprintf(&b, "; original name %s", v.OriginalFilename)
	}
	switch info.SignatureStatus {
	case StatusUnsigned:
		b.WriteString("; no embedded signature")
	default:
		signer := ""
		if info.Signature != nil {
			signer = " by " + orUnknown(info.Signature.Subject)
		}
		fmt.Fprintf(&b, "; signed%s (signature %s)", signer, info.SignatureStatus)
	}
	if info.SignatureAnomaly != "" {
		b.WriteString("; " + info.SignatureAnomaly)
	}
	return b.String()
}

// fields adds the description to e, in a fixed order.
func (info *Info) fields(e *event.Event, name string) {
	e.Add("target_path", name)
	add := func(k string, v string) {
		if v != "" {
			e.Add(k, v)
		}
	}
	add("sha256", info.SHA256)
	add("sha1", info.SHA1)
	add("md5", info.MD5)
	e.Add("size", info.Size)
	e.Add("machine", info.Machine).Add("subsystem", info.Subsystem).Add("dll", info.DLL)
	e.Add("compile_timestamp", int64(info.TimeDateStamp))
	if info.Compiled != 0 {
		e.Add("compile_time", info.Compiled)
	}
	if info.Reproducible {
		e.Add("reproducible_build", true)
	}
	add("pdb_path", info.PDBPath)
	add("pdb_guid", info.PDBGUID)
	if info.PDBPath != "" || info.PDBGUID != "" {
		e.Add("pdb_age", int64(info.PDBAge))
	}
	v := info.Version
	add("company_name", v.CompanyName)
	add("product_name", v.ProductName)
	add("file_version", v.FileVersion)
	add("original_filename", v.OriginalFilename)
	add("file_description", v.FileDescription)
	add("internal_name", v.InternalName)
	add("imphash", info.ImpHash)
	add("authentihash", info.Authentihash)
	e.Add("signature_status", info.SignatureStatus)
	add("signature_error", info.SignatureError)
	if s := info.Signature; s != nil {
		add("signer_subject", s.Subject)
		add("signer_issuer", s.Issuer)
		add("signer_serial", s.Serial)
		add("program_name", s.ProgramName)
		if s.SigningTime != 0 {
			e.Add("signing_time", s.SigningTime)
		}
		if s.TimestampTime != 0 {
			e.Add("timestamp_time", s.TimestampTime)
		}
		add("digest_algorithm", s.DigestAlgorithm)
		add("signed_digest", s.SignedDigest)
		add("computed_digest", info.Digest)
		e.Add("chain_complete", s.ChainComplete)
	}
	if info.SignatureAnomaly != "" {
		e.Add("signature_anomaly", info.SignatureAnomaly)
		e.Add("cert_table_trailing_bytes", info.CertTableTrailing)
	}
}

func kind(info *Info) string {
	if info.DLL {
		return "DLL"
	}
	return "executable"
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown signer"
	}
	return s
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	if p == "" {
		return "PE file"
	}
	return p
}

func machineName(m uint16) string {
	switch m {
	case 0x14c:
		return "I386"
	case 0x8664:
		return "AMD64"
	case 0xaa64:
		return "ARM64"
	case 0x1c0:
		return "ARM"
	case 0x1c4:
		return "ARMNT"
	case 0x200:
		return "IA64"
	case 0xebc:
		return "EBC"
	case 0xa641:
		return "ARM64EC"
	case 0x5064:
		return "RISCV64"
	case 0:
		return "UNKNOWN"
	}
	return fmt.Sprintf("0x%04x", m)
}

func subsystemName(s uint16) string {
	names := map[uint16]string{
		1: "native", 2: "windows_gui", 3: "windows_cui", 5: "os2_cui", 7: "posix_cui",
		8: "native_windows", 9: "windows_ce_gui", 10: "efi_application", 11: "efi_boot_service_driver",
		12: "efi_runtime_driver", 13: "efi_rom", 14: "xbox", 16: "windows_boot_application",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("%d", s)
}
