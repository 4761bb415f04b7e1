package ese

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	goese "www.velocidex.com/golang/go-ese/parser"
)

// sampleTable has one column of each type the writer supports, in each
// place a record keeps them (fixed, variable, tagged).
func sampleTable(rows int) Table {
	t := Table{Name: "Sample", Columns: []Column{
		{ID: 1, Name: "Id", Type: Long, Flags: 4},
		{ID: 2, Name: "Flag", Type: Bit},
		{ID: 3, Name: "Small", Type: UnsignedByte},
		{ID: 4, Name: "Short", Type: Short},
		{ID: 5, Name: "UShort", Type: UnsignedShort},
		{ID: 6, Name: "ULong", Type: UnsignedLong},
		{ID: 7, Name: "Double", Type: IEEEDouble},
		{ID: 8, Name: "Money", Type: Currency},
		{ID: 9, Name: "Guid", Type: GUID},
		{ID: 10, Name: "Big", Type: LongLong},
		// go-ese picks a variable Text column's encoding by its flags,
		// not its code page: 1 (as the catalog's ASCII Name column has)
		// for single-byte text, anything else for UTF-16.
		{ID: 128, Name: "Ascii", Type: Text, CodePage: 1252, Flags: 1},
		{ID: 129, Name: "Wide", Type: Text, CodePage: 1200},
		{ID: 130, Name: "Bytes", Type: Binary},
		{ID: 256, Name: "LongWide", Type: LongText, CodePage: 1200},
		{ID: 257, Name: "Blob", Type: LongBinary},
		{ID: 258, Name: "TaggedLong", Type: Long},
	}, Primary: Index{Name: "Id", Columns: []uint32{1}}}
	for i := 0; i < rows; i++ {
		r := Row{
			1: int32(i*7 - 1000), 2: i%2 == 0, 3: uint8(i), 4: int16(-i), 5: uint16(i * 3), 6: uint32(4000000000 - i),
			7: float64(i) / 4, 8: int64(-i), 9: [16]byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i >> 8)},
			10: int64(i) * -9000000001, 128: fmt.Sprintf("row %d", i), 129: fmt.Sprintf("wïde %d", i),
		}
		// Optional columns, present in some rows only; NULL only after
		// the last fixed value (libesedb reads a NULL fixed column's fill
		// bytes, as it does in Windows' own catalog rows).
		if i%3 != 0 {
			r[130] = []byte{byte(i), 0xff}
		}
		if i%4 != 1 {
			r[256] = strings.Repeat("long ", i%40)
			r[257] = bytes.Repeat([]byte{byte(i)}, 1+i%300)
		}
		if i%5 == 0 {
			r[258] = int32(-i)
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

// libesedbText is how esedbexport 20181229 prints a value of col
// (v: a Go value as given to Write; nil for NULL).
func libesedbText(col Column, v any) string {
	if v == nil {
		return ""
	}
	switch col.Type {
	case Bit:
		return fmt.Sprint(v)
	case IEEEDouble:
		return fmt.Sprintf("%f", v)
	case Currency: // printed unsigned
		return fmt.Sprint(uint64(v.(int64)))
	case GUID:
		g := v.([16]byte)
		return hex.EncodeToString(g[:])
	case Binary, LongBinary:
		return hex.EncodeToString(v.([]byte))
	}
	return fmt.Sprint(v)
}

// goeseText is how go-ese hands the value over, printed with %v.
func goeseText(col Column, v any) string {
	switch col.Type {
	case Currency, LongLong: // go-ese returns these as uint64
		return fmt.Sprint(uint64(v.(int64)))
	case GUID:
		g := v.([16]byte)
		return fmt.Sprintf("{%08x-%04x-%04x-%x-%x}", binary.LittleEndian.Uint32(g[:]), binary.LittleEndian.Uint16(g[4:]),
			binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
	case Binary, LongBinary:
		return hex.EncodeToString(v.([]byte))
	}
	return fmt.Sprint(v)
}

func writeTemp(t *testing.T, tables []Table) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, tables, Options{Signature: 0x1234}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "test.edb")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// exportTable runs esedbexport and returns the named table's lines split
// into fields, header first.
func exportTable(t *testing.T, db, table string) [][]string {
	t.Helper()
	if _, err := exec.LookPath("esedbexport"); err != nil {
		t.Skip("esedbexport not installed")
	}
	target := filepath.Join(t.TempDir(), "x")
	out, err := exec.Command("esedbexport", "-t", target, "-T", table, db).CombinedOutput()
	if err != nil {
		t.Fatalf("esedbexport: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(target+".export", table+".*"))
	if len(files) != 1 {
		t.Fatalf("esedbexport wrote %v for table %s\n%s", files, table, out)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, strings.Split(sc.Text(), "\t"))
	}
	return lines
}

func goeseRows(t *testing.T, db, table string) []*ordereddict.Dict {
	t.Helper()
	f, err := os.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	ctx, err := goese.NewESEContext(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	cat, err := goese.ReadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows []*ordereddict.Dict
	if err := cat.DumpTable(table, func(d *ordereddict.Dict) error { rows = append(rows, d); return nil }); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestRoundTrip writes 3,000 rows of every column type (a three-level
// B-tree) and reads them back with esedbexport and go-ese, field by field.
func TestRoundTrip(t *testing.T) {
	tab := sampleTable(3000)
	db := writeTemp(t, []Table{tab})

	lines := exportTable(t, db, tab.Name)
	if len(lines) != len(tab.Rows)+1 {
		t.Fatalf("esedbexport: %d rows, wrote %d", len(lines)-1, len(tab.Rows))
	}
	for j, c := range tab.Columns {
		if lines[0][j] != c.Name {
			t.Fatalf("esedbexport column %d is %q, want %q", j, lines[0][j], c.Name)
		}
	}
	for i, row := range tab.Rows {
		for j, c := range tab.Columns {
			if got, want := lines[i+1][j], libesedbText(c, row[c.ID]); got != want {
				t.Fatalf("esedbexport row %d %s = %q, want %q", i, c.Name, got, want)
			}
		}
	}

	rows := goeseRows(t, db, tab.Name)
	if len(rows) != len(tab.Rows) {
		t.Fatalf("go-ese: %d rows, wrote %d", len(rows), len(tab.Rows))
	}
	for i, row := range tab.Rows {
		for _, c := range tab.Columns {
			v, ok := rows[i].Get(c.Name)
			want, set := row[c.ID]
			if !set {
				if ok && c.ID > maxFixedID {
					t.Fatalf("go-ese row %d %s = %v, want NULL", i, c.Name, v)
				}
				continue
			}
			if got := fmt.Sprint(v); got != goeseText(c, want) {
				t.Fatalf("go-ese row %d %s = %q, want %q", i, c.Name, got, goeseText(c, want))
			}
		}
	}

	// The tree really is three levels deep: root, parent pages, leaves.
	data, _ := os.ReadFile(db)
	levels := map[uint32]int{}
	for off := 2 * pageSize; off < len(data); off += pageSize {
		p := data[off : off+pageSize]
		if binary.LittleEndian.Uint32(p[24:]) == 4 { // the table's objid
			levels[binary.LittleEndian.Uint32(p[36:])&(pageRoot|pageLeaf|pageParent|pageSpaceTree)]++
		}
	}
	if levels[pageRoot|pageParent] != 1 || levels[pageParent] < 2 || levels[pageLeaf] < 200 || levels[pageRoot|pageLeaf|pageSpaceTree] != 2 {
		t.Errorf("page kinds (flags→count) %v: want one root parent, parent pages, leaves, two space pages", levels)
	}
}

// TestPagesValid checks every page of a written database: checksums,
// header fields and the leaf chain of each tree.
func TestPagesValid(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Table{sampleTable(2000)}, Options{Signature: 1}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if len(data)%pageSize != 0 {
		t.Fatalf("size %d not a whole number of pages", len(data))
	}
	if !bytes.Equal(data[:pageSize], data[pageSize:2*pageSize]) {
		t.Error("shadow header differs from header")
	}
	if headerChecksum(data[:pageSize]) != binary.LittleEndian.Uint32(data) {
		t.Error("header checksum")
	}
	for off := 2 * pageSize; off < len(data); off += pageSize {
		p := data[off : off+pageSize]
		pgno := uint32(off/pageSize - 1)
		if binary.LittleEndian.Uint64(p) == 0 {
			continue // reserved, never written
		}
		x, e := pageChecksums(p, pgno)
		if x != binary.LittleEndian.Uint32(p) || e != binary.LittleEndian.Uint32(p[4:]) {
			t.Errorf("page %d checksum", pgno)
		}
		ntags := int(binary.LittleEndian.Uint16(p[34:]))
		used := 0
		for i := 0; i < ntags; i++ {
			tag := p[pageSize-4*(i+1):]
			size, voff := int(binary.LittleEndian.Uint16(tag)), int(binary.LittleEndian.Uint16(tag[2:]))
			if voff != used {
				t.Fatalf("page %d tag %d at %d, want %d", pgno, i, voff, used)
			}
			used += size
		}
		if free := int(binary.LittleEndian.Uint16(p[28:])); free != pageSize-pageHeaderSize-used-4*ntags {
			t.Errorf("page %d: free %d, want %d", pgno, free, pageSize-pageHeaderSize-used-4*ntags)
		}
		if next := binary.LittleEndian.Uint32(p[20:]); next != 0 {
			np := data[int(next+1)*pageSize:]
			if binary.LittleEndian.Uint32(np[16:]) != pgno {
				t.Errorf("page %d → %d: back link is %d", pgno, next, binary.LittleEndian.Uint32(np[16:]))
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := Write(&a, []Table{sampleTable(500)}, Options{Signature: 9}); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, []Table{sampleTable(500)}, Options{Signature: 9}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same input, different bytes")
	}
}

// TestNullFixedColumn documents how a NULL fixed column before the last
// set one reads: the bitmap marks it NULL and the space holds 0x2a
// bytes, as in Windows' catalog rows; esedbexport ignores the bitmap
// and prints the fill, as it does for Windows' own rows.
func TestNullFixedColumn(t *testing.T) {
	tab := Table{Name: "N", Columns: []Column{{ID: 1, Name: "Id", Type: Long}, {ID: 2, Name: "Gap", Type: Long}, {ID: 3, Name: "Last", Type: Short}},
		Primary: Index{Name: "Id", Columns: []uint32{1}}, Rows: []Row{{1: 1, 3: 5}}}
	l, err := newLayout(tab, 4)
	if err != nil {
		t.Fatal(err)
	}
	es, err := l.entries()
	if err != nil {
		t.Fatal(err)
	}
	want := "037f" + "0f00" + "01000000" + "2a2a2a2a" + "0500" + "fa" // header, Id, Gap fill, Last, bitmap (bit 1 = Gap NULL; 4-8 unused)
	if got := hex.EncodeToString(es[0].data); got != want {
		t.Fatalf("record %s, want %s", got, want)
	}
	lines := exportTable(t, writeTemp(t, []Table{tab}), "N")
	if got := strings.Join(lines[1], ","); got != fmt.Sprintf("1,%d,5", int32(0x2a2a2a2a)) {
		t.Errorf("esedbexport row %q", got)
	}
}

func TestErrors(t *testing.T) {
	base := func() Table {
		return Table{Name: "E", Columns: []Column{{ID: 1, Name: "Id", Type: Long}, {ID: 256, Name: "B", Type: LongBinary}},
			Primary: Index{Name: "Id", Columns: []uint32{1}}}
	}
	cases := map[string]func(*Table){
		"duplicate key": func(t *Table) { t.Rows = []Row{{1: 1}, {1: 1}} },
		"null key":      func(t *Table) { t.Rows = []Row{{256: []byte{1}}} },
		"too long":      func(t *Table) { t.Rows = []Row{{1: 1, 256: make([]byte, maxIntrinsic+1)}} },
		"out of range":  func(t *Table) { t.Rows = []Row{{1: int64(math.MaxInt32) + 1}} },
		"wrong type":    func(t *Table) { t.Rows = []Row{{1: "one"}} },
		"no column":     func(t *Table) { t.Rows = []Row{{1: 1, 9: 1}} },
		"fixed gap":     func(t *Table) { t.Columns[0].ID = 2; t.Primary.Columns = []uint32{2} },
		"no primary":    func(t *Table) { t.Primary.Columns = nil },
		"reserved name": func(t *Table) { t.Name = "MSysObjects" },
	}
	for name, mod := range cases {
		tab := base()
		mod(&tab)
		if err := Write(&bytes.Buffer{}, []Table{tab}, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestOLEDate checks the chosen double is never below the exact time
// and less than one unit in the last place above it.
func TestOLEDate(t *testing.T) {
	for s := int64(1678111540); s < 1678111540+100000; s += 37 {
		d, err := OLEDate(unix(s))
		if err != nil {
			t.Fatal(err)
		}
		n := float64(s - oleEpoch)
		if math.FMA(d, 86400, -n) < 0 || math.FMA(math.Nextafter(d, 0), 86400, -n) >= 0 {
			t.Fatalf("%d: %v not the least double at or above", s, d)
		}
		if int64(d*86400) != s-oleEpoch {
			t.Fatalf("%d: truncating reader gets %d", s, int64(d*86400))
		}
	}
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }
