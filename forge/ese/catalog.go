package ese

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// Catalog row types.
const (
	catTable  = 1
	catColumn = 2
	catIndex  = 3
)

// The catalog's own columns, as Windows 10 defines MSysObjects.
var catalogColumns = []Column{
	{ID: 1, Name: "ObjidTable", Type: Long, Flags: 1},
	{ID: 2, Name: "Type", Type: Short, Flags: 1},
	{ID: 3, Name: "Id", Type: Long, Flags: 1},
	{ID: 4, Name: "ColtypOrPgnoFDP", Type: Long, Flags: 1},
	{ID: 5, Name: "SpaceUsage", Type: Long, Flags: 1},
	{ID: 6, Name: "Flags", Type: Long, Flags: 1},
	{ID: 7, Name: "PagesOrLocale", Type: Long, Flags: 1},
	{ID: 8, Name: "RootFlag", Type: Bit},
	{ID: 9, Name: "RecordOffset", Type: Short},
	{ID: 10, Name: "LCMapFlags", Type: Long},
	{ID: 11, Name: "KeyMost", Type: UnsignedShort},
	{ID: 12, Name: "LVChunkMax", Type: Long},
	{ID: 128, Name: "Name", Type: Text, Flags: 1},
	{ID: 129, Name: "Stats", Type: Binary},
	{ID: 130, Name: "TemplateTable", Type: Text},
	{ID: 131, Name: "DefaultValue", Type: Binary},
	{ID: 132, Name: "KeyFldIDs", Type: Binary},
	{ID: 133, Name: "VarSegMac", Type: Binary},
	{ID: 134, Name: "ConditionalColumns", Type: Binary},
	{ID: 135, Name: "TupleLimits", Type: Binary},
	{ID: 136, Name: "Version", Type: Binary},
	{ID: 137, Name: "SortID", Type: Binary},
	{ID: 256, Name: "CallbackData", Type: LongBinary},
	{ID: 257, Name: "CallbackDependencies", Type: LongBinary},
	{ID: 258, Name: "SeparateLV", Type: LongBinary},
	{ID: 259, Name: "SpaceHints", Type: LongBinary},
	{ID: 260, Name: "SpaceDeferredLVHints", Type: LongBinary},
	{ID: 261, Name: "LocaleName", Type: LongBinary},
}

func init() {
	for i := range catalogColumns {
		catalogColumns[i].CodePage = 1252
	}
}

// Values ESENT stores with every index: the LCMapString flags
// (NORM_IGNORECASE | NORM_IGNOREKANATYPE | NORM_IGNOREWIDTH |
// LCMAP_SORTKEY) and the locale name "en-US" in UTF-16.
const lcMapFlags = 0x00030401

var localeEnUS = []byte{'e', 0, 'n', 0, '-', 0, 'U', 0, 'S', 0}

func catalogTable(name string, objid uint32, pages uint32) Table {
	return Table{
		Name:    name,
		Columns: append([]Column(nil), catalogColumns...),
		Primary: Index{Name: "Id", Columns: []uint32{1, 2, 3}, Flags: 0x10031, Density: 80},
		Pages:   pages,
		Density: 80,
		Flags:   0xc0000000,
	}
}

// catalogEntries lists the catalog rows (MSysObjects, MSysObjectsShadow,
// then the tables) as sorted B-tree entries.
func catalogEntries(tables []*tableLayout, shadowRoot uint32) ([]entry, error) {
	cat, err := newLayout(catalogTable("MSysObjects", catalogObjid, 20), catalogObjid)
	if err != nil {
		return nil, err
	}
	cat.root = catalogPage
	shadow, err := newLayout(catalogTable("MSysObjectsShadow", shadowObjid, 5), shadowObjid)
	if err != nil {
		return nil, err
	}
	shadow.root = shadowRoot
	var rows []Row
	for _, t := range append([]*tableLayout{cat, shadow}, tables...) {
		rows = append(rows, catalogRows(t, t.objid >= 4)...)
	}
	cat.Rows = rows
	es, err := cat.entries()
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if !sort.SliceIsSorted(es, func(i, j int) bool { return bytes.Compare(es[i].key, es[j].key) < 0 }) {
		return nil, fmt.Errorf("catalog: entries out of order")
	}
	return es, nil
}

// catalogRows describes one table: its table row, one row per column,
// and its primary index. KeyMost (the longest key) is recorded for user
// tables' primary indexes, as Windows does.
func catalogRows(t *tableLayout, keyMost bool) []Row {
	density := t.Density
	if density == 0 {
		density = 95
	}
	rows := []Row{{
		1: t.objid, 2: catTable, 3: t.objid, 4: t.root, 5: density,
		6: int32(t.Flags), 7: t.Pages, 8: true, 128: t.Name,
	}}
	for _, c := range t.Columns {
		r := Row{1: t.objid, 2: catColumn, 3: c.ID, 4: uint32(c.Type), 5: c.Size, 6: int32(c.Flags), 7: c.CodePage, 128: c.Name}
		if off, ok := t.offset[c.ID]; ok {
			if t.objid < 4 {
				off = 4 // what Windows records for the catalog's own columns
			}
			r[9] = off
		}
		rows = append(rows, r)
	}
	ix := t.Primary
	if ix.Flags == 0 {
		ix.Flags = 0x1002f
	}
	if ix.Density == 0 {
		ix.Density = 95
	}
	var fld []byte
	most := 0
	for _, id := range ix.Columns {
		fld = binary.LittleEndian.AppendUint16(fld, 0) // ascending
		fld = binary.LittleEndian.AppendUint16(fld, uint16(id))
		most += 1 + t.byID[id].Type.fixedSize()
	}
	r := Row{
		1: t.objid, 2: catIndex, 3: t.objid, 4: t.root, 5: ix.Density, 6: int32(ix.Flags), 7: 0,
		10: lcMapFlags, 128: ix.Name, 132: fld, 261: localeEnUS,
	}
	if keyMost {
		r[11] = most
	}
	return append(rows, r)
}
