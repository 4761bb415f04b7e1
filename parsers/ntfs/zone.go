package ntfs

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// zoneInfo is the content of a Zone.Identifier stream (Mark of the Web).
type zoneInfo struct {
	ZoneID            string
	HostURL           string
	ReferrerURL       string
	LastWriterPackage string
	AppZoneID         string
}

var zoneNames = map[string]string{
	"0": "Local Machine",
	"1": "Local Intranet",
	"2": "Trusted Sites",
	"3": "Internet",
	"4": "Restricted Sites",
}

// parseZone reads the INI-style stream. Windows writes it as ANSI/UTF-8;
// some tools write UTF-16LE with a BOM, which we accept too. It returns nil
// when no known key is present.
func parseZone(b []byte) *zoneInfo {
	var text string
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		u := make([]uint16, (len(b)-2)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2+2*i:])
		}
		text = string(utf16.Decode(u))
	default:
		b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
		if utf8.Valid(b) {
			text = string(b)
		} else {
			text = strings.ToValidUTF8(string(b), "\uFFFD")
		}
	}
	z := &zoneInfo{}
	found := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimRight(line, "\r\x00"))
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "zoneid":
			z.ZoneID, found = v, true
		case "hosturl":
			z.HostURL, found = v, true
		case "referrerurl":
			z.ReferrerURL, found = v, true
		case "lastwriterpackagefamilyname":
			z.LastWriterPackage, found = v, true
		case "appzoneid":
			z.AppZoneID, found = v, true
		}
	}
	if !found {
		return nil
	}
	return z
}

// message renders e.g. `Downloaded from https://x/y.exe (ZoneId=3 Internet,
// referrer https://x/) \Users\alice\Downloads\y.exe`.
func (z *zoneInfo) message(path string) string {
	var sb strings.Builder
	if z.HostURL != "" {
		sb.WriteString("Downloaded from " + z.HostURL + " (")
	} else {
		sb.WriteString("Zone.Identifier (")
	}
	sb.WriteString("ZoneId=" + z.ZoneID)
	if n, ok := zoneNames[z.ZoneID]; ok {
		sb.WriteString(" " + n)
	}
	if z.ReferrerURL != "" {
		sb.WriteString(", referrer " + z.ReferrerURL)
	}
	if z.LastWriterPackage != "" {
		sb.WriteString(", by " + z.LastWriterPackage)
	}
	sb.WriteString(") " + path)
	return sb.String()
}
