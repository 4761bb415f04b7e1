package evtx

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/foothold/foothold/parsers/event"
)

// wantField is one EventData or UserData value as readers key it: the
// Data Name (the position among unnamed Data for classic events, "Binary"
// for the Binary element) or the UserData element name.
type wantField struct {
	key string
	v   any
}

func expectedFields(r *Record) []wantField {
	var out []wantField
	if r.UserData != nil {
		for _, f := range r.UserData.Fields {
			out = append(out, wantField{f.Key, f.Value})
		}
		return out
	}
	unnamed := 0
	for _, f := range r.Data {
		k := f.Key
		if k == "" {
			k = strconv.Itoa(unnamed)
			unnamed++
		}
		out = append(out, wantField{k, f.Value})
	}
	if r.Binary != nil {
		out = append(out, wantField{"Binary", Binary(r.Binary)})
	}
	return out
}

// withIDs returns the record ids Write assigns.
func withIDs(recs []Record) []uint64 {
	ids := make([]uint64, len(recs))
	var prev uint64
	for i, r := range recs {
		id := r.RecordID
		if id == 0 {
			id = prev + 1
		}
		ids[i], prev = id, id
	}
	return ids
}

// windows renders a value as Windows shows it in event XML (and as our
// parser returns it): decimal integers, 0x-prefixed lower-case hex for
// HexInt and size_t, upper-case GUIDs in braces, upper-case hex binary,
// ISO-8601 times (100 ns for FILETIME, ms for SYSTEMTIME).
func windows(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case uint8, uint16, uint32, uint64, int32, int64:
		return fmt.Sprint(x)
	case HexInt32:
		return "0x" + strconv.FormatUint(uint64(x), 16)
	case HexInt64:
		return "0x" + strconv.FormatUint(uint64(x), 16)
	case SizeT:
		return "0x" + strconv.FormatUint(uint64(x), 16)
	case event.FileTime:
		return x.String()
	case SysTime:
		s := event.FileTime(x).String() // 2006-01-02T15:04:05.1234567Z
		return s[:23] + "Z"
	case SID:
		return string(x)
	case GUID:
		s := strings.ToUpper(strings.Trim(string(x), "{}"))
		return "{" + s + "}"
	case Binary:
		return strings.ToUpper(hex.EncodeToString(x))
	}
	panic(fmt.Sprintf("windows: unexpected %T", v))
}

// fixture is a written file and what it should read back as.
type fixture struct {
	name string
	path string
	recs []Record
	ids  []uint64
}

// writeFixtures writes every channel file and a multi-chunk Security log
// into a temporary directory.
func writeFixtures(t testing.TB, big int) []fixture {
	t.Helper()
	dir := t.TempDir()
	var out []fixture
	files := channelFiles()
	if big > 0 {
		files = append(files, channelFile{"Big-Security.evtx", bigRecords(big)})
	}
	for _, cf := range files {
		p := filepath.Join(dir, cf.name)
		if err := WriteFile(p, cf.recs); err != nil {
			t.Fatalf("%s: %v", cf.name, err)
		}
		out = append(out, fixture{cf.name, p, cf.recs, withIDs(cf.recs)})
	}
	return out
}

// chunkCount reads the file header's chunk count.
func chunkCount(b []byte) int { return int(binary.LittleEndian.Uint16(b[42:])) }

// xmlText normalises a value the way an XML reader receives it: XML 1.0
// turns CR LF and lone CR into LF (section 2.11). This is a property of
// the XML the tools print, not of the stored value.
func xmlText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}
