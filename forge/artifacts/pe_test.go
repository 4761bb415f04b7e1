package artifacts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
	pe "www.velocidex.com/golang/go-pe"
)

var linked = time.Date(2023, 2, 14, 9, 31, 7, 0, time.UTC)

func installerPE() PE {
	return PE{
		Linked: linked,
		Version: &VersionInfo{
			CompanyName:      "Trading Technologies International, Inc.",
			FileDescription:  "X_TRADER Installer",
			FileVersion:      "7.17.90.608",
			InternalName:     "X_TRADER_setup",
			LegalCopyright:   "Copyright (C) 2022",
			OriginalFilename: "X_TRADER_r7.17.90p608.exe",
			ProductName:      "X_TRADER",
			ProductVersion:   "7.17.90",
			FileVer:          [4]uint16{7, 17, 90, 608},
			ProdVer:          [4]uint16{7, 17, 90, 0},
		},
		PDBPath: `D:\build\xt\Release\x64\Setup.pdb`,
		PDBGUID: [16]byte{0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 1, 2, 3, 4, 5, 6, 7, 8},
		PDBAge:  3,
		Imports: []Import{
			{DLL: "KERNEL32.dll", Functions: []string{"CreateFileW", "WriteFile", "CloseHandle", "CreateProcessW"}},
			{DLL: "ADVAPI32.dll", Functions: []string{"RegSetValueExW"}},
		},
		Data: bytes.Repeat([]byte("payload "), 1000),
	}
}

func dllPE() PE {
	return PE{
		DLL:    true,
		Linked: time.Date(2022, 11, 2, 17, 3, 55, 0, time.UTC),
		Version: &VersionInfo{
			CompanyName: "Microsoft Corporation", FileDescription: "Direct3D HLSL Compiler",
			FileVersion: "10.0.19041.1 (WinBuild.160101.0800)", OriginalFilename: "D3DCOMPILER_47.DLL",
			ProductName: "Microsoft® Windows® Operating System", ProductVersion: "10.0.19041.1",
			FileVer: [4]uint16{10, 0, 19041, 1}, ProdVer: [4]uint16{10, 0, 19041, 1},
		},
		Imports: []Import{{DLL: "KERNEL32.dll", Functions: []string{"GetProcAddress"}}},
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skip(tool + " not installed")
	}
}

// objdump (binutils) is an independent PE reader.
func TestBuildPEObjdump(t *testing.T) {
	need(t, "objdump")
	img, err := BuildPE(installerPE())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("objdump", "-x", writeTemp(t, "a.exe", img)).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{
		"file format pei-x86-64",
		"Time/Date\t\tTue Feb 14 09:31:07 2023",
		"Magic\t\t\t020b\t(PE32+)",
		"ImageBase\t\t0000000140000000",
		"Subsystem\t\t00000002\t(Windows GUI)",
		"DLL Name: KERNEL32.dll",
		"CreateProcessW",
		"DLL Name: ADVAPI32.dll",
		"RegSetValueExW",
		"(format RSDS signature 12345678123456780102030405060708 age 3 pdb D:\\build\\xt\\Release\\x64\\Setup.pdb)",
		".text", ".rdata", ".data", ".rsrc",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("objdump -x lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(s)
	}
}

// go-pe (the library the parsers use) reads version info, PDB, imports.
func TestBuildPEGoPE(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    PE
	}{{"exe", installerPE()}, {"dll", dllPE()}} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := BuildPE(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			f := goPE(t, img)
			if got := f.FileHeader.TimeDateStampRaw; int64(got) != tc.p.Linked.Unix() {
				t.Errorf("TimeDateStamp %d, want %d", got, tc.p.Linked.Unix())
			}
			vi := f.VersionInformation()
			v := tc.p.Version
			for k, want := range map[string]string{
				"CompanyName": v.CompanyName, "FileDescription": v.FileDescription, "FileVersion": v.FileVersion,
				"OriginalFilename": v.OriginalFilename, "ProductName": v.ProductName, "ProductVersion": v.ProductVersion,
			} {
				got, _ := vi.GetString(k)
				if got != want {
					t.Errorf("version %s = %q, want %q", k, got, want)
				}
			}
			if f.PDB != tc.p.PDBPath {
				t.Errorf("PDB %q, want %q", f.PDB, tc.p.PDBPath)
			}
			if tc.p.PDBPath != "" && f.GUIDAge != "12345678123456780102030405060708"+"3" {
				t.Errorf("GUIDAge %q", f.GUIDAge)
			}
			var want []string
			for _, imp := range tc.p.Imports {
				for _, fn := range imp.Functions {
					want = append(want, imp.DLL+"!"+fn)
				}
			}
			if got := f.Imports(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("imports %v, want %v", got, want)
			}
		})
	}
}

// goPE opens an image with go-pe the way the parsers must (dependencies.md
// §5): through go-ntfs's paged reader, which zero-fills reads past EOF.
// go-pe reads dwLength bytes from 8 bytes into WIN_CERTIFICATE, so on a
// plain bytes.Reader a certificate table that ends the file gives EOF.
func goPE(t *testing.T, img []byte) *pe.PEFile {
	t.Helper()
	r, err := ntfs.NewPagedReader(bytes.NewReader(img), 4096, 16)
	if err != nil {
		t.Fatal(err)
	}
	f, err := pe.NewPEFile(r)
	if err != nil {
		t.Fatalf("go-pe: %v", err)
	}
	return f
}
