package artifacts

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// TestCA is a throw-away code-signing PKI for one forged case: a root CA
// and the signing certificates it issues. Keys are fresh for every run
// (nothing secret is ever committed); names, serial numbers and validity
// dates are deterministic so that two runs describe the same PKI.
//
// Certificates are made with crypto/x509 rather than the openssl CLI
// because OpenSSL 3.0's req/x509 commands cannot set an arbitrary
// notBefore, and the case needs validity windows around 2023, not around
// the day the forge runs. The tests check the chain with `openssl verify`.
type TestCA struct {
	Dir      string // holds root.pem and one <name>.pem/<name>.key per signer
	RootPath string // PEM of the root certificate: pass to osslsigncode -CAfile
	Root     *x509.Certificate

	rootKey   *rsa.PrivateKey
	notBefore time.Time
}

// Signer is a code-signing certificate and its key on disk.
type Signer struct {
	Cert              *x509.Certificate
	CertPath, KeyPath string
	ca                *TestCA
}

// Validity of every certificate the test CA makes. Long enough that
// verification "now" (the day the tests run, years after the case) still
// succeeds: osslsigncode checks unsigned-timestamp signatures against the
// current time.
const testCAValidity = 30 * 365 * 24 * time.Hour

// NewTestCA creates the root CA in dir (created if missing).
func NewTestCA(dir string, notBefore time.Time) (*TestCA, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("test CA %s: %w", dir, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("test CA root key: %w", err)
	}
	nb := notBefore.UTC().Truncate(time.Second)
	name := pkix.Name{Country: []string{"US"}, Organization: []string{"Foothold Test PKI"}, CommonName: "Foothold Test Root CA"}
	tmpl := &x509.Certificate{
		SerialNumber:          serialFor(name.CommonName),
		Subject:               name,
		NotBefore:             nb,
		NotAfter:              nb.Add(testCAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("test CA root certificate: %w", err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("test CA root certificate: %w", err)
	}
	ca := &TestCA{Dir: dir, RootPath: filepath.Join(dir, "root.pem"), Root: root, rootKey: key, notBefore: nb}
	if err := writePEM(ca.RootPath, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	return ca, nil
}

// Issue makes a code-signing certificate for subject. file names the
// .pem/.key pair inside the CA directory.
func (ca *TestCA) Issue(file string, subject pkix.Name) (*Signer, error) {
	if file == "" || strings.ContainsAny(file, `/\`) {
		return nil, fmt.Errorf("test CA: bad signer file name %q", file)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("test CA signer %s key: %w", file, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serialFor(subject.String()),
		Subject:      subject,
		NotBefore:    ca.notBefore,
		NotAfter:     ca.notBefore.Add(testCAValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Root, &key.PublicKey, ca.rootKey)
	if err != nil {
		return nil, fmt.Errorf("test CA signer %s certificate: %w", file, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("test CA signer %s certificate: %w", file, err)
	}
	s := &Signer{Cert: cert, CertPath: filepath.Join(ca.Dir, file+".pem"), KeyPath: filepath.Join(ca.Dir, file+".key"), ca: ca}
	if err := writePEM(s.CertPath, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if err := writePEM(s.KeyPath, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)); err != nil {
		return nil, err
	}
	return s, nil
}

// serialFor derives a positive 64-bit serial number from a name, so the
// serial a reader reports is the same on every run.
func serialFor(name string) *big.Int {
	h := sha256.Sum256([]byte(name))
	h[0] &= 0x7F
	return new(big.Int).SetBytes(h[:8])
}

func writePEM(path, typ string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("test CA: %w", err)
	}
	return nil
}

// Sign adds an Authenticode signature (SHA-256, no timestamp countersignature:
// there is no TSA offline) with osslsigncode. at becomes the signingTime
// attribute. Working files live in a temporary directory inside the CA
// directory and are removed afterwards.
func Sign(img []byte, s *Signer, at time.Time) ([]byte, error) {
	if s == nil || s.ca == nil {
		return nil, errors.New("sign: no signer")
	}
	bin, err := exec.LookPath("osslsigncode")
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	tmp, err := os.MkdirTemp(s.ca.Dir, "sign-")
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	defer os.RemoveAll(tmp)
	in, out := filepath.Join(tmp, "in.bin"), filepath.Join(tmp, "out.bin")
	if err := os.WriteFile(in, img, 0o600); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	cmd := exec.Command(bin, "sign", "-certs", s.CertPath, "-key", s.KeyPath, "-h", "sha256",
		"-time", strconv.FormatInt(at.Unix(), 10), "-in", in, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sign: osslsigncode: %w: %s", err, bytes.TrimSpace(msg))
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return signed, nil
}

// certTable locates the attribute certificate table: the file offset of
// the security data directory entry, and the table's offset and size.
func certTable(img []byte) (dirOff int, off, size uint32, err error) {
	if len(img) < 0x40 || img[0] != 'M' || img[1] != 'Z' {
		return 0, 0, 0, errors.New("not a PE image")
	}
	pe := int(binary.LittleEndian.Uint32(img[0x3c:]))
	if pe < 0 || pe+24+2 > len(img) || string(img[pe:pe+4]) != "PE\x00\x00" {
		return 0, 0, 0, errors.New("no PE header")
	}
	opt := pe + 24
	var dd int
	switch binary.LittleEndian.Uint16(img[opt:]) {
	case 0x20b:
		dd = opt + 112
	case 0x10b:
		dd = opt + 96
	default:
		return 0, 0, 0, errors.New("unknown optional header magic")
	}
	dirOff = dd + 4*8
	if dirOff+8 > len(img) {
		return 0, 0, 0, errors.New("data directories beyond file")
	}
	off = binary.LittleEndian.Uint32(img[dirOff:])
	size = binary.LittleEndian.Uint32(img[dirOff+4:])
	return dirOff, off, size, nil
}

// AppendInsideCertTable hides extra after the PKCS#7 blob inside the
// (single) WIN_CERTIFICATE: dwLength and the security directory size grow
// to cover it, padded to 8 bytes as the table requires. The certificate
// table is excluded from the Authenticode digest, so the signature still
// verifies: the CVE-2013-3900 pattern (MS13-098 made the check opt-in).
// The checksum is recomputed, as a tool producing such a file would.
func AppendInsideCertTable(signed, extra []byte) ([]byte, error) {
	dirOff, off, size, err := certTable(signed)
	if err != nil {
		return nil, fmt.Errorf("append in cert table: %w", err)
	}
	if off == 0 || size < 8 || uint64(off)+8 > uint64(len(signed)) {
		return nil, errors.New("append in cert table: file is not signed")
	}
	if uint64(off)+uint64(size) != uint64(len(signed)) {
		return nil, fmt.Errorf("append in cert table: table at %#x+%#x does not end the %d-byte file", off, size, len(signed))
	}
	dwLength := binary.LittleEndian.Uint32(signed[off:])
	if dwLength < 8 || alignUp(dwLength, 8) != size {
		return nil, fmt.Errorf("append in cert table: more than one WIN_CERTIFICATE (dwLength %d, table %d)", dwLength, size)
	}
	// The extra bytes go right after the DER blob, replacing the signing
	// tool's zero padding, then the table is padded again.
	n, err := derLength(signed[off+8 : off+dwLength])
	if err != nil {
		return nil, fmt.Errorf("append in cert table: PKCS#7 blob: %w", err)
	}
	out := append(append([]byte(nil), signed[:int(off)+8+n]...), extra...)
	for (len(out)-int(off))%8 != 0 {
		out = append(out, 0)
	}
	newSize := uint32(len(out)) - off
	binary.LittleEndian.PutUint32(out[off:], newSize)
	binary.LittleEndian.PutUint32(out[dirOff+4:], newSize)
	binary.LittleEndian.PutUint32(out[checksumFieldOff(out):], 0)
	binary.LittleEndian.PutUint32(out[checksumFieldOff(out):], PEChecksum(out))
	return out, nil
}

func checksumFieldOff(img []byte) int {
	return int(binary.LittleEndian.Uint32(img[0x3c:])) + 24 + 64
}

// CertTableSlack returns the bytes inside the first WIN_CERTIFICATE that
// follow the DER-encoded PKCS#7 blob, with trailing zero padding (at most
// 7 bytes, to the 8-byte boundary) removed. A file signed normally returns
// nothing; a file with data smuggled into the table returns that data.
func CertTableSlack(img []byte) ([]byte, error) {
	_, off, size, err := certTable(img)
	if err != nil {
		return nil, err
	}
	if off == 0 || size < 8 || uint64(off)+uint64(size) > uint64(len(img)) {
		return nil, errors.New("cert table: absent or beyond file")
	}
	dwLength := binary.LittleEndian.Uint32(img[off:])
	if dwLength < 8 || dwLength > size {
		return nil, fmt.Errorf("cert table: dwLength %d outside table of %d bytes", dwLength, size)
	}
	blob := img[off+8 : off+dwLength]
	n, err := derLength(blob)
	if err != nil {
		return nil, fmt.Errorf("cert table: %w", err)
	}
	rest := blob[n:]
	if len(rest) < 8 && len(bytes.Trim(rest, "\x00")) == 0 {
		return nil, nil
	}
	return rest, nil
}

// derLength returns the encoded length of the DER element at the start of
// b (tag, length, contents).
func derLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errors.New("DER: truncated")
	}
	l := int(b[1])
	hdr := 2
	if l&0x80 != 0 {
		n := l & 0x7F
		if n == 0 || n > 4 || len(b) < 2+n {
			return 0, errors.New("DER: bad length")
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if hdr+l > len(b) {
		return 0, fmt.Errorf("DER: element of %d bytes exceeds %d", hdr+l, len(b))
	}
	return hdr + l, nil
}
