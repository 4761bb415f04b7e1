package ese

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// Column describes one column of a table. ID places it: 1-127 fixed
// size, 128-255 variable size (up to 255 bytes), 256 and up tagged.
type Column struct {
	ID       uint32
	Name     string
	Type     ColumnType
	Flags    uint32 // catalog flags, as ESENT stores them
	CodePage uint32 // 1200 (UTF-16), 1252, or 0 for non-text columns
	// Size is the catalog's SpaceUsage. Zero means the type's size for
	// fixed columns, 255 for variable ones and 0 for tagged ones.
	Size uint32
}

// Index is a table's primary (clustered) index: rows are stored in the
// order of its key. Columns are ascending key columns; they must be
// fixed-size integer, floating point or date columns, never NULL, and
// together unique.
type Index struct {
	Name    string
	Columns []uint32
	Flags   uint32 // catalog flags; 0 means 0x1002f (unique, primary, no NULLs)
	Density uint32 // catalog SpaceUsage; 0 means 95 (percent)
}

// Table is one table: its schema and its rows.
type Table struct {
	Name    string
	Columns []Column
	Primary Index
	// Pages is the table's initial size in pages as the catalog records
	// it (cosmetic: the writer allocates what the rows need).
	Pages   uint32
	Density uint32 // catalog SpaceUsage; 0 means 95
	Flags   uint32 // catalog table flags
	Rows    []Row
}

// Row maps column IDs to values; a missing or nil value is NULL. Values
// by column type: Bit bool; integer types any Go integer in range;
// IEEESingle float32; IEEEDouble float64; DateTime time.Time (stored as
// an OLE date, see OLEDate) or a raw float64; Binary and LongBinary
// []byte; Text and LongText string (UTF-16LE for code page 1200, ASCII
// otherwise) or raw []byte; GUID [16]byte.
type Row map[uint32]any

// Options are the database-wide values of the header.
type Options struct {
	// Time is when the database was created, attached and cleanly
	// detached (the header's log times). Zero means 2000-01-01.
	Time time.Time
	// Signature is the random number of the database signature; fixed
	// here so the same input gives the same bytes.
	Signature uint32
	// OSMajor, OSMinor, OSBuild, OSServicePack: the Windows version the
	// header says last updated the indexes. Zero means 10.0.19045 SP0.
	OSMajor, OSMinor, OSBuild, OSServicePack uint32
}

const (
	pageSize       = 4096
	pageHeaderSize = 40
	formatVersion  = 0x620
	// formatRevision: what Windows 10 ESENT creates a database with
	// (the samples' "created in format 0x620,20"). Revision 0x14 uses the
	// same 4 KiB page layout and checksums as the later ones.
	formatRevision = 0x14

	// Page flags. Every page also carries 0x0800 and 0x8000 as ESENT
	// writes them, and 0x2000: new record format, XOR+ECC checksums.
	pageRoot      = 0x0001
	pageLeaf      = 0x0002
	pageParent    = 0x0004
	pageSpaceTree = 0x0020
	pageCommon    = 0xa800

	rootHeaderSize = 16
	dbRootPage     = 1
	catalogPage    = 4  // fixed: readers look for the catalog here
	shadowPage     = 24 // and for the shadow catalog here (libesedb)
	shadowPages    = 5  // what Windows reserves for the shadow catalog
	catalogObjid   = 2
	shadowObjid    = 3
)

// Write writes a database holding tables (in catalog order after
// MSysObjects and MSysObjectsShadow) to w.
func Write(w io.Writer, tables []Table, opt Options) error {
	db, err := build(tables, opt)
	if err != nil {
		return err
	}
	_, err = w.Write(db)
	return err
}

// tableLayout is a table ready for writing.
type tableLayout struct {
	Table
	objid  uint32
	byID   map[uint32]*Column
	key    []*Column
	offset map[uint32]int // record offset of fixed columns
	pages  []*page        // root first
	root   uint32
}

type entry struct{ key, data []byte }

func newLayout(t Table, objid uint32) (*tableLayout, error) {
	l := &tableLayout{Table: t, objid: objid, byID: map[uint32]*Column{}, offset: map[uint32]int{}}
	if t.Name == "" || len(t.Name) > 64 {
		return nil, fmt.Errorf("table name %q: empty or longer than 64", t.Name)
	}
	sort.SliceStable(l.Columns, func(i, j int) bool { return l.Columns[i].ID < l.Columns[j].ID })
	off := 4
	for i := range l.Columns {
		c := &l.Columns[i]
		if c.ID == 0 || l.byID[c.ID] != nil {
			return nil, fmt.Errorf("table %s: column %s: identifier %d zero or repeated", t.Name, c.Name, c.ID)
		}
		l.byID[c.ID] = c
		switch {
		case c.ID <= maxFixedID:
			if c.ID != uint32(i+1) {
				return nil, fmt.Errorf("table %s: fixed columns must be numbered 1, 2, ... (column %s is %d)", t.Name, c.Name, c.ID)
			}
			if c.Type.fixedSize() == 0 {
				return nil, fmt.Errorf("table %s: column %s: type %d cannot be fixed size", t.Name, c.Name, c.Type)
			}
			l.offset[c.ID] = off
			off += c.Type.fixedSize()
			if c.Size == 0 {
				c.Size = uint32(c.Type.fixedSize())
			}
		case c.ID <= maxVariableID:
			switch c.Type {
			case Binary, Text:
			default:
				return nil, fmt.Errorf("table %s: column %s: variable columns must be Binary or Text", t.Name, c.Name)
			}
			if c.Size == 0 {
				c.Size = 255
			}
		default:
			if fs := c.Type.fixedSize(); fs != 0 && c.Size == 0 {
				c.Size = uint32(fs)
			}
		}
	}
	if len(t.Primary.Columns) == 0 {
		return nil, fmt.Errorf("table %s: no primary index columns", t.Name)
	}
	for _, id := range t.Primary.Columns {
		c := l.byID[id]
		if c == nil || id > maxFixedID {
			return nil, fmt.Errorf("table %s: primary index column %d is not a fixed column", t.Name, id)
		}
		l.key = append(l.key, c)
	}
	return l, nil
}

// entries encodes the rows as sorted, unique (key, record) pairs.
func (l *tableLayout) entries() ([]entry, error) {
	es := make([]entry, 0, len(l.Rows))
	for i, row := range l.Rows {
		vals := map[uint32][]byte{}
		for id, v := range row {
			if v == nil {
				continue
			}
			c := l.byID[id]
			if c == nil {
				return nil, fmt.Errorf("table %s row %d: no column %d", l.Name, i, id)
			}
			b, err := encodeValue(c, v)
			if err != nil {
				return nil, fmt.Errorf("table %s row %d: %w", l.Name, i, err)
			}
			switch {
			case id <= maxFixedID:
			case id <= maxVariableID:
				if len(b) > 255 {
					return nil, fmt.Errorf("table %s row %d: column %s: %d bytes, more than 255", l.Name, i, c.Name, len(b))
				}
			default:
				if len(b) > maxIntrinsic {
					return nil, fmt.Errorf("table %s row %d: column %s: %d bytes, more than the %d kept in a record", l.Name, i, c.Name, len(b), maxIntrinsic)
				}
			}
			vals[id] = b
		}
		kv := make([][]byte, len(l.key))
		for j, c := range l.key {
			kv[j] = vals[c.ID]
		}
		key, err := normalizedKey(l.key, kv)
		if err != nil {
			return nil, fmt.Errorf("table %s row %d: %w", l.Name, i, err)
		}
		rec, err := encodeRecord(l, vals)
		if err != nil {
			return nil, fmt.Errorf("table %s row %d: %w", l.Name, i, err)
		}
		es = append(es, entry{key, rec})
	}
	sort.SliceStable(es, func(i, j int) bool { return bytes.Compare(es[i].key, es[j].key) < 0 })
	for i := 1; i < len(es); i++ {
		if bytes.Equal(es[i-1].key, es[i].key) {
			return nil, fmt.Errorf("table %s: two rows with the same primary key %x", l.Name, es[i].key)
		}
	}
	return es, nil
}

// page is one database page before numbering is final.
type page struct {
	pgno       uint32
	flags      uint32
	objid      uint32
	prev, next uint32
	tag0       []byte // external header: root/space header or common key
	values     [][]byte
}

// capacity is the room for values and their tags on an empty page.
const capacity = pageSize - pageHeaderSize

func (p *page) used() int {
	n := len(p.tag0) + 4
	for _, v := range p.values {
		n += len(v) + 4
	}
	return n
}

// bytes lays the page out: header, values from the front, tags (4 bytes
// each: size, then offset) from the back, tag 0 last in memory order.
func (p *page) bytes(dbtime uint64) ([]byte, error) {
	if p.used() > capacity {
		return nil, fmt.Errorf("page %d overflows (%d bytes)", p.pgno, p.used())
	}
	b := make([]byte, pageSize)
	binary.LittleEndian.PutUint64(b[8:], dbtime)
	binary.LittleEndian.PutUint32(b[16:], p.prev)
	binary.LittleEndian.PutUint32(b[20:], p.next)
	binary.LittleEndian.PutUint32(b[24:], p.objid)
	all := append([][]byte{p.tag0}, p.values...)
	off := 0
	for i, v := range all {
		copy(b[pageHeaderSize+off:], v)
		t := pageSize - 4*(i+1)
		binary.LittleEndian.PutUint16(b[t:], uint16(len(v)))
		binary.LittleEndian.PutUint16(b[t+2:], uint16(off))
		off += len(v)
	}
	binary.LittleEndian.PutUint16(b[28:], uint16(capacity-p.used())) // free bytes
	binary.LittleEndian.PutUint16(b[30:], 0)                         // uncommitted free bytes
	binary.LittleEndian.PutUint16(b[32:], uint16(off))               // first free byte
	binary.LittleEndian.PutUint16(b[34:], uint16(len(all)))          // tags in use
	binary.LittleEndian.PutUint32(b[36:], p.flags|pageCommon)
	x, e := pageChecksums(b, p.pgno)
	binary.LittleEndian.PutUint32(b[0:], x)
	binary.LittleEndian.PutUint32(b[4:], e)
	return b, nil
}

func leafValue(e entry) []byte {
	v := binary.LittleEndian.AppendUint16(nil, uint16(len(e.key)))
	v = append(v, e.key...)
	return append(v, e.data...)
}

// btree lays out sorted entries as a B-tree owned by objid whose root is
// page root, followed by its owned-space and available-space pages; the
// other pages follow from first on. It returns the pages, root first.
func btree(es []entry, objid, root, parentFDP, reserve uint32) ([]*page, error) {
	rootHeader := func(pages uint32) []byte {
		h := make([]byte, rootHeaderSize)
		binary.LittleEndian.PutUint32(h[0:], pages)     // initial (here: owned) pages
		binary.LittleEndian.PutUint32(h[4:], parentFDP) // parent FDP page
		binary.LittleEndian.PutUint32(h[8:], 1)         // multiple extents: space trees below
		binary.LittleEndian.PutUint32(h[12:], root+1)   // owned-space tree page
		return h
	}
	rootPage := &page{pgno: root, objid: objid, flags: pageRoot | pageLeaf, tag0: rootHeader(0)}
	for _, e := range es {
		v := leafValue(e)
		if len(v)+4+rootHeaderSize+4 > capacity {
			return nil, fmt.Errorf("object %d: a row of %d bytes does not fit a page", objid, len(v))
		}
		rootPage.values = append(rootPage.values, v)
	}
	next := root + 3
	var others []*page
	if rootPage.used() > capacity {
		// Leaves, then parent levels until one page holds them all.
		type child struct {
			first []byte
			pgno  uint32
		}
		var level []child
		var cur *page
		for _, e := range es {
			v := leafValue(e)
			if cur == nil || cur.used()+len(v)+4 > capacity {
				cur = &page{pgno: next, objid: objid, flags: pageLeaf}
				next++
				if n := len(others); n > 0 {
					others[n-1].next = cur.pgno
					cur.prev = others[n-1].pgno
				}
				others = append(others, cur)
				level = append(level, child{e.key, cur.pgno})
			}
			cur.values = append(cur.values, v)
		}
		for {
			// A branch entry's key is the first key of the next child:
			// every key below it is smaller. The last entry has none.
			vals := make([][]byte, len(level))
			for i, c := range level {
				var k []byte
				if i+1 < len(level) {
					k = level[i+1].first
				}
				v := binary.LittleEndian.AppendUint16(nil, uint16(len(k)))
				v = append(v, k...)
				vals[i] = binary.LittleEndian.AppendUint32(v, c.pgno)
			}
			rootPage.flags = pageRoot | pageParent
			rootPage.values = vals
			if rootPage.used() <= capacity {
				break
			}
			var up []child
			cur = nil
			for i, v := range vals {
				if cur == nil || cur.used()+len(v)+4 > capacity {
					cur = &page{pgno: next, objid: objid, flags: pageParent}
					next++
					others = append(others, cur)
					up = append(up, child{level[i].first, cur.pgno})
				}
				cur.values = append(cur.values, v)
			}
			level = up
		}
	}
	used := next - root
	owned := max(used, reserve)
	rootPage.tag0 = rootHeader(owned)
	// Reserved pages beyond the used ones stay zero (never written) and
	// are listed as available.
	return append([]*page{rootPage, spacePage(objid, root+1, root, owned), spacePage(objid, root+2, next, owned-used)}, others...), nil
}

// spacePage is a one-page space tree listing one extent of n pages
// starting at first, or none when n is 0.
func spacePage(objid, pgno, first, n uint32) *page {
	p := &page{pgno: pgno, objid: objid, flags: pageRoot | pageLeaf | pageSpaceTree, tag0: make([]byte, rootHeaderSize)}
	if n > 0 {
		// Key: the extent's last page, big-endian; data: its page count.
		v := []byte{4, 0}
		v = binary.BigEndian.AppendUint32(v, first+n-1)
		p.values = [][]byte{binary.LittleEndian.AppendUint32(v, n)}
	}
	return p
}

func build(tables []Table, opt Options) ([]byte, error) {
	if opt.Time.IsZero() {
		opt.Time = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opt.OSMajor == 0 {
		opt.OSMajor, opt.OSMinor, opt.OSBuild = 10, 0, 19045
	}
	names := map[string]bool{"MSysObjects": true, "MSysObjectsShadow": true}
	var layouts []*tableLayout
	objid := uint32(shadowObjid)
	for _, t := range tables {
		if names[t.Name] {
			return nil, fmt.Errorf("table %s defined twice", t.Name)
		}
		names[t.Name] = true
		objid++
		l, err := newLayout(t, objid)
		if err != nil {
			return nil, err
		}
		layouts = append(layouts, l)
	}

	// Table trees first (their root pages go into the catalog), then the
	// catalog on page 4, then the shadow catalog. The catalog's size
	// depends only on the schema, so it is built twice: once to learn
	// its size with placeholder page numbers, once for real.
	catEntries := func(shadowRoot uint32) ([]entry, error) {
		return catalogEntries(layouts, shadowRoot)
	}
	es, err := catEntries(0)
	if err != nil {
		return nil, err
	}
	probe, err := btree(es, catalogObjid, catalogPage, dbRootPage, 0)
	if err != nil {
		return nil, err
	}
	if catalogPage+uint32(len(probe)) > shadowPage {
		return nil, fmt.Errorf("catalog needs %d pages; more than the %d before the shadow catalog", len(probe), shadowPage-catalogPage)
	}
	shadowRoot := uint32(shadowPage)
	next := shadowRoot + max(uint32(len(probe)), shadowPages)
	for _, l := range layouts {
		es, err := l.entries()
		if err != nil {
			return nil, err
		}
		l.root = next
		if l.pages, err = btree(es, l.objid, next, dbRootPage, 0); err != nil {
			return nil, fmt.Errorf("table %s: %w", l.Name, err)
		}
		next += uint32(len(l.pages))
	}
	if es, err = catEntries(shadowRoot); err != nil {
		return nil, err
	}
	catalog, err := btree(es, catalogObjid, catalogPage, dbRootPage, shadowPage-catalogPage)
	if err != nil {
		return nil, err
	}
	shadow, err := btree(es, shadowObjid, shadowRoot, dbRootPage, shadowPages)
	if err != nil {
		return nil, err
	}
	if len(catalog) != len(probe) {
		return nil, errors.New("catalog size changed between passes")
	}

	last := next - 1
	dbRoot := &page{pgno: dbRootPage, objid: 1, flags: pageRoot | pageLeaf}
	dbRoot.tag0 = make([]byte, rootHeaderSize)
	binary.LittleEndian.PutUint32(dbRoot.tag0[0:], last) // the file's pages
	binary.LittleEndian.PutUint32(dbRoot.tag0[8:], 1)
	binary.LittleEndian.PutUint32(dbRoot.tag0[12:], dbRootPage+1)
	pages := []*page{dbRoot, spacePage(1, 2, 1, last), spacePage(1, 3, 0, 0)}
	pages = append(pages, catalog...)
	pages = append(pages, shadow...)
	for _, l := range layouts {
		pages = append(pages, l.pages...)
	}

	out := make([]byte, (int(last)+2)*pageSize)
	seen := map[uint32]bool{}
	for i, p := range pages {
		if p.pgno < 1 || p.pgno > last || seen[p.pgno] {
			return nil, fmt.Errorf("internal: page %d laid out twice or outside 1-%d", p.pgno, last)
		}
		seen[p.pgno] = true
		b, err := p.bytes(uint64(i + 1))
		if err != nil {
			return nil, err
		}
		copy(out[int(p.pgno+1)*pageSize:], b)
	}
	hdr := fileHeader(opt, uint64(len(pages)+1), objid)
	copy(out, hdr)
	copy(out[pageSize:], hdr)
	return out, nil
}

// logTime encodes a JET_LOGTIME: seconds, minutes, hours, day, month,
// years since 1900, then a byte whose bit 0 says the time is UTC (the
// rest, and the last byte, hold milliseconds; kept zero).
func logTime(t time.Time) []byte {
	t = t.UTC()
	return []byte{byte(t.Second()), byte(t.Minute()), byte(t.Hour()), byte(t.Day()), byte(t.Month()), byte(t.Year() - 1900), 1, 0}
}

// fileHeader builds the database header page of a cleanly shut down
// database. Log positions stay zero: there are no log files.
func fileHeader(opt Options, dbtime uint64, lastObjid uint32) []byte {
	h := make([]byte, pageSize)
	le := binary.LittleEndian
	le.PutUint32(h[4:], 0x89abcdef)
	le.PutUint32(h[8:], formatVersion)
	le.PutUint32(h[12:], 0) // database file
	le.PutUint64(h[16:], dbtime)
	sig := func(b []byte) { // JET_SIGNATURE: random, creation time, computer name (empty)
		le.PutUint32(b, opt.Signature)
		copy(b[4:], logTime(opt.Time))
	}
	sig(h[24:])
	le.PutUint32(h[52:], 3) // clean shutdown
	copy(h[64:], logTime(opt.Time))
	copy(h[72:], logTime(opt.Time))
	copy(h[88:], logTime(opt.Time))
	le.PutUint32(h[104:], 1) // database id
	sig(h[108:])             // log signature
	le.PutUint32(h[212:], lastObjid)
	le.PutUint32(h[216:], opt.OSMajor)
	le.PutUint32(h[220:], opt.OSMinor)
	le.PutUint32(h[224:], opt.OSBuild)
	le.PutUint32(h[228:], opt.OSServicePack)
	le.PutUint32(h[232:], formatRevision)
	le.PutUint32(h[236:], pageSize)
	le.PutUint32(h[340:], formatVersion) // format created in
	le.PutUint32(h[344:], formatRevision)
	le.PutUint32(h[508:], 0xffffffff) // NLS version unknown, as Windows 10 leaves it
	le.PutUint32(h[512:], 0xffffffff)
	le.PutUint32(h[664:], 0x01000000) // extended header fields present (eseutil shows the ECC counters)
	le.PutUint32(h[0:], headerChecksum(h))
	return h
}
