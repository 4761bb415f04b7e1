package pe

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/forge/artifacts"
	"github.com/foothold/foothold/parsers/event"
)

var (
	linked   = time.Date(2023, 2, 14, 9, 31, 7, 0, time.UTC)
	signedAt = time.Date(2023, 2, 15, 10, 0, 0, 0, time.UTC)
)

func forgedPE(dll bool, overlay int) artifacts.PE {
	p := artifacts.PE{
		DLL:    dll,
		Linked: linked,
		Version: &artifacts.VersionInfo{
			CompanyName: "Contoso Graphics Ltd", FileDescription: "Direct3D HLSL Compiler",
			FileVersion: "10.0.19041.1 (WinBuild.160101.0800)", InternalName: "d3dcompiler",
			OriginalFilename: "D3DCOMPILER_47.DLL", ProductName: "Contoso Graphics",
			FileVer: [4]uint16{10, 0, 19041, 1}, ProdVer: [4]uint16{10, 0, 19041, 1},
		},
		PDBPath: `D:\build\d3d\Release\x64\d3dcompiler_47.pdb`,
		PDBGUID: [16]byte{0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 1, 2, 3, 4, 5, 6, 7, 8},
		PDBAge:  3,
		Imports: []artifacts.Import{{DLL: "KERNEL32.dll", Functions: []string{"GetProcAddress", "LoadLibraryW"}}},
		Data:    bytes.Repeat([]byte("payload "), 1000),
	}
	return p
}

func build(t *testing.T, p artifacts.PE, overlay int) []byte {
	t.Helper()
	img, err := artifacts.BuildPE(p)
	if err != nil {
		t.Fatal(err)
	}
	if overlay > 0 {
		// Bytes after the last section, before the signature: the range
		// go-pe leaves out of its digest (D9).
		img = append(img, bytes.Repeat([]byte{0xA5}, overlay)...)
		ck := int(binary.LittleEndian.Uint32(img[0x3c:])) + 24 + 64
		binary.LittleEndian.PutUint32(img[ck:], 0)
		binary.LittleEndian.PutUint32(img[ck:], artifacts.PEChecksum(img))
	}
	return img
}

func testSigner(t *testing.T) (*artifacts.TestCA, *artifacts.Signer) {
	t.Helper()
	need(t, "osslsigncode")
	ca, err := artifacts.NewTestCA(t.TempDir()+"/ca", time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ca.Issue("d3d", pkix.Name{Country: []string{"US"}, Organization: []string{"Contoso Graphics Ltd"}, CommonName: "Contoso Graphics Ltd"})
	if err != nil {
		t.Fatal(err)
	}
	return ca, s
}

// TestForgedSigned is the issue's acceptance: a PE signed with a test CA
// is "valid"; with bytes appended inside the certificate table it is still
// "valid" (the table is outside the digest) but the anomaly is reported;
// one changed byte gives "digest_mismatch". osslsigncode and saferwall/pe
// are the oracles for every digest.
func TestForgedSigned(t *testing.T) {
	ca, signer := testSigner(t)
	for _, overlay := range []int{0, 50000} {
		t.Run(fmt.Sprintf("overlay%d", overlay), func(t *testing.T) {
			img := build(t, forgedPE(true, overlay), overlay)
			unsigned := inspectBytes(t, img)
			if unsigned.SignatureStatus != StatusUnsigned {
				t.Errorf("unsigned image: %s", unsigned.SignatureStatus)
			}
			signed, err := artifacts.Sign(img, signer, signedAt)
			if err != nil {
				t.Fatal(err)
			}
			info := inspectBytes(t, signed)
			v := ossVerify(t, writeTemp(t, "s.dll", signed), ca.RootPath)
			if info.SignatureStatus != StatusValid || v.current != v.calculated {
				t.Fatalf("signed: %s (%s); osslsigncode %s/%s", info.SignatureStatus, info.SignatureError, v.current, v.calculated)
			}
			s := info.Signature
			if !strings.EqualFold(info.Digest, v.calculated) || !strings.EqualFold(s.SignedDigest, v.current) || s.DigestAlgorithm != "SHA256" {
				t.Errorf("digest %s signed %s; osslsigncode %s/%s", info.Digest, s.SignedDigest, v.calculated, v.current)
			}
			if got := saferwallAuthentihash(t, signed); got != info.Authentihash {
				t.Errorf("authentihash %s, saferwall %s", info.Authentihash, got)
			}
			if slashDN(s.Subject) != v.subject || slashDN(s.Issuer) != v.issuer || !strings.EqualFold(s.Serial, strings.TrimLeft(v.serial, "0")) {
				t.Errorf("signer %q/%q/%s, osslsigncode %q/%q/%s", s.Subject, s.Issuer, s.Serial, v.subject, v.issuer, v.serial)
			}
			if s.Serial != signer.Cert.SerialNumber.Text(16) {
				t.Errorf("serial %s, certificate %s", s.Serial, signer.Cert.SerialNumber.Text(16))
			}
			want, err := time.Parse("Jan _2 15:04:05 2006 MST", v.signingTime)
			if err != nil || !s.SigningTime.Time().Equal(want) || s.SigningTime != event.FromTime(signedAt) {
				t.Errorf("signing time %s, osslsigncode %q", s.SigningTime, v.signingTime)
			}
			// osslsigncode -certs with the signer's PEM embeds only that
			// certificate: the chain to the root is not inside.
			if n := pkcs7CertCount(t, signed); s.Certificates != n || s.ChainComplete != (n > 1) {
				t.Errorf("certificates %d chain %v; openssl counts %d", s.Certificates, s.ChainComplete, n)
			}
			if info.SignatureAnomaly != "" || info.CertTableTrailing >= 8 {
				t.Errorf("clean signature has anomaly %q (%d)", info.SignatureAnomaly, info.CertTableTrailing)
			}

			extra := []byte("\xfe\xed\xfa\xce encrypted shellcode stand-in \x00\x01\x02")
			tampered, err := artifacts.AppendInsideCertTable(signed, extra)
			if err != nil {
				t.Fatal(err)
			}
			ti := inspectBytes(t, tampered)
			tv := ossVerify(t, writeTemp(t, "t.dll", tampered), ca.RootPath)
			slack, err := artifacts.CertTableSlack(tampered)
			if err != nil {
				t.Fatal(err)
			}
			if ti.SignatureStatus != StatusValid || !strings.EqualFold(ti.Digest, tv.calculated) || tv.calculated != tv.current {
				t.Errorf("tampered: %s; digest %s, osslsigncode %s/%s", ti.SignatureStatus, ti.Digest, tv.current, tv.calculated)
			}
			if ti.SignatureAnomaly == "" || ti.CertTableTrailing != int64(len(slack)) || ti.CertTableTrailing < int64(len(extra)) {
				t.Errorf("tampered: anomaly %q trailing %d, forge slack %d (extra %d)", ti.SignatureAnomaly, ti.CertTableTrailing, len(slack), len(extra))
			}

			broken := append([]byte(nil), tampered...)
			broken[0x400] ^= 0xFF // first byte of .text
			bi := inspectBytes(t, broken)
			bv := ossVerify(t, writeTemp(t, "b.dll", broken), ca.RootPath)
			if bi.SignatureStatus != StatusDigestMismatch || !strings.EqualFold(bi.Digest, bv.calculated) || bv.calculated == bv.current {
				t.Errorf("broken: %s; digest %s, osslsigncode %s/%s", bi.SignatureStatus, bi.Digest, bv.current, bv.calculated)
			}
			if overlay > 0 {
				// A changed overlay byte is inside the digest too (D9).
				ob := append([]byte(nil), signed...)
				ob[len(img)-overlay/2] ^= 1
				if oi := inspectBytes(t, ob); oi.SignatureStatus != StatusDigestMismatch {
					t.Errorf("overlay byte changed: %s", oi.SignatureStatus)
				}
			}
		})
	}
}

// pkcs7CertCount counts the certificates openssl finds in the signature.
func pkcs7CertCount(t *testing.T, signed []byte) int {
	t.Helper()
	need(t, "openssl")
	l, err := readLayout(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	der, _, _, err := certBlob(bytes.NewReader(signed), l, int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "pkcs7", "-inform", "DER", "-print_certs", "-noout", "-in", writeTemp(t, "sig.p7", der)).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkcs7: %v %s", err, out)
	}
	return strings.Count(string(out), "subject=")
}

// TestForgedFields: headers, PDB, version information and imphash of a
// forged DLL, against the values the forge wrote and objdump.
func TestForgedFields(t *testing.T) {
	need(t, "objdump")
	p := forgedPE(true, 0)
	img := build(t, p, 0)
	info := inspectBytes(t, img)
	checkObjdump(t, writeTemp(t, "f.dll", img), info)
	if !info.DLL || info.Machine != "AMD64" || info.Compiled != event.FromTime(linked) || info.Reproducible {
		t.Errorf("headers: %+v", info)
	}
	if info.PDBPath != p.PDBPath || info.PDBGUID != "{12345678-1234-5678-0102-030405060708}" || info.PDBAge != 3 || info.PDBKey != "123456781234567801020304050607083" {
		t.Errorf("PDB %q %s %d %s", info.PDBPath, info.PDBGUID, info.PDBAge, info.PDBKey)
	}
	v := p.Version
	if info.Version != (VersionInfo{v.CompanyName, v.ProductName, v.FileVersion, v.OriginalFilename, v.FileDescription, v.InternalName}) {
		t.Errorf("version %+v", info.Version)
	}
	// pefile: md5 of "kernel32.getprocaddress,kernel32.loadlibraryw".
	if want := fmt.Sprintf("%x", md5Sum("kernel32.getprocaddress,kernel32.loadlibraryw")); info.ImpHash != want {
		t.Errorf("imphash %s, want %s", info.ImpHash, want)
	}
}

// TestParseEvents: a signed forged DLL gives a "compiled" and a "signed"
// event carrying the description.
func TestParseEvents(t *testing.T) {
	_, signer := testSigner(t)
	signed, err := artifacts.Sign(build(t, forgedPE(true, 0), 0), signer, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	name := `C:\Users\alice\AppData\Local\Temp\d3dcompiler_47.dll`
	evs, st, err := collect(t, name, signed)
	if err != nil || st.Records != 1 || st.Errors != 0 || len(evs) != 2 {
		t.Fatalf("events %d stats %+v err %v", len(evs), st, err)
	}
	c, s := evs[0], evs[1]
	if c.Type != "compiled" || c.TimeDesc != "PE compile time" || c.Time != event.FromTime(linked) {
		t.Errorf("compiled event %+v", c)
	}
	if s.Type != "signed" || s.Time != event.FromTime(signedAt) {
		t.Errorf("signed event %+v", s)
	}
	for _, e := range evs {
		if e.Artifact != event.PE || e.Path != name || field(e, "target_path") != name || field(e, "signature_status") != StatusValid ||
			field(e, "sha256") == nil || field(e, "sha1") == nil || field(e, "signer_subject") == nil {
			t.Errorf("event fields %+v", e)
		}
	}
}
