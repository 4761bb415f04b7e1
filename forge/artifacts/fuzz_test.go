package artifacts

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzBuildPE: any version strings and import names either are rejected or
// give an image go-pe reads back with the same values.
func FuzzBuildPE(f *testing.F) {
	f.Add("Trading Technologies International, Inc.", "X_TRADER_r7.17.90p608.exe", "KERNEL32.dll", "CreateFileW", `D:\b\x.pdb`, true, uint32(1676367067))
	f.Add("", "", "a", "b", "", false, uint32(1))
	f.Add("Microsoft® Windows®", "d3dcompiler_47.dll", "USER32.dll", "MessageBoxW", "", true, uint32(0xFFFFFFFF))
	f.Fuzz(func(t *testing.T, company, orig, dll, fn, pdb string, dllFlag bool, stamp uint32) {
		for _, s := range []string{company, orig, dll, fn, pdb} {
			// Names in PE tables are NUL-terminated ANSI; version strings
			// are UTF-16 with a NUL: NULs and invalid UTF-8 cannot round-trip.
			if strings.ContainsRune(s, 0) || !utf8.ValidString(s) || len(s) > 2000 {
				return // not representable: nothing to check
			}
		}
		p := PE{DLL: dllFlag, Linked: time.Unix(int64(stamp), 0), PDBPath: pdb,
			Version: &VersionInfo{CompanyName: company, OriginalFilename: orig}}
		if dll != "" && fn != "" {
			p.Imports = []Import{{DLL: dll, Functions: []string{fn}}}
		}
		img, err := BuildPE(p)
		if err != nil {
			if stamp != 0 {
				t.Fatalf("rejected: %v", err)
			}
			return
		}
		if PEChecksum(img) != leUint32(img[checksumOff:]) {
			t.Fatal("checksum field stale")
		}
		pf := goPE(t, img)
		vi := pf.VersionInformation()
		for k, want := range map[string]string{"CompanyName": company, "OriginalFilename": orig} {
			got, _ := vi.GetString(k)
			if got != want {
				t.Errorf("%s %q, want %q", k, got, want)
			}
		}
		if pf.PDB != pdb {
			t.Errorf("PDB %q, want %q", pf.PDB, pdb)
		}
		if p.Imports != nil {
			if got := pf.Imports(); len(got) != 1 || got[0] != dll+"!"+fn {
				t.Errorf("imports %q", got)
			}
		}
		if _, err := CertTableSlack(img); err == nil {
			t.Error("unsigned image has a certificate table")
		}
	})
}

// FuzzCertTableSlack: arbitrary bytes never panic the certificate-table
// helpers.
func FuzzCertTableSlack(f *testing.F) {
	img, _ := BuildPE(dllPE())
	f.Add(img)
	signedLike := append([]byte(nil), img...)
	// Fake a 16-byte table at EOF holding a tiny DER SEQUENCE.
	off := len(signedLike)
	signedLike = append(signedLike, 16, 0, 0, 0, 0, 2, 2, 0, 0x30, 2, 5, 0, 'x', 'y', 0, 0)
	putLeUint32(signedLike[securityDirOff:], uint32(off))
	putLeUint32(signedLike[securityDirOff+4:], 16)
	f.Add(signedLike)
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		CertTableSlack(b)
		out, err := AppendInsideCertTable(b, []byte("extra"))
		if err == nil {
			s, err := CertTableSlack(out)
			if err != nil || !bytes.HasPrefix(s, []byte("extra")) {
				t.Fatalf("appended data not found: %q %v", s, err)
			}
		}
	})
}

// FuzzTaskXML: any field values give well-formed UTF-16 XML that parses
// back to the same command line.
func FuzzTaskXML(f *testing.F) {
	f.Add(`\Microsoft\Windows\UpdateOrchestrator\Backup Scan`, `C:\ProgramData\TPM\TpmVscMgrSvr.exe`, `/c "a & b" <x>`)
	f.Fuzz(func(t *testing.T, uri, cmd, args string) {
		for _, s := range []string{uri, cmd, args} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r < 0xE000) }) {
				return // not representable in XML 1.0 text
			}
		}
		s := decodeUTF16(t, TaskXML(Task{URI: uri, Command: cmd, Arguments: args, UserID: "S-1-5-18", Date: 1}))
		var x taskFile
		d := newTaskDecoder(s)
		if err := d.Decode(&x); err != nil {
			t.Fatalf("encoding/xml: %v\n%s", err, s)
		}
		if x.Reg.URI != uri || x.Actions.Command != cmd || x.Actions.Args != args {
			t.Fatalf("round trip: %q %q %q", x.Reg.URI, x.Actions.Command, x.Actions.Args)
		}
	})
}
