package regf

import (
	"encoding/binary"
	"math"
	"strings"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// ShimEntry is one AppCompatCache (ShimCache) entry to build.
type ShimEntry struct {
	Path         string         // as Windows stores it, e.g. C:\Windows\System32\cmd.exe
	LastModified event.FileTime // the file's $SI modification time when it was cached
	Data         []byte         // entry data; empty for most files
}

// Windows 10 AppCompatCache layout (libyal winreg-kb, "Application
// Compatibility Cache"; Creators Update and later use the 52-byte header).
const (
	shimHeaderSize = 0x34
	shimCountOff   = 0x28
	// shimHeaderFlagOff holds 1 in every Windows 10 value we measured
	// (EricZimmerman's Win10.bin and Win10Creators.bin); its meaning is
	// unknown.
	shimHeaderFlagOff = 0x10
	maxShimPathUnits  = 0xFFFF / 2
)

// AppCompatCacheWin10 builds the AppCompatCache value data of Windows 10
// 1703+ (and 11): a 52-byte header with the entry count, then one "10ts"
// entry per cache slot, most recent first: path, last-modified FILETIME and
// entry data. The entries' 32-bit field after the signature (a hash whose
// input is not documented) is left zero. Paths longer than the 16-bit
// length field allows are cut.
func AppCompatCacheWin10(entries []ShimEntry) []byte {
	le := binary.LittleEndian
	b := make([]byte, shimHeaderSize)
	le.PutUint32(b, shimHeaderSize)
	le.PutUint32(b[shimHeaderFlagOff:], 1)
	le.PutUint32(b[shimCountOff:], uint32(len(entries)))
	for _, e := range entries {
		path := utf16.Encode([]rune(e.Path))
		if len(path) > maxShimPathUnits {
			path = path[:maxShimPathUnits]
		}
		size := 2 + 2*len(path) + 8 + 4 + len(e.Data)
		b = append(b, "10ts"...)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, uint32(size))
		b = le.AppendUint16(b, uint16(2*len(path)))
		for _, c := range path {
			b = le.AppendUint16(b, c)
		}
		b = le.AppendUint64(b, uint64(e.LastModified))
		b = le.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

// userAssistSize is the Windows 7+ UserAssist entry (version 5).
const userAssistSize = 72

// UserAssistValue builds one UserAssist\{GUID}\Count value of Windows 7 and
// later: the ROT13 of name, and 72 bytes holding the run count (offset 4),
// focus count (8), focus time in milliseconds (12), ten unused float
// slots Windows fills with -1.0 (16-55), 0xFFFFFFFF (56) and the last-run
// FILETIME (60), as in real NTUSER.DAT hives.
func UserAssistValue(name string, runCount, focusCount, focusMillis uint32, lastRun event.FileTime) Value {
	le := binary.LittleEndian
	d := make([]byte, userAssistSize)
	le.PutUint32(d[4:], runCount)
	le.PutUint32(d[8:], focusCount)
	le.PutUint32(d[12:], focusMillis)
	for off := 16; off < 56; off += 4 {
		le.PutUint32(d[off:], math.Float32bits(-1))
	}
	le.PutUint32(d[56:], 0xFFFFFFFF)
	le.PutUint64(d[60:], uint64(lastRun))
	return Value{Name: ROT13(name), Type: TypeBinary, Data: d}
}

// ROT13 rotates ASCII letters by 13, the obfuscation of UserAssist value
// names; it is its own inverse.
func ROT13(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}
