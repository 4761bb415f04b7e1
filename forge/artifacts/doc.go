// Package artifacts writes the smaller Windows artifacts of a forged case:
// Chrome/Edge History databases, scheduled-task XML files, Default.rdp,
// PsExec session key files, and PE executables/DLLs with version
// information, CodeView debug records, imports and Authenticode
// signatures from a test CA (including the CVE-2013-3900 pattern of bytes
// hidden inside the certificate table).
//
// Every writer is checked by an independent reader in the tests: sqlite3
// and the corpus History schema, encoding/xml and Windows' own 4698
// TaskContent, objdump, go-pe, openssl and osslsigncode.
package artifacts
