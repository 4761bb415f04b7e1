package artifacts

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// PsexecKeyName is the file PsExec 2.30+ creates on the target for each
// session: C:\Windows\PSEXEC-<SOURCE HOST>-<8 characters>.key. The source
// host is the client's NetBIOS name (upper case in every public example);
// the 8 characters are hex digits in every public example.
func PsexecKeyName(sourceHost, id string) string {
	return "PSEXEC-" + strings.ToUpper(sourceHost) + "-" + strings.ToUpper(id) + ".key"
}

// PsexecKeyLen is the size of the forged key file.
const PsexecKeyLen = 32

// PsexecKey returns the content of a PSEXEC-*.key file.
//
// Uncertain: public write-ups (aboutdfir.com "The Key to Identify PsExec",
// Sigma file_event_win_sysinternals_psexec_service_key) document only the
// name, the path and that the file shows in $MFT/USN with each session;
// none describes the content or its size. (It plausibly carries session
// key material, since PsExec encrypts its traffic, but that is a guess.)
// We therefore write 32 opaque bytes derived from source host and id, so
// the file is non-empty, stable across forge runs and not real key
// material. Parsers must rely on the name and times, never the content.
func PsexecKey(sourceHost, id string) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("foothold psexec key %s %s", strings.ToUpper(sourceHost), strings.ToUpper(id))))
	return sum[:PsexecKeyLen]
}
