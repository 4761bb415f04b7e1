package pe

import (
	"bytes"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/Velocidex/pkcs7"

	"github.com/foothold/foothold/parsers/event"
)

// Signature status values (field signature_status).
const (
	StatusValid          = "valid"           // digest matches and the signer's signature verifies
	StatusDigestMismatch = "digest_mismatch" // the file changed after signing
	StatusUnsigned       = "unsigned"        // no embedded signature (may be catalog-signed)
	StatusInvalid        = "invalid"         // the signature cannot be parsed or does not verify
)

// maxCertTable bounds the certificate table read into memory.
const maxCertTable = 16 << 20

// Signature is the embedded Authenticode signature.
type Signature struct {
	Subject, Issuer, Serial string // signer certificate; serial in lower-case hex
	ProgramName             string // SpcSpOpusInfo, when present
	SigningTime             event.FileTime
	TimestampTime           event.FileTime // countersignature or RFC 3161 timestamp
	DigestAlgorithm         string         // SHA1, SHA256, ...
	SignedDigest            string         // the digest in the signature, hex
	Certificates            int
	ChainComplete           bool // signer chains to a self-signed root inside the signature
	VerifyError             string
}

var (
	oidSpcIndirectData = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcOpusInfo     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 12}
	oidSigningTime     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidCounterSig      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 6}
	oidRFC3161         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 3, 3, 1}
)

var digestAlgs = []struct {
	oid  asn1.ObjectIdentifier
	name string
	hash crypto.Hash
}{
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, "SHA1", crypto.SHA1},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, "SHA256", crypto.SHA256},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, "SHA384", crypto.SHA384},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, "SHA512", crypto.SHA512},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}, "MD5", crypto.MD5},
}

func newHash(h crypto.Hash) hash.Hash {
	switch h {
	case crypto.SHA1:
		return sha1.New()
	case crypto.SHA256:
		return sha256.New()
	case crypto.SHA384:
		return sha512.New384()
	case crypto.SHA512:
		return sha512.New()
	case crypto.MD5:
		return md5.New()
	}
	return nil
}

// hashRanges feeds the ranges of r to the hashes.
func hashRanges(ctx context.Context, r io.ReaderAt, ranges [][2]int64, hs ...hash.Hash) error {
	w := make([]io.Writer, len(hs))
	for i, h := range hs {
		w[i] = h
	}
	mw := io.MultiWriter(w...)
	buf := make([]byte, 256<<10)
	for _, rg := range ranges {
		for off := rg[0]; off < rg[1]; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := int64(len(buf))
			if rg[1]-off < n {
				n = rg[1] - off
			}
			got, err := r.ReadAt(buf[:n], off)
			if int64(got) < n {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("read %d bytes at %#x: %w", n, off, err)
			}
			mw.Write(buf[:n])
			off += n
		}
	}
	return nil
}

// certBlob reads the certificate table and returns the DER PKCS#7 blob of
// its first WIN_CERTIFICATE and the number of bytes that follow the blob
// inside the table. Up to 7 zero bytes of alignment padding are normal;
// anything more is the CVE-2013-3900 pattern.
func certBlob(r io.ReaderAt, l *layout, size int64) (der []byte, trailing int64, anomalous bool, err error) {
	if l.certOff+l.certSize > size || l.certSize < 8 {
		return nil, 0, false, fmt.Errorf("certificate table %#x+%#x outside the %d-byte file", l.certOff, l.certSize, size)
	}
	if l.certSize > maxCertTable {
		return nil, 0, false, fmt.Errorf("certificate table of %d bytes exceeds %d", l.certSize, maxCertTable)
	}
	tbl := make([]byte, l.certSize)
	if err := readFull(r, tbl, l.certOff, size); err != nil {
		return nil, 0, false, fmt.Errorf("certificate table: %w", err)
	}
	dwLength := int64(binary.LittleEndian.Uint32(tbl))
	typ := binary.LittleEndian.Uint16(tbl[6:])
	if dwLength < 8 || dwLength > l.certSize {
		return nil, 0, false, fmt.Errorf("WIN_CERTIFICATE at %#x: length %d outside table of %d bytes", l.certOff, dwLength, l.certSize)
	}
	if typ != 2 {
		return nil, 0, false, fmt.Errorf("WIN_CERTIFICATE at %#x: type %d is not PKCS#7 signed data", l.certOff, typ)
	}
	n, err := derLen(tbl[8:dwLength])
	if err != nil {
		return nil, 0, false, fmt.Errorf("PKCS#7 at %#x: %w", l.certOff+8, err)
	}
	rest := tbl[8+n:]
	anomalous = len(rest) >= 8 || len(bytes.Trim(rest, "\x00")) != 0
	return tbl[8 : 8+n], int64(len(rest)), anomalous, nil
}

// derLen returns the length of the DER element at the start of b.
func derLen(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errors.New("DER: truncated")
	}
	l, hdr := int(b[1]), 2
	if l&0x80 != 0 {
		k := l & 0x7F
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, errors.New("DER: bad length")
		}
		l = 0
		for _, c := range b[2 : 2+k] {
			l = l<<8 | int(c)
		}
		hdr += k
	}
	if l < 0 || hdr+l > len(b) {
		return 0, fmt.Errorf("DER: element of %d bytes exceeds %d", hdr+l, len(b))
	}
	return hdr + l, nil
}

// parseSignature decodes the PKCS#7 blob: signer, signed digest, times,
// signer signature verification and chain completeness.
func parseSignature(der []byte) (sig *Signature, alg crypto.Hash, want []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			sig, err = nil, fmt.Errorf("PKCS#7: panic: %v", p)
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("PKCS#7: %w", err)
	}
	if !p7.SignedData.ContentInfo.ContentType.Equal(oidSpcIndirectData) {
		return nil, 0, nil, fmt.Errorf("PKCS#7 content type %v is not SpcIndirectDataContent", p7.SignedData.ContentInfo.ContentType)
	}
	// p7.Content holds the body of SpcIndirectDataContent: the data
	// attribute, then DigestInfo.
	var data asn1.RawValue
	rest, err := asn1.Unmarshal(p7.Content, &data)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("SpcIndirectDataContent: %w", err)
	}
	var di struct {
		Alg    pkix.AlgorithmIdentifier
		Digest []byte
	}
	if _, err := asn1.Unmarshal(rest, &di); err != nil {
		return nil, 0, nil, fmt.Errorf("SpcIndirectDataContent digest: %w", err)
	}
	sig = &Signature{Certificates: len(p7.Certificates), SignedDigest: hex.EncodeToString(di.Digest)}
	for _, a := range digestAlgs {
		if a.oid.Equal(di.Alg.Algorithm) {
			sig.DigestAlgorithm, alg = a.name, a.hash
		}
	}
	if alg == 0 {
		return sig, 0, nil, fmt.Errorf("digest algorithm %v not supported", di.Alg.Algorithm)
	}
	if len(p7.Signers) == 0 {
		return sig, alg, di.Digest, errors.New("PKCS#7 has no signer")
	}
	si := p7.Signers[0]
	cert := p7.GetOnlySigner()
	if cert != nil {
		sig.Subject = dnString(cert.Subject)
		sig.Issuer = dnString(cert.Issuer)
		sig.ChainComplete = chainComplete(cert, p7.Certificates)
	} else {
		var issuer pkix.RDNSequence
		if _, err := asn1.Unmarshal(si.IssuerAndSerialNumber.IssuerName.FullBytes, &issuer); err == nil {
			var n pkix.Name
			n.FillFromRDNSequence(&issuer)
			sig.Issuer = dnString(n)
		}
	}
	if s := si.IssuerAndSerialNumber.SerialNumber; s != nil {
		sig.Serial = s.Text(16)
	}
	for _, a := range si.AuthenticatedAttributes {
		switch {
		case a.Type.Equal(oidSigningTime):
			sig.SigningTime = attrTime(a.Value.Bytes)
		case a.Type.Equal(oidSpcOpusInfo):
			sig.ProgramName = opusProgramName(a.Value.Bytes)
		}
	}
	for _, a := range si.UnauthenticatedAttributes {
		switch {
		case a.Type.Equal(oidCounterSig):
			var cs pkcs7.SignerInfo
			if _, err := asn1.Unmarshal(a.Value.Bytes, &cs); err == nil {
				for _, ca := range cs.AuthenticatedAttributes {
					if ca.Type.Equal(oidSigningTime) {
						sig.TimestampTime = attrTime(ca.Value.Bytes)
					}
				}
			}
		case a.Type.Equal(oidRFC3161):
			// Not pkcs7.Parse: it rejects the TSA certificates Go's x509
			// finds malformed (Microsoft's, in acpiex.sys), and only the
			// encapsulated TSTInfo is needed.
			if tst := rfc3161TSTInfo(a.Value.Bytes); tst != nil {
				sig.TimestampTime = tstGenTime(tst)
			}
		}
	}
	if err := p7.Verify(); err != nil {
		sig.VerifyError = err.Error()
	}
	return sig, alg, di.Digest, nil
}

// attrTime decodes an attribute value holding a UTCTime or
// GeneralizedTime.
func attrTime(b []byte) event.FileTime {
	var t time.Time
	if _, err := asn1.Unmarshal(b, &t); err != nil {
		return 0
	}
	return event.FromTime(t)
}

// rfc3161TSTInfo digs the TSTInfo out of a timestamp token:
// ContentInfo { OID, [0] SignedData { version, digestAlgorithms,
// encapContentInfo { OID, [0] OCTET STRING TSTInfo } ... } }.
func rfc3161TSTInfo(b []byte) []byte {
	var ci, sd, inner, eci, oct asn1.RawValue
	if _, err := asn1.Unmarshal(b, &ci); err != nil || !ci.IsCompound {
		return nil
	}
	rest, err := asn1.Unmarshal(ci.Bytes, new(asn1.ObjectIdentifier))
	if err != nil {
		return nil
	}
	if _, err := asn1.Unmarshal(rest, &sd); err != nil || sd.Class != asn1.ClassContextSpecific {
		return nil
	}
	if _, err := asn1.Unmarshal(sd.Bytes, &inner); err != nil || !inner.IsCompound {
		return nil
	}
	body := inner.Bytes
	for i := 0; i < 3; i++ { // version, digestAlgorithms, encapContentInfo
		rest, err := asn1.Unmarshal(body, &eci)
		if err != nil {
			return nil
		}
		body = rest
	}
	rest, err = asn1.Unmarshal(eci.Bytes, new(asn1.ObjectIdentifier))
	if err != nil {
		return nil
	}
	var explicit asn1.RawValue
	if _, err := asn1.Unmarshal(rest, &explicit); err != nil || explicit.Class != asn1.ClassContextSpecific {
		return nil
	}
	if _, err := asn1.Unmarshal(explicit.Bytes, &oct); err != nil || oct.Tag != asn1.TagOctetString {
		return nil
	}
	return oct.Bytes
}

// tstGenTime reads genTime from an RFC 3161 TSTInfo (the body without its
// SEQUENCE header, as pkcs7 returns it). encoding/asn1 rejects
// fractional seconds, which timestamp authorities do write, so the
// GeneralizedTime is decoded here, keeping 100 ns precision.
func tstGenTime(body []byte) event.FileTime {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(body, &seq); err == nil && seq.Tag == asn1.TagSequence && seq.IsCompound {
		body = seq.Bytes // some encoders keep the SEQUENCE header
	}
	for i := 0; i < 6 && len(body) > 0; i++ {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(body, &v)
		if err != nil {
			return 0
		}
		if v.Class == asn1.ClassUniversal && v.Tag == asn1.TagGeneralizedTime {
			return parseGeneralized(string(v.Bytes))
		}
		body = rest
	}
	return 0
}

func parseGeneralized(s string) event.FileTime {
	if !strings.HasSuffix(s, "Z") || len(s) < 15 {
		return 0
	}
	t, err := time.Parse("20060102150405", s[:14])
	if err != nil {
		return 0
	}
	ft := event.FromTime(t)
	frac := strings.TrimSuffix(s[14:], "Z")
	if strings.HasPrefix(frac, ".") {
		digits := (frac[1:] + "0000000")[:7]
		var n uint64
		for _, c := range digits {
			if c < '0' || c > '9' {
				return ft
			}
			n = n*10 + uint64(c-'0')
		}
		ft += event.FileTime(n)
	}
	return ft
}

// opusProgramName reads SpcSpOpusInfo.programName (a SpcString: [0] BMP
// string or [1] IA5 string).
func opusProgramName(b []byte) string {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(b, &seq); err != nil || !seq.IsCompound {
		return ""
	}
	var name asn1.RawValue
	if _, err := asn1.Unmarshal(seq.Bytes, &name); err != nil || name.Class != asn1.ClassContextSpecific || name.Tag != 0 {
		return ""
	}
	var s asn1.RawValue
	if _, err := asn1.Unmarshal(name.Bytes, &s); err != nil {
		return ""
	}
	switch s.Tag {
	case 0: // unicode: BMPString bytes
		u := make([]rune, 0, len(s.Bytes)/2)
		for i := 0; i+1 < len(s.Bytes); i += 2 {
			u = append(u, rune(binary.BigEndian.Uint16(s.Bytes[i:])))
		}
		return string(u)
	case 1:
		return string(s.Bytes)
	}
	return ""
}

// chainComplete follows issuers through the certificates inside the
// signature up to a self-signed root. No trust store is consulted.
func chainComplete(cert *x509.Certificate, pool []*x509.Certificate) bool {
	cur := cert
	for depth := 0; depth < 10; depth++ {
		if bytes.Equal(cur.RawIssuer, cur.RawSubject) && cur.CheckSignatureFrom(cur) == nil {
			return true
		}
		var next *x509.Certificate
		for _, c := range pool {
			if bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil || next == cur {
			return false
		}
		cur = next
	}
	return false
}

var dnShort = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.5": "serialNumber", "1.2.840.113549.1.9.1": "emailAddress",
	"2.5.4.9": "street", "2.5.4.17": "postalCode", "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC",
	"2.5.4.15": "businessCategory",
}

// dnString renders a name in stored order as "C=US, O=..., CN=...", the
// order osslsigncode and OpenSSL print.
func dnString(n pkix.Name) string {
	parts := make([]string, 0, len(n.Names))
	for _, a := range n.Names {
		k, ok := dnShort[a.Type.String()]
		if !ok {
			k = a.Type.String()
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, a.Value))
	}
	return strings.Join(parts, ", ")
}
