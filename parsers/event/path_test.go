package event

import "testing"

func TestNormalizePath(t *testing.T) {
	want := `\programdata\tpm\tpmvscmgrsvr.exe`
	for _, in := range []string{
		`C:\ProgramData\TPM\TpmVscMgrSvr.exe`,
		`c:/programdata/tpm/TpmVscMgrSvr.exe`,
		`\ProgramData\TPM\TpmVscMgrSvr.exe`,
		`\Device\HarddiskVolume2\ProgramData\TPM\TpmVscMgrSvr.exe`,
		`\VOLUME{01d94fb1c8a1b2c3-5a1f30c2}\PROGRAMDATA\TPM\TPMVSCMGRSVR.EXE`,
		`%ProgramData%\TPM\TpmVscMgrSvr.exe`,
		`\??\C:\ProgramData\TPM\TpmVscMgrSvr.exe`,
		`\\?\C:\ProgramData\TPM\TpmVscMgrSvr.exe`,
		`"C:\ProgramData\TPM\TpmVscMgrSvr.exe"`,
		`file:///C:/ProgramData/TPM/TpmVscMgrSvr.exe`,
	} {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`%SystemRoot%\System32\svchost.exe`:  `\windows\system32\svchost.exe`,
		`\SystemRoot\System32\drivers\x.sys`: `\windows\system32\drivers\x.sys`,
		`\\FS01\C$\Builds\out.zip`:           `\\fs01\c$\builds\out.zip`,
		`\Device\Mup\FS01\C$\x`:              `\\fs01\c$\x`,
		`\??\UNC\FS01\share\x`:               `\\fs01\share\x`,
		`svchost.exe`:                        `svchost.exe`,
		``:                                   ``,
	} {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}
