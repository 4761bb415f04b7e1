package event

import (
	"regexp"
	"strings"
	"unicode"
)

// NormalizePath reduces the many ways Windows artifacts name one file to a
// single key: lower case, backslashes, no drive letter, device or volume
// prefix, environment variables expanded to their usual targets.
//
//	C:\ProgramData\TPM\x.exe                      \programdata\tpm\x.exe
//	\ProgramData\TPM\x.exe   (an $MFT path)        \programdata\tpm\x.exe
//	\Device\HarddiskVolume2\ProgramData\TPM\x.exe \programdata\tpm\x.exe
//	\VOLUME{01d94fb1c8a1b2c3-5a1f30c2}\PROGRAMDATA\TPM\X.EXE
//	%ProgramData%\TPM\x.exe, \??\C:\..., \\?\C:\..., file:///C:/...
//
// UNC paths (\\host\share\...) keep their host: they name another machine.
func NormalizePath(p string) string {
	p = strings.TrimSpace(strings.Trim(p, `"`))
	if p == "" {
		return ""
	}
	if strings.HasPrefix(strings.ToLower(p), "file:///") {
		p = p[len("file:///"):]
	}
	p = strings.ReplaceAll(p, "/", `\`)
	lp := strings.ToLower(p)
	for _, pre := range []string{`\??\`, `\\?\`, `\\.\`} {
		if strings.HasPrefix(lp, pre) {
			p, lp = p[len(pre):], lp[len(pre):]
			if strings.HasPrefix(lp, `unc\`) {
				return `\\` + lp[len(`unc\`):]
			}
		}
	}
	if strings.HasPrefix(lp, `\\`) {
		return lp
	}
	for env, dir := range envDirs {
		if strings.HasPrefix(lp, env) {
			lp = dir + lp[len(env):]
			break
		}
	}
	switch {
	case len(lp) >= 2 && lp[1] == ':' && unicode.IsLetter(rune(lp[0])):
		lp = lp[2:]
	case strings.HasPrefix(lp, `\device\`):
		// \Device\HarddiskVolume2\..., \Device\Mup\host\share\...
		rest := lp[len(`\device\`):]
		if strings.HasPrefix(rest, `mup\`) {
			return `\\` + rest[len(`mup\`):]
		}
		if i := strings.IndexByte(rest, '\\'); i >= 0 {
			lp = rest[i:]
		} else {
			lp = `\`
		}
	case volumePrefix.MatchString(lp):
		lp = volumePrefix.ReplaceAllString(lp, "")
	}
	// A bare name ("svchost.exe") stays a bare name: it can only match by
	// base name.
	return lp
}

var volumePrefix = regexp.MustCompile(`^\\volume\{[0-9a-f-]+\}`)

// envDirs are the environment variables artifacts use, with the targets
// they have on a default installation.
var envDirs = map[string]string{
	`%systemroot%`:         `\windows`,
	`%windir%`:             `\windows`,
	`\systemroot`:          `\windows`,
	`%programdata%`:        `\programdata`,
	`%programfiles%`:       `\program files`,
	`%programfiles(x86)%`:  `\program files (x86)`,
	`%systemdrive%`:        ``,
	`%public%`:             `\users\public`,
	`%allusersprofile%`:    `\programdata`,
	`%commonprogramfiles%`: `\program files\common files`,
}
