package evtx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/foothold/foothold/parsers/event"
)

// TestEvtxinfo checks with libevtx's evtxinfo that every file has a
// clean, valid header and chunks whose CRCs match ("Is corrupted" is
// printed for a bad file header, chunk header or records CRC, which the
// corrupted copies below confirm), and the record counts.
func TestEvtxinfo(t *testing.T) {
	if _, err := exec.LookPath("evtxinfo"); err != nil {
		t.Skip("evtxinfo not installed (libevtx-utils)")
	}
	info := func(path string) (string, string) {
		cmd := exec.Command("evtxinfo", "-v", path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: evtxinfo: %v: %s", path, err, stderr.Bytes())
		}
		return string(out), stderr.String()
	}
	countRe := regexp.MustCompile(`Number of records\s*: (\d+)\n\s*Number of recovered records\s*: (\d+)`)
	fxs := writeFixtures(t, 2000)
	for _, fx := range fxs {
		out, stderr := info(fx.path)
		m := countRe.FindStringSubmatch(out)
		if m == nil || m[1] != fmt.Sprint(len(fx.recs)) || m[2] != "0" {
			t.Errorf("%s: evtxinfo counts %v, want %d records and 0 recovered:\n%s", fx.name, m, len(fx.recs), out)
		}
		if !strings.Contains(out, "Version\t\t\t\t: 3.1\n") {
			t.Errorf("%s: evtxinfo version:\n%s", fx.name, out)
		}
		for _, bad := range []string{"corrupted", "dirty", "full", "warning", "error"} {
			if strings.Contains(strings.ToLower(out+stderr), bad) {
				t.Errorf("%s: evtxinfo reports %q:\n%s%s", fx.name, bad, out, stderr)
			}
		}
		t.Logf("%s: evtxinfo %s records", fx.name, m[1])
	}

	// The check above means something only if evtxinfo notices damage.
	big := fxs[len(fxs)-1]
	orig, err := os.ReadFile(big.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{
		124,                                   // file header CRC
		fileHeaderSize + 3*chunkSize + 16,     // chunk 3 header (last record number)
		fileHeaderSize + 5*chunkSize + 0x2000, // a record in chunk 5
	} {
		b := append([]byte(nil), orig...)
		b[off] ^= 0x01
		p := filepath.Join(t.TempDir(), "damaged.evtx")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, _ := info(p); !strings.Contains(out, "Is corrupted") {
			t.Errorf("byte %d flipped: evtxinfo does not report corruption:\n%s", off, out)
		}
	}
}

// TestStructure checks the layout against the format document directly:
// file size, header fields and CRC, chunk ranges and CRCs, record
// alignment and size copies, and that every string and template table
// entry points at what it should (python-evtx walks the template table
// and expects a template instance token 10 bytes before each entry).
func TestStructure(t *testing.T) {
	recs := bigRecords(2000)
	var buf bytes.Buffer
	if err := Write(&buf, recs); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	le32 := func(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
	le64 := func(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
	n := chunkCount(b)
	if n < 2 || len(b) != fileHeaderSize+n*chunkSize {
		t.Fatalf("%d bytes, %d chunks: want several whole chunks after the 4096-byte header", len(b), n)
	}
	if string(b[:8]) != "ElfFile\x00" || le64(b[8:]) != 0 || le64(b[16:]) != uint64(n-1) || le64(b[24:]) != 2001 ||
		le32(b[32:]) != 128 || binary.LittleEndian.Uint16(b[36:]) != 1 || binary.LittleEndian.Uint16(b[38:]) != 3 ||
		binary.LittleEndian.Uint16(b[40:]) != 4096 || le32(b[120:]) != 0 || le32(b[124:]) != crc32.ChecksumIEEE(b[:120]) {
		t.Errorf("file header: % x", b[:128])
	}
	want := uint64(1)
	for i := 0; i < n; i++ {
		c := b[fileHeaderSize+i*chunkSize : fileHeaderSize+(i+1)*chunkSize]
		first, last := le64(c[8:]), le64(c[16:])
		free, lastOff := int(le32(c[48:])), int(le32(c[44:]))
		crc := crc32.NewIEEE()
		crc.Write(c[:120])
		crc.Write(c[128:512])
		if string(c[:8]) != "ElfChnk\x00" || first != want || le64(c[24:]) != first || le64(c[32:]) != last ||
			le32(c[40:]) != 128 || le32(c[120:]) != 1 || le32(c[124:]) != crc.Sum32() ||
			le32(c[52:]) != crc32.ChecksumIEEE(c[512:free]) {
			t.Errorf("chunk %d header: % x", i, c[:128])
		}
		pos := 512
		for pos < free {
			size := int(le32(c[pos+4:]))
			if string(c[pos:pos+4]) != "**\x00\x00" || size%8 != 0 || pos+size > free || int(le32(c[pos+size-4:])) != size ||
				le64(c[pos+8:]) != want || le64(c[pos+16:]) != uint64(recs[want-1].Time) {
				t.Fatalf("chunk %d record at %d: % x", i, pos, c[pos:pos+24])
			}
			if le64(c[pos+8:]) == last && pos != lastOff {
				t.Errorf("chunk %d: last record at %d, header says %d", i, pos, lastOff)
			}
			want++
			pos += size
		}
		if pos != free || !allZero(c[free:]) {
			t.Errorf("chunk %d: records end at %d, free space offset %d, or free space not zero", i, pos, free)
		}
		for j := 0; j < 64; j++ {
			for off := le32(c[128+4*j:]); off != 0; off = le32(c[off:]) {
				nc := int(binary.LittleEndian.Uint16(c[off+6:]))
				u := c[off+8 : off+8+uint32(2*nc)]
				h := nameHash(u)
				if int(h%64) != j || uint16(h) != binary.LittleEndian.Uint16(c[off+4:]) {
					t.Errorf("chunk %d: name %q at %d in bucket %d", i, string(utf16.Decode(u16s(u))), off, j)
				}
			}
		}
		tmpls := 0
		for j := 0; j < 32; j++ {
			for off := le32(c[384+4*j:]); off != 0; off = le32(c[off:]) {
				tmpls++
				if c[off-10] != tokTemplate || le32(c[off-4:]) != off || int(nameHash(c[off+4:off+20])%32) != j {
					t.Errorf("chunk %d: template table entry %d in bucket %d", i, off, j)
				}
			}
		}
		if tmpls == 0 {
			t.Errorf("chunk %d: empty template table", i)
		}
	}
	if want != 2001 {
		t.Errorf("walked %d records, want 2000", want-1)
	}
}

func u16s(b []byte) []uint16 {
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := Write(&a, bigRecords(500)); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, bigRecords(500)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same records gave different bytes")
	}
}

// TestEmpty: a log without records is a header and one empty chunk;
// readers see zero records and no damage.
func TestEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty.evtx")
	if err := WriteFile(p, nil); err != nil {
		t.Fatal(err)
	}
	evs, st := parseOurs(t, p)
	if len(evs) != 0 || st.Errors != 0 {
		t.Errorf("empty log: %d events, %d errors", len(evs), st.Errors)
	}
	if _, err := exec.LookPath("evtxinfo"); err == nil {
		out, _ := exec.Command("evtxinfo", p).CombinedOutput()
		if !regexp.MustCompile(`Number of records\s*: 0\n`).Match(out) || strings.Contains(string(out), "corrupted") {
			t.Errorf("evtxinfo on an empty log:\n%s", out)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	base := func() Record { return pSecurity.ev(4624, 2, 12544, 0, f("LogonType", uint32(3))) }
	mod := func(fn func(*Record)) []Record {
		r := base()
		fn(&r)
		return []Record{r}
	}
	cases := []struct {
		name string
		recs []Record
		want string
	}{
		{"order", []Record{{RecordID: 5, Provider: "p"}, {RecordID: 5, Provider: "p"}}, "increasing RecordID"},
		{"sid", mod(func(r *Record) { r.UserSID = "S-1-x" }), "UserSID"},
		{"data sid", mod(func(r *Record) { r.Data = []event.Field{f("TargetUserSid", SID("5-21"))} }), `"TargetUserSid"`},
		{"guid", mod(func(r *Record) { r.ActivityID = "{1234}" }), "ActivityID"},
		{"type", mod(func(r *Record) { r.Data = []event.Field{f("LogonType", 3)} }), "unsupported value type int"},
		{"value size", mod(func(r *Record) { r.Data = []event.Field{f("ScriptBlockText", strings.Repeat("x", 40000))} }), "exceeds"},
		{"record size", mod(func(r *Record) { r.Data = []event.Field{f("ScriptBlockText", strings.Repeat("x", 32000))} }), "too large for a 64 KiB chunk"},
		{"both", mod(func(r *Record) { r.UserData = &UserData{Element: "E"} }), "both UserData and EventData"},
		{"userdata key", mod(func(r *Record) {
			r.Data = nil
			r.UserData = &UserData{Element: "E", Fields: []event.Field{f("", "x")}}
		}), "without a name"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Write(&buf, c.recs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestRoundTripRandom writes random records (random field names, types,
// values, System values, record ids, optional parts) and reads them back
// with our parser, value by value.
func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	word := func(n int) string {
		const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		b := make([]byte, 1+rng.Intn(n))
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		return string(b)
	}
	text := func() string {
		runes := []rune{'a', 'Z', '0', ' ', '\t', '<', '&', '"', '\'', 'é', '€', '中', 'ß', '\\', '%', '😀'}
		r := make([]rune, rng.Intn(60))
		for i := range r {
			r[i] = runes[rng.Intn(len(runes))]
		}
		return string(r)
	}
	genSID := func() SID {
		s := fmt.Sprintf("S-1-%d", rng.Intn(100))
		for i := rng.Intn(6); i > 0; i-- {
			s += fmt.Sprintf("-%d", rng.Uint32())
		}
		return SID(s)
	}
	genGUID := func() GUID {
		return GUID(fmt.Sprintf("{%08x-%04x-%04x-%04x-%012x}", rng.Uint32(), rng.Intn(1<<16), rng.Intn(1<<16), rng.Intn(1<<16), rng.Int63n(1<<48)))
	}
	value := func() any {
		switch rng.Intn(17) {
		case 0:
			return text()
		case 1:
			return uint8(rng.Uint32())
		case 2:
			return uint16(rng.Uint32())
		case 3:
			return rng.Uint32()
		case 4:
			return rng.Uint64()
		case 5:
			return int32(rng.Uint32())
		case 6:
			return int64(rng.Uint64())
		case 7:
			return rng.Intn(2) == 0
		case 8:
			return event.FileTime(rng.Int63n(2650467743999999999) + 1) // before year 9999
		case 9:
			return SysTime(rng.Int63n(2650467743999999999) + 1)
		case 10:
			return HexInt32(rng.Uint32())
		case 11:
			return HexInt64(rng.Uint64())
		case 12:
			return SizeT(rng.Uint64())
		case 13:
			return genSID()
		case 14:
			return genGUID()
		case 15:
			b := make([]byte, rng.Intn(40))
			rng.Read(b)
			return Binary(b)
		}
		return nil
	}
	dir := t.TempDir()
	for iter := 0; iter < 40; iter++ {
		n := 1 + rng.Intn(300)
		recs := make([]Record, n)
		var id uint64
		for i := range recs {
			r := Record{
				Provider: "Random-" + word(3), EventID: uint16(rng.Intn(6)), Version: uint8(rng.Intn(3)), Level: uint8(rng.Intn(6)),
				Opcode: uint8(rng.Intn(3)), Task: uint16(rng.Intn(1 << 16)), Keywords: rng.Uint64(),
				Time: event.FileTime(rng.Int63n(2650467743999999999) + 1), ProcessID: rng.Uint32(), ThreadID: rng.Uint32(),
				Channel: "Random/" + word(2), Computer: word(8),
			}
			if rng.Intn(2) == 0 {
				r.ProviderGUID = string(genGUID())
			}
			if rng.Intn(4) == 0 {
				r.EventSourceName = word(6)
				r.Qualifiers = uint16(rng.Intn(1 << 16))
			}
			if rng.Intn(3) == 0 {
				r.UserSID = string(genSID())
			}
			if rng.Intn(3) == 0 {
				r.ActivityID = string(genGUID())
			}
			if rng.Intn(3) == 0 {
				id += uint64(1 + rng.Intn(1000))
				r.RecordID = id
			} else {
				id++
			}
			fields := make([]event.Field, rng.Intn(12))
			named := rng.Intn(5) != 0
			for j := range fields {
				fields[j] = f(fmt.Sprintf("%s%d", word(10), j), value())
				if !named {
					fields[j].Key = ""
				}
			}
			if rng.Intn(5) == 0 {
				r.UserData = &UserData{Element: word(12), Namespace: "urn:" + word(5), Fields: fields}
				for j := range fields {
					if fields[j].Key == "" {
						fields[j].Key = fmt.Sprintf("E%d", j)
					}
				}
			} else {
				r.Data = fields
				if rng.Intn(4) == 0 {
					b := make([]byte, rng.Intn(20))
					rng.Read(b)
					r.Binary = b
				}
			}
			recs[i] = r
		}
		p := filepath.Join(dir, fmt.Sprintf("random%d.evtx", iter))
		if err := WriteFile(p, recs); err != nil {
			t.Fatalf("iteration %d: %v", iter, err)
		}
		fx := fixture{name: filepath.Base(p), path: p, recs: recs, ids: withIDs(recs)}
		evs, st := parseOurs(t, p)
		checkOurs(t, fx, evs, st)
		if t.Failed() {
			return
		}
	}
}
