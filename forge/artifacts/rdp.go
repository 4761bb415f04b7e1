package artifacts

import "strings"

// defaultRDPKeys are the settings mstsc.exe on Windows 10/11 saves to
// Documents\Default.rdp after a connection with default options, in the
// order it writes them. Written from a Windows 10 22H2 file seen in
// practice; display-dependent values (desktop size, window position) are
// those of a 1920x1080 screen.
var defaultRDPKeys = []string{
	"screen mode id:i:2",
	"use multimon:i:0",
	"desktopwidth:i:1920",
	"desktopheight:i:1080",
	"session bpp:i:32",
	"winposstr:s:0,1,0,0,800,600",
	"compression:i:1",
	"keyboardhook:i:2",
	"audiocapturemode:i:0",
	"videoplaybackmode:i:1",
	"connection type:i:7",
	"networkautodetect:i:1",
	"bandwidthautodetect:i:1",
	"displayconnectionbar:i:1",
	"enableworkspacereconnect:i:0",
	"disable wallpaper:i:0",
	"allow font smoothing:i:0",
	"allow desktop composition:i:0",
	"disable full window drag:i:1",
	"disable menu anims:i:1",
	"disable themes:i:0",
	"disable cursor setting:i:0",
	"bitmapcachepersistenable:i:1",
	"full address:s:{HOST}",
	"audiomode:i:0",
	"redirectprinters:i:1",
	"redirectcomports:i:0",
	"redirectsmartcards:i:1",
	"redirectclipboard:i:1",
	"redirectposdevices:i:0",
	"autoreconnection enabled:i:1",
	"authentication level:i:2",
	"prompt for credentials:i:0",
	"negotiate security layer:i:1",
	"remoteapplicationmode:i:0",
	"alternate shell:s:",
	"shell working directory:s:",
	"gatewayhostname:s:",
	"gatewayusagemethod:i:4",
	"gatewaycredentialssource:i:4",
	"gatewayprofileusagemethod:i:0",
	"promptcredentialonce:i:0",
	"gatewaybrokeringtype:i:0",
	"use redirection server name:i:0",
	"rdgiskdcproxy:i:0",
	"kdcproxyname:s:",
	"drivestoredirect:s:",
	"username:s:{USER}",
}

// DefaultRDP renders Default.rdp for the last connection to host as user
// (DOMAIN\name): UTF-16LE with a byte-order mark, CRLF after every line.
// mstsc writes the username line only when a user name was entered.
func DefaultRDP(host, user string) []byte {
	clean := func(s string) string { return strings.NewReplacer("\r", "", "\n", "").Replace(s) }
	var b strings.Builder
	for _, k := range defaultRDPKeys {
		switch {
		case strings.HasSuffix(k, "{HOST}"):
			k = strings.TrimSuffix(k, "{HOST}") + clean(host)
		case strings.HasSuffix(k, "{USER}"):
			if user == "" {
				continue
			}
			k = strings.TrimSuffix(k, "{USER}") + clean(user)
		}
		b.WriteString(k)
		b.WriteString("\r\n")
	}
	return utf16LEWithBOM(b.String())
}
