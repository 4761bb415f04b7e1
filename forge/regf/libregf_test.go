package regf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed", n)
		}
	}
}

// exportedKey is one key as regfexport prints it.
type exportedKey struct {
	class  string
	values []exportedValue
}

type exportedValue struct {
	name, typ string
	size      int
	text      string // the Data: line for strings and integers
	hex       []byte // the hex dump for everything else
}

// parseRegfexport reads regfexport's listing: "Key path:" blocks with
// "Class name:" and "Value:"/"Type:"/"Data size:"/"Data:" records.
func parseRegfexport(t *testing.T, out []byte) (map[string]*exportedKey, []string) {
	t.Helper()
	keys := map[string]*exportedKey{}
	var order []string
	var cur *exportedKey
	var val *exportedValue
	inHex := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	flush := func() {
		if val != nil {
			cur.values = append(cur.values, *val)
			val = nil
		}
		inHex = false
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Key path: "):
			if cur != nil {
				flush()
			}
			p := strings.TrimPrefix(line, "Key path: ")
			if keys[p] != nil {
				t.Errorf("regfexport lists %s twice", p)
			}
			cur = &exportedKey{}
			keys[p] = cur
			order = append(order, p)
		case cur == nil:
		case strings.HasPrefix(line, "Class name: "):
			cur.class = strings.TrimPrefix(line, "Class name: ")
		case strings.HasPrefix(line, "Value: "):
			flush()
			_, name, _ := strings.Cut(strings.TrimPrefix(line, "Value: "), " ")
			val = &exportedValue{name: name}
		case val != nil && strings.HasPrefix(line, "Type: "):
			val.typ = strings.TrimPrefix(line, "Type: ")
		case val != nil && strings.HasPrefix(line, "Data size: "):
			val.size, _ = strconv.Atoi(strings.TrimPrefix(line, "Data size: "))
		case val != nil && line == "Data:":
			inHex = true
		case val != nil && strings.HasPrefix(line, "Data: "):
			val.text = strings.TrimPrefix(line, "Data: ")
		case inHex && len(line) > 10 && line[8] == ':':
			// "00000000: 6d 00 73 00 ... 00   m.s.v..." — 16 bytes, an
			// extra space after the eighth, then the text column.
			cols := line[10:]
			if len(cols) > 49 {
				cols = cols[:49]
			}
			for _, f := range strings.Fields(cols) {
				b, err := hex.DecodeString(f)
				if err != nil || len(b) != 1 {
					t.Fatalf("regfexport hex line %q: %v", line, err)
				}
				val.hex = append(val.hex, b[0])
			}
		case line == "":
			if inHex {
				flush()
			}
		}
	}
	if cur != nil {
		flush()
	}
	return keys, order
}

// regfexportType is how regfexport 20201007 labels each value type.
func regfexportType(typ uint32) string {
	switch typ {
	case TypeNone:
		return "undefined (REG_NONE)"
	case TypeString:
		return "string (REG_SZ)"
	case TypeExpandString:
		return "expandable string (REG_EXPAND_SZ)"
	case TypeBinary:
		return "binary data (REG_BINARY)"
	case TypeDWORD:
		return "32-bit integer little-endian (REG_DWORD_LITTLE_ENDIAN)"
	case TypeDWORDBigEndian:
		return "32-bit integer big-endian (REG_DWORD_BIG_ENDIAN)"
	case TypeLink:
		return "symbolic link (REG_LINK)"
	case TypeMultiString:
		return "multi-value string (REG_MULTI_SZ)"
	case TypeQWORD:
		return "64-bit integer little-endian (REG_QWORD_LITTLE_ENDIAN)"
	}
	return fmt.Sprintf("unknown: 0x%08x", typ)
}

// libregfInline is what libregf (20201007 and its 2026 master) returns for
// data stored inline in a value record: it takes a 1-3 byte value from the
// END of the 4-byte field, while Windows stores it at the start. Measured
// on regipy's NTUSER_with_winscp.DAT: the 3-byte REG_BINARY "Signature0"
// holding the bzip2 magic "BZh" is printed by regfexport as "Zh\x00" (and
// the gzip and JPEG magics likewise shifted). Our writer follows Windows;
// the comparison allows for this reader defect and nothing else.
func libregfInline(d []byte) []byte {
	if len(d) == 0 || len(d) >= 4 {
		return d
	}
	var field [4]byte
	copy(field[:], d)
	return field[4-len(d):]
}

// utf16Until decodes UTF-16LE data up to its first NUL.
func utf16Until(d []byte) string {
	var u []uint16
	for i := 0; i+1 < len(d); i += 2 {
		c := binary.LittleEndian.Uint16(d[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// TestRegfexport: libregf's regfexport lists exactly the written keys, with
// their class names and every value's name, type, size and data, and
// reports nothing on stderr (-v prints libregf's warnings there).
func TestRegfexport(t *testing.T) {
	needTool(t, "regfexport", "regfinfo")
	dir := t.TempDir()
	for _, f := range allFixtures() {
		t.Run(f.name, func(t *testing.T) {
			p, _ := writeFixture(t, dir, f)
			cmd := exec.Command("regfexport", "-v", p)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("regfexport: %v\n%s", err, stderr.Bytes())
			}
			if stderr.Len() != 0 {
				t.Errorf("regfexport -v printed warnings:\n%s", stderr.Bytes())
			}
			got, order := parseRegfexport(t, out)
			want := flatten(f.root)
			if len(got) != len(want) {
				t.Errorf("regfexport lists %d keys, wrote %d", len(got), len(want))
			}
			nvals := 0
			for path, w := range want {
				g := got[path]
				if g == nil {
					t.Errorf("regfexport lacks key %s", path)
					continue
				}
				if g.class != w.Class {
					t.Errorf("%s: class %q, wrote %q", path, g.class, w.Class)
				}
				if len(g.values) != len(w.Values) {
					t.Errorf("%s: %d values, wrote %d", path, len(g.values), len(w.Values))
					continue
				}
				for i, wv := range w.Values {
					nvals++
					gv := g.values[i]
					wname := wv.Name
					if wname == "" {
						wname = "(default)"
					}
					if gv.name != wname || gv.typ != regfexportType(wv.Type) || gv.size != len(wv.Data) {
						t.Errorf("%s value %d: %q %q size %d, wrote %q %q size %d", path, i, gv.name, gv.typ, gv.size,
							wname, regfexportType(wv.Type), len(wv.Data))
						continue
					}
					var wantText string
					switch wv.Type {
					case TypeString, TypeExpandString:
						wantText = utf16Until(wv.Data)
					case TypeDWORD:
						wantText = strconv.FormatUint(uint64(binary.LittleEndian.Uint32(wv.Data)), 10)
					case TypeDWORDBigEndian:
						wantText = strconv.FormatUint(uint64(binary.BigEndian.Uint32(wv.Data)), 10)
					case TypeQWORD:
						wantText = strconv.FormatUint(binary.LittleEndian.Uint64(wv.Data), 10)
					default:
						if !bytes.Equal(gv.hex, libregfInline(wv.Data)) {
							t.Errorf("%s value %q: regfexport data (%d bytes) differs from the %d written", path, wv.Name, len(gv.hex), len(wv.Data))
						}
						continue
					}
					if gv.text != wantText {
						t.Errorf("%s value %q: regfexport data %q, wrote %q", path, wv.Name, gv.text, wantText)
					}
				}
			}
			checkSortedOrder(t, order)
			t.Logf("regfexport: %d keys, %d values", len(got), nvals)

			info, err := exec.Command("regfinfo", p).CombinedOutput()
			if err != nil {
				t.Fatalf("regfinfo: %v\n%s", err, info)
			}
			if !bytes.Contains(info, []byte("Version:\t1.5")) || !bytes.Contains(info, []byte("File type:\tRegistry")) {
				t.Errorf("regfinfo header:\n%s", info[:min(len(info), 300)])
			}
			if n := bytes.Count(info, []byte("(key:) ")); n != len(want) {
				t.Errorf("regfinfo lists %d keys, wrote %d", n, len(want))
			}
			if n := bytes.Count(info, []byte("(value: ")); n != nvals {
				t.Errorf("regfinfo lists %d values, wrote %d", n, nvals)
			}
		})
	}
}

// checkSortedOrder asserts that siblings in a reader's depth-first listing
// come in Windows' order: compared upper-cased, character by character.
// Only ASCII names are checked here, where upper-casing is unambiguous.
func checkSortedOrder(t *testing.T, paths []string) {
	t.Helper()
	last := map[string]string{} // parent path -> previous child name
	for _, p := range paths {
		i := strings.LastIndex(p, `\`)
		if i < 0 {
			continue
		}
		parent, name := p[:i], p[i+1:]
		prev, ok := last[parent]
		last[parent] = name
		if !ok || !isASCII(prev) || !isASCII(name) {
			continue
		}
		if strings.ToUpper(prev) >= strings.ToUpper(name) {
			t.Errorf("%s: subkey %q listed after %q", parent, name, prev)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// pyregfKey is one line of testdata/pyregf_dump.py.
type pyregfKey struct {
	Path        string  `json:"path"`
	LastWritten uint64  `json:"last_written"`
	Class       string  `json:"class"`
	Subkeys     int     `json:"subkeys"`
	Values      [][]any `json:"values"`
}

func havePyregf(t *testing.T) {
	t.Helper()
	needTool(t, "/usr/bin/python3")
	if err := exec.Command("/usr/bin/python3", "-c", "import pyregf").Run(); err != nil {
		t.Skip("python3-libregf (pyregf) not installed")
	}
}

// TestPyregf: libregf's library (through python3-libregf) reads every key's
// name, 100 ns last-written time, class name, subkey count and every
// value's name, type and exact data bytes as written.
func TestPyregf(t *testing.T) {
	havePyregf(t)
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "testdata", "pyregf_dump.py")
	dir := t.TempDir()
	for _, f := range allFixtures() {
		t.Run(f.name, func(t *testing.T) {
			p, _ := writeFixture(t, dir, f)
			out, err := exec.Command("/usr/bin/python3", script, p).Output()
			if err != nil {
				t.Fatalf("pyregf_dump: %v", err)
			}
			lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
			var hdr struct {
				Version string `json:"format_version"`
				Type    int    `json:"type"`
			}
			if err := json.Unmarshal(lines[0], &hdr); err != nil || hdr.Version != "1.5" || hdr.Type != 0 {
				t.Errorf("pyregf file header %s (%v)", lines[0], err)
			}
			want := flatten(f.root)
			seen := map[string]bool{}
			var order []string
			nvals := 0
			for _, l := range lines[1:] {
				var k pyregfKey
				if err := json.Unmarshal(l, &k); err != nil {
					t.Fatalf("pyregf line %s: %v", l, err)
				}
				order = append(order, k.Path)
				w, ok := want[k.Path]
				if !ok || seen[k.Path] {
					t.Errorf("pyregf lists unexpected or repeated key %q", k.Path)
					continue
				}
				seen[k.Path] = true
				if event.FileTime(k.LastWritten) != w.LastWrite {
					t.Errorf("%s: last written %d, wrote %d", k.Path, k.LastWritten, w.LastWrite)
				}
				if k.Class != w.Class || k.Subkeys != w.Subkeys {
					t.Errorf("%s: class %q subkeys %d, wrote %q %d", k.Path, k.Class, k.Subkeys, w.Class, w.Subkeys)
				}
				if len(k.Values) != len(w.Values) {
					t.Errorf("%s: %d values, wrote %d", k.Path, len(k.Values), len(w.Values))
					continue
				}
				for i, wv := range w.Values {
					nvals++
					gv := k.Values[i]
					data, _ := hex.DecodeString(gv[2].(string))
					if gv[0].(string) != wv.Name || uint32(gv[1].(float64)) != wv.Type || !bytes.Equal(data, libregfInline(wv.Data)) {
						t.Errorf("%s value %d: %q type %v %d bytes, wrote %q type %d %d bytes", k.Path, i, gv[0], gv[1], len(data),
							wv.Name, wv.Type, len(wv.Data))
					}
				}
			}
			if len(seen) != len(want) {
				t.Errorf("pyregf lists %d keys, wrote %d", len(seen), len(want))
			}
			checkSortedOrder(t, order)
			t.Logf("pyregf: %d keys, %d values", len(seen), nvals)
		})
	}
}
