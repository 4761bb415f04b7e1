package artifacts

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	pe "www.velocidex.com/golang/go-pe"
)

// signers makes a test CA with two code-signing certificates in the
// test's TempDir.
func signers(t *testing.T) (*TestCA, *Signer, *Signer) {
	t.Helper()
	need(t, "osslsigncode")
	ca, err := NewTestCA(t.TempDir()+"/ca", time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	xt, err := ca.Issue("xtrader", pkix.Name{Country: []string{"US"}, Organization: []string{"Trading Technologies International, Inc."}, CommonName: "Trading Technologies International, Inc."})
	if err != nil {
		t.Fatal(err)
	}
	d3d, err := ca.Issue("d3d", pkix.Name{Country: []string{"US"}, Organization: []string{"Contoso Graphics Ltd"}, CommonName: "Contoso Graphics Ltd"})
	if err != nil {
		t.Fatal(err)
	}
	return ca, xt, d3d
}

var signedAt = time.Date(2023, 2, 15, 10, 0, 0, 0, time.UTC)

type verdict struct {
	ok                   bool // osslsigncode exit status 0 and "Succeeded"
	current, calculated  string
	checksumOK           bool // no "Current PE checksum"/"Calculated PE checksum" mismatch pair
	subject, issuer, ser string
	out                  string
}

var (
	reCur   = regexp.MustCompile(`Current message digest\s*:\s*([0-9A-F]+)`)
	reCalc  = regexp.MustCompile(`Calculated message digest\s*:\s*([0-9A-F]+)`)
	reSubj  = regexp.MustCompile(`Signer #0:\s*\n\s*Subject: (.*)\n\s*Issuer : (.*)\n\s*Serial : ([0-9A-F]+)`)
	reCkBad = regexp.MustCompile(`Calculated PE checksum`)
)

func ossVerify(t *testing.T, ca *TestCA, img []byte) verdict {
	t.Helper()
	out, err := exec.Command("osslsigncode", "verify", "-CAfile", ca.RootPath, "-in", writeTemp(t, "v.exe", img)).CombinedOutput()
	s := string(out)
	v := verdict{ok: err == nil && strings.Contains(s, "\nSucceeded"), out: s, checksumOK: !reCkBad.MatchString(s)}
	if m := reCur.FindStringSubmatch(s); m != nil {
		v.current = m[1]
	}
	if m := reCalc.FindStringSubmatch(s); m != nil {
		v.calculated = m[1]
	}
	if m := reSubj.FindStringSubmatch(s); m != nil {
		v.subject, v.issuer, v.ser = m[1], m[2], m[3]
	}
	return v
}

func TestTestCAChainOpenSSL(t *testing.T) {
	need(t, "openssl")
	ca, xt, d3d := signers(t)
	for _, s := range []*Signer{xt, d3d} {
		out, err := exec.Command("openssl", "verify", "-CAfile", ca.RootPath, "-purpose", "any", s.CertPath).CombinedOutput()
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), ": OK") {
			t.Errorf("openssl verify %s: %v %s", s.CertPath, err, out)
		}
		// Deterministic validity, as the case requires.
		out, err = exec.Command("openssl", "x509", "-noout", "-startdate", "-enddate", "-ext", "extendedKeyUsage", "-in", s.CertPath).CombinedOutput()
		if err != nil {
			t.Fatal(err, string(out))
		}
		for _, want := range []string{"notBefore=Jun  1 00:00:00 2022 GMT", "notAfter=May 24 00:00:00 2052 GMT", "Code Signing"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: openssl x509 lacks %q:\n%s", s.CertPath, want, out)
			}
		}
	}
}

func TestSignVerifies(t *testing.T) {
	ca, xt, _ := signers(t)
	img, err := BuildPE(installerPE())
	if err != nil {
		t.Fatal(err)
	}
	// Unsigned: osslsigncode agrees with our checksum and finds no signature.
	if v := ossVerify(t, ca, img); v.ok || !v.checksumOK || !strings.Contains(v.out, "PE checksum") {
		t.Errorf("unsigned image: ok=%v checksumOK=%v\n%s", v.ok, v.checksumOK, v.out)
	}
	signed, err := Sign(img, xt, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	v := ossVerify(t, ca, signed)
	if !v.ok || v.current == "" || v.current != v.calculated || !v.checksumOK {
		t.Fatalf("osslsigncode verify: ok=%v digest %s/%s checksumOK=%v\n%s", v.ok, v.current, v.calculated, v.checksumOK, v.out)
	}
	if want := "/C=US/O=Trading Technologies International, Inc./CN=Trading Technologies International, Inc."; v.subject != want {
		t.Errorf("osslsigncode subject %q, want %q", v.subject, want)
	}
	if !strings.Contains(v.out, "Signing time: Feb 15 10:00:00 2023 GMT") {
		t.Errorf("signing time missing:\n%s", v.out)
	}
	if got := fmt.Sprintf("%X", xt.Cert.SerialNumber); got != v.ser {
		t.Errorf("serial: osslsigncode %s, cert %s", v.ser, got)
	}
	if s, _ := CertTableSlack(signed); len(s) != 0 {
		t.Errorf("normally signed file has %d slack bytes", len(s))
	}

	// go-pe reads the same signer and the same expected digest.
	f := goPE(t, signed)
	sig, err := pe.ParseAuthenticode(f)
	if err != nil {
		t.Fatalf("go-pe ParseAuthenticode: %v", err)
	}
	d := pe.PKCS7ToOrderedDict(sig)
	if got, _ := d.GetString("ExpectedHashHex"); !strings.EqualFold(got, v.current) {
		t.Errorf("go-pe ExpectedHashHex %s, osslsigncode %s", got, v.current)
	}
	signer, _ := d.Get("Signer")
	sd := fmt.Sprint(signer)
	for _, want := range []string{"Trading Technologies International, Inc.", "Foothold Test Root CA", fmt.Sprintf("%x", xt.Cert.SerialNumber), "2023-02-15T10:00:00Z"} {
		if !strings.Contains(sd, want) {
			t.Errorf("go-pe Signer lacks %q: %s", want, sd)
		}
	}
	if err := sig.Verify(); err != nil {
		t.Errorf("go-pe pkcs7 Verify: %v", err)
	}
	// The version resource survives signing.
	if got, _ := f.VersionInformation().GetString("OriginalFilename"); got != "X_TRADER_r7.17.90p608.exe" {
		t.Errorf("OriginalFilename after signing %q", got)
	}
}

// The d3dcompiler_47.dll case: signed, then bytes hidden in the certificate
// table. osslsigncode still accepts it (digest matches); the hidden bytes
// are found. Changing one signed byte instead breaks the digest.
func TestAppendInsideCertTable(t *testing.T) {
	ca, _, d3d := signers(t)
	img, err := BuildPE(dllPE())
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign(img, d3d, signedAt)
	if err != nil {
		t.Fatal(err)
	}
	extra := []byte("\xfe\xed\xfa\xce encrypted shellcode stand-in \x00\x01\x02")
	tampered, err := AppendInsideCertTable(signed, extra)
	if err != nil {
		t.Fatal(err)
	}
	if len(tampered)%8 != 0 || len(tampered) < len(signed)+len(extra) {
		t.Errorf("tampered length %d (signed %d, extra %d)", len(tampered), len(signed), len(extra))
	}
	v0 := ossVerify(t, ca, signed)
	v := ossVerify(t, ca, tampered)
	if !v.ok || v.current != v.calculated || v.current != v0.current || !v.checksumOK {
		t.Fatalf("tampered file: ok=%v digest %s/%s (original %s) checksumOK=%v\n%s", v.ok, v.current, v.calculated, v0.current, v.checksumOK, v.out)
	}
	slack, err := CertTableSlack(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(slack, extra) {
		t.Errorf("slack %q does not start with the hidden bytes", slack)
	}
	// go-pe still finds the signature (the PKCS#7 blob is self-delimiting).
	f := goPE(t, tampered)
	if _, err := pe.ParseAuthenticode(f); err != nil {
		t.Errorf("go-pe on tampered file: %v", err)
	}

	// go-pe's own hash (headers and sections only, D9) is right here because
	// nothing lies between the last section and the table.
	if !goPEHashMatches(t, signed) || !goPEHashMatches(t, tampered) {
		t.Error("go-pe HashMatches false on a valid signature")
	}

	// One changed byte in the signed range: digest mismatch.
	broken := append([]byte(nil), tampered...)
	broken[0x400] ^= 0xFF // first byte of .text
	vb := ossVerify(t, ca, broken)
	if vb.ok || vb.current == vb.calculated || vb.current != v.current {
		t.Errorf("one-byte change: ok=%v digest %s/%s\n%s", vb.ok, vb.current, vb.calculated, vb.out)
	}
	if goPEHashMatches(t, broken) {
		t.Error("go-pe HashMatches true after a one-byte change")
	}
	if !strings.Contains(vb.out, "MISMATCH") {
		t.Errorf("osslsigncode did not report a digest mismatch:\n%s", vb.out)
	}
}

func TestAppendInsideCertTableErrors(t *testing.T) {
	img, err := BuildPE(dllPE())
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"unsigned": img, "empty": nil, "not PE": []byte("hello world, not a PE file at all; long enough for a header.....")} {
		if _, err := AppendInsideCertTable(in, []byte("x")); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := CertTableSlack(in); err == nil {
			t.Errorf("%s: CertTableSlack no error", name)
		}
	}
}

func goPEHashMatches(t *testing.T, img []byte) bool {
	t.Helper()
	d, err := goPE(t, img).CalcHashToDict(context.Background())
	if err != nil {
		t.Fatalf("go-pe CalcHashToDict: %v", err)
	}
	m, _ := d.Get("HashMatches")
	return m == true
}
