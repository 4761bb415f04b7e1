package event

import "strings"

// cp1252 maps bytes 0x80-0x9F of Windows-1252; 0 marks the five bytes the
// code page leaves undefined. Bytes 0xA0-0xFF are Latin-1.
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// Undefined1252 says what Windows1252 makes of the five undefined bytes:
// the C1 control of the same value (as liblnk prints them) or U+FFFD (as
// libevtx does). Each parser follows the reader it is compared with.
type Undefined1252 bool

const (
	KeepC1      Undefined1252 = false
	Replacement Undefined1252 = true
)

// Windows1252 decodes ANSI text. Windows writes it in the system code
// page, which an artifact rarely names; 1252 is what the independent
// readers assume too.
func Windows1252(b []byte, undefined Undefined1252) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			r := cp1252[c-0x80]
			if r == 0 {
				r = rune(c)
				if undefined == Replacement {
					r = 0xFFFD
				}
			}
			sb.WriteRune(r)
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}
