package pe

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"
)

// TestCorpusOsslsigncode: on every corpus PE, our Authenticode digest is
// osslsigncode's "Calculated message digest", the signed digest its
// "Current message digest", and the signer and timestamp are the ones it
// prints. saferwall/pe's Authentihash is a second oracle for the digest.
func TestCorpusOsslsigncode(t *testing.T) {
	need(t, "osslsigncode")
	signed := 0
	for _, p := range peCorpus(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		if !IsPE(b) {
			// ntexe.cat is a catalog (PKCS#7), not an image.
			if _, err := Inspect(bytesReader(b), int64(len(b))); !errors.Is(err, errNotPE) {
				t.Errorf("%s: not a PE, Inspect error %v", name, err)
			}
			continue
		}
		info := inspectBytes(t, b)
		v := ossVerify(t, p, "")
		if name == "dmdskres.dll" {
			// Exception: go-pe's forwarder fixture. Its security directory
			// (0x11e00+0x24e0) points at section .rdata2, an export
			// directory, not a WIN_CERTIFICATE. osslsigncode says "No
			// signature found"; we say invalid (dwLength 0). Nothing is
			// signed, so neither digest convention applies: saferwall cuts
			// the claimed table out of the middle of the file, we hash the
			// sections; neither can be checked against a signature.
			if !v.unsigned || info.SignatureStatus != StatusInvalid || info.Signature != nil {
				t.Errorf("%s: osslsigncode unsigned=%v, we say %s (%s)", name, v.unsigned, info.SignatureStatus, info.SignatureError)
			}
			continue
		}
		if got := saferwallAuthentihash(t, b); got != info.Authentihash {
			t.Errorf("%s: authentihash %s, saferwall %s", name, info.Authentihash, got)
		}
		if v.unsigned {
			if info.SignatureStatus != StatusUnsigned || info.Signature != nil {
				t.Errorf("%s: osslsigncode finds no signature, we say %s", name, info.SignatureStatus)
			}
			continue
		}
		signed++
		if info.SignatureStatus != StatusValid {
			t.Errorf("%s: status %s (%s), want valid", name, info.SignatureStatus, info.SignatureError)
		}
		s := info.Signature
		if !strings.EqualFold(info.Digest, v.calculated) || !strings.EqualFold(s.SignedDigest, v.current) || s.DigestAlgorithm != v.alg {
			t.Errorf("%s: digest %s/%s %s; osslsigncode calculated %s current %s %s", name, info.Digest, s.SignedDigest, s.DigestAlgorithm, v.calculated, v.current, v.alg)
		}
		if slashDN(s.Subject) != v.subject || slashDN(s.Issuer) != v.issuer || !strings.EqualFold(s.Serial, strings.TrimLeft(v.serial, "0")) {
			t.Errorf("%s: signer %q / %q / %s; osslsigncode %q / %q / %s", name, s.Subject, s.Issuer, s.Serial, v.subject, v.issuer, v.serial)
		}
		if v.tsTime != "" {
			want, err := time.Parse("Jan _2 15:04:05 2006 MST", v.tsTime)
			if err != nil {
				t.Fatalf("%s: osslsigncode timestamp %q: %v", name, v.tsTime, err)
			}
			// osslsigncode prints whole seconds.
			if got := s.TimestampTime.Time().Truncate(time.Second); !got.Equal(want) {
				t.Errorf("%s: timestamp %s, osslsigncode %s", name, s.TimestampTime, v.tsTime)
			}
		} else if s.TimestampTime != 0 {
			t.Errorf("%s: timestamp %s, osslsigncode has none", name, s.TimestampTime)
		}
		if info.SignatureAnomaly != "" {
			t.Errorf("%s: anomaly %q on a genuine file", name, info.SignatureAnomaly)
		}
	}
	if signed == 0 {
		t.Error("no signed corpus file checked")
	}
}

func bytesReader(b []byte) *strings.Reader { return strings.NewReader(string(b)) }

// TestCorpusHashes: whole-file hashes equal sha256sum/sha1sum/md5sum.
func TestCorpusHashes(t *testing.T) {
	for _, tool := range []string{"sha256sum", "sha1sum", "md5sum"} {
		need(t, tool)
	}
	for _, p := range peCorpus(t) {
		b, _ := os.ReadFile(p)
		if !IsPE(b) {
			continue
		}
		info := inspectBytes(t, b)
		for tool, got := range map[string]string{"sha256sum": info.SHA256, "sha1sum": info.SHA1, "md5sum": info.MD5} {
			out, err := exec.Command(tool, p).Output()
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Fields(string(out))[0]; got != want {
				t.Errorf("%s: %s %s, ours %s", filepath.Base(p), tool, want, got)
			}
		}
		// Our own hashing path agrees with the standard library too.
		if fmt.Sprintf("%x", sha256.Sum256(b)) != info.SHA256 || fmt.Sprintf("%x", sha1.Sum(b)) != info.SHA1 || fmt.Sprintf("%x", md5.Sum(b)) != info.MD5 {
			t.Errorf("%s: hashes disagree with crypto", filepath.Base(p))
		}
	}
}

var (
	reObjArch  = regexp.MustCompile(`(?m)^architecture: (\S+),`)
	reObjChars = regexp.MustCompile(`(?m)^Characteristics 0x([0-9a-f]+)`)
	reObjTime  = regexp.MustCompile(`(?m)^Time/Date\s+(.*)$`)
	reObjMagic = regexp.MustCompile(`(?m)^Magic\s+([0-9a-f]+)`)
	reObjSub   = regexp.MustCompile(`(?m)^Subsystem\s+([0-9a-f]+)`)
	reObjRSDS  = regexp.MustCompile(`\(format RSDS signature ([0-9a-f]{32}) age (\d+) pdb (.*)\)`)
)

// TestCorpusObjdump: machine, DLL flag, TimeDateStamp (and the
// reproducible-build flag), PE32+, subsystem and the RSDS record equal
// `objdump -x`.
func TestCorpusObjdump(t *testing.T) {
	need(t, "objdump")
	for _, p := range peCorpus(t) {
		b, _ := os.ReadFile(p)
		if !IsPE(b) {
			continue
		}
		info := inspectBytes(t, b)
		checkObjdump(t, p, info)
	}
}

func checkObjdump(t *testing.T, path string, info *Info) {
	t.Helper()
	name := filepath.Base(path)
	cmd := exec.Command("objdump", "-x", path)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("objdump %s: %v", name, err)
	}
	s := string(out)
	m := func(re *regexp.Regexp) []string {
		r := re.FindStringSubmatch(s)
		if r == nil {
			t.Fatalf("%s: objdump output lacks %v", name, re)
		}
		return r
	}
	arch := map[string]string{"i386:x86-64": "AMD64", "i386": "I386", "aarch64": "ARM64"}[m(reObjArch)[1]]
	if arch != info.Machine {
		t.Errorf("%s: machine %s, objdump %s", name, info.Machine, m(reObjArch)[1])
	}
	chars, _ := strconv.ParseUint(m(reObjChars)[1], 16, 16)
	if (chars&0x2000 != 0) != info.DLL {
		t.Errorf("%s: DLL %v, objdump characteristics %#x", name, info.DLL, chars)
	}
	// Time/Date is either "<hex> (This is a reproducible build file
	// hash, not a timestamp)" or a ctime-style date (in TZ, set to UTC).
	tm := strings.TrimSpace(m(reObjTime)[1])
	if strings.Contains(tm, "reproducible build") {
		stamp, _ := strconv.ParseUint(strings.Fields(tm)[0], 16, 32)
		if !info.Reproducible || info.Compiled != 0 || uint32(stamp) != info.TimeDateStamp {
			t.Errorf("%s: reproducible %v compiled %s stamp %#x; objdump %q", name, info.Reproducible, info.Compiled, info.TimeDateStamp, tm)
		}
	} else {
		want, err := time.Parse("Mon Jan _2 15:04:05 2006", tm)
		if err != nil {
			t.Fatalf("%s: objdump Time/Date %q: %v", name, tm, err)
		}
		if info.Reproducible || !info.Compiled.Time().Equal(want) || int64(info.TimeDateStamp) != want.Unix() {
			t.Errorf("%s: compiled %s (stamp %#x), objdump %s", name, info.Compiled, info.TimeDateStamp, tm)
		}
	}
	if (m(reObjMagic)[1] == "020b") != info.PE32Plus {
		t.Errorf("%s: PE32+ %v, objdump magic %s", name, info.PE32Plus, m(reObjMagic)[1])
	}
	sub, _ := strconv.ParseUint(m(reObjSub)[1], 16, 16)
	if uint16(sub) != info.SubsystemCode {
		t.Errorf("%s: subsystem %d, objdump %d", name, info.SubsystemCode, sub)
	}
	if r := reObjRSDS.FindStringSubmatch(s); r != nil {
		// objdump prints the GUID in its textual order.
		g := strings.ToUpper(r[1])
		guid := "{" + g[:8] + "-" + g[8:12] + "-" + g[12:16] + "-" + g[16:20] + "-" + g[20:] + "}"
		age, _ := strconv.ParseUint(r[2], 10, 32)
		if info.PDBPath != r[3] || info.PDBGUID != guid || uint64(info.PDBAge) != age {
			t.Errorf("%s: PDB %q %s %d; objdump %q %s %d", name, info.PDBPath, info.PDBGUID, info.PDBAge, r[3], guid, age)
		}
	} else if info.PDBPath != "" || info.PDBGUID != "" {
		t.Errorf("%s: PDB %q %s, objdump shows no RSDS record", name, info.PDBPath, info.PDBGUID)
	}
}

// TestCorpusGroundTruth: imphash and version values listed in
// GROUND_TRUTH_POINTERS.md (go-pe's tests, which match pefile).
func TestCorpusGroundTruth(t *testing.T) {
	dir := filepath.Join(testimg.Corpus(t), "pe", "go-pe")
	cases := []struct {
		file, imphash, original, version, company string
	}{
		{"notepad.exe", "337b720a2e3c4b164326be6e85584b2d", "NOTEPAD.EXE", "10.0.19041.1320 (WinBuild.160101.0800)", "Microsoft Corporation"},
		{"dmdskres.dll", "2c66cd20f0ece47502db44e1e16cee7b", "", "", ""},
	}
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		info := inspectBytes(t, b)
		if info.ImpHash != c.imphash {
			t.Errorf("%s: imphash %s, want %s", c.file, info.ImpHash, c.imphash)
		}
		if c.original != "" && (info.Version.OriginalFilename != c.original || info.Version.FileVersion != c.version || info.Version.CompanyName != c.company) {
			t.Errorf("%s: version %+v", c.file, info.Version)
		}
	}
}
