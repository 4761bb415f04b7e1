// Package srum turns the System Resource Usage Monitor database
// (Windows\System32\sru\SRUDB.dat, an ESE database) into timeline events:
// one per row of the application resource usage and network usage
// tables, with the application and user resolved through SruDbIdMapTable.
//
// The database is read through go-ese as it is: a dirty database (copied
// from a live system) is not replayed from its logs, and rows go-ese can
// reach are emitted.
package srum

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/Velocidex/ordereddict"
	"github.com/foothold/foothold/parsers/event"
	ese "www.velocidex.com/golang/go-ese/parser"
)

// Stats is what one database gave.
type Stats struct{ Records, Errors int64 }

// Table names of the providers read.
const (
	AppResourceTable = "{D10CA2FE-6FCF-4F6D-848E-B2E99266FA89}"
	NetworkTable     = "{973F5D5C-1D90-4944-BE8E-24B94231A174}"
	IDMapTable       = "SruDbIdMapTable"

	// maxSize bounds the databases accepted (real SRUDB.dat files are
	// tens of MiB at most).
	maxSize = 4 << 30
)

// IsSRUM reports whether head starts like an ESE database: the
// 0x89ABCDEF signature at offset 4. Which ESE database it is (SRUDB.dat)
// is told by its name.
func IsSRUM(head []byte) bool {
	return len(head) >= 8 && binary.LittleEndian.Uint32(head[4:]) == 0x89ABCDEF
}

type provider struct {
	table, kind, what string
}

var providers = []provider{
	{AppResourceTable, "app_usage", "application resource usage"},
	{NetworkTable, "network_usage", "network usage"},
}

// open reads the catalog under recover: go-ese panics on some damaged
// pages.
func open(r io.ReaderAt, size int64) (cat *ese.Catalog, err error) {
	defer func() {
		if p := recover(); p != nil {
			cat, err = nil, fmt.Errorf("ESE decoder panic: %v", p)
		}
	}()
	if size > maxSize {
		return nil, fmt.Errorf("%d bytes, larger than the %d accepted", size, int64(maxSize))
	}
	head := make([]byte, 8)
	if n, _ := r.ReadAt(head, 0); n < 8 || !IsSRUM(head) {
		return nil, errors.New("not an ESE database (no 0x89ABCDEF signature)")
	}
	ctx, err := ese.NewESEContext(io.NewSectionReader(r, 0, size), size)
	if err != nil {
		return nil, fmt.Errorf("ESE header: %w", err)
	}
	cat, err = ese.ReadCatalog(ctx)
	if err != nil {
		return nil, fmt.Errorf("ESE catalog: %w", err)
	}
	return cat, nil
}

// rawDates makes go-ese hand over DateTime columns of table as their raw
// 8 bytes (a uint64), by declaring them "Long long" in this catalog (ours
// alone), and returns their column flags. go-ese's own conversion rounds
// OLE dates down to whole seconds; dateValue decodes them exactly. Both
// types are read only when the column's size is 8, so no row changes
// shape.
func rawDates(cat *ese.Catalog, table string) map[string]uint32 {
	v, ok := cat.Tables.Get(table)
	if !ok {
		return nil
	}
	t, ok := v.(*ese.Table)
	if !ok {
		return nil
	}
	flags := map[string]uint32{}
	for _, c := range t.Columns {
		if c.Type == "DateTime" {
			flags[c.Name] = c.Flags
			c.Type = "Long long"
		}
	}
	return flags
}

// dump walks one table under recover, checking ctx between rows.
func dump(ctx context.Context, cat *ese.Catalog, table string, fn func(*ordereddict.Dict) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("table %s: ESE decoder panic: %v", table, p)
		}
	}()
	return cat.DumpTable(table, func(row *ordereddict.Dict) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(row)
	})
}

func hasTable(cat *ese.Catalog, name string) bool {
	_, ok := cat.Tables.Get(name)
	return ok
}

// TableRows counts the rows of every table of an ESE database, the
// figure esedbexport's per-table export gives.
func TableRows(ctx context.Context, r io.ReaderAt, size int64) (map[string]int64, error) {
	cat, err := open(r, size)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var errs []error
	for _, name := range cat.Tables.Keys() {
		n := int64(0)
		if err := dump(ctx, cat, name, func(*ordereddict.Dict) error { n++; return nil }); err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("table %s: %w", name, err))
		}
		out[name] = n
	}
	return out, errors.Join(errs...)
}

// Parse emits one event per row of the application resource usage and
// network usage tables of a SRUDB.dat.
func Parse(ctx context.Context, name string, r io.ReaderAt, size int64, sink event.Sink) (Stats, error) {
	var st Stats
	where := "srum"
	if name != "" {
		where = "srum " + name
	}
	cat, err := open(r, size)
	if err != nil {
		return st, fmt.Errorf("%s: %w", where, err)
	}
	var errs event.Errors
	ids := map[int64]idEntry{}
	if hasTable(cat, IDMapTable) {
		err := dump(ctx, cat, IDMapTable, func(row *ordereddict.Dict) error {
			idx, ok1 := intOf(row, "IdIndex")
			typ, ok2 := intOf(row, "IdType")
			if !ok1 || !ok2 {
				errs.Add(fmt.Errorf("%s: %s row without IdIndex/IdType", where, IDMapTable))
				return nil
			}
			ids[idx] = decodeID(typ, blobOf(row, "IdBlob"))
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			errs.Add(fmt.Errorf("%s: %w", where, err))
		}
	} else {
		errs.Add(fmt.Errorf("%s: no %s: applications and users stay numeric", where, IDMapTable))
	}

	for _, p := range providers {
		if !hasTable(cat, p.table) {
			continue // providers appear as the system uses them
		}
		row := int64(0)
		dates := rawDates(cat, p.table)
		err := dump(ctx, cat, p.table, func(d *ordereddict.Dict) error {
			row++
			e, err := rowEvent(p, d, ids, dates)
			if err != nil {
				errs.Add(fmt.Errorf("%s: table %s row %d: %w", where, p.table, row, err))
				st.Errors++
				return nil
			}
			e.Record = row
			if err := sink.Emit(e); err != nil {
				return err
			}
			st.Records++
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			errs.Add(fmt.Errorf("%s: table %s: %w", where, p.table, err))
		}
	}
	st.Errors = errs.Count()
	return st, errs.Err()
}

type idEntry struct {
	typ  int64
	name string // application path/name, service name, or SID
}

// decodeID decodes an IdBlob: IdType 3 is a user SID, the others are
// NUL-terminated UTF-16 names (application paths, services, packages).
func decodeID(typ int64, blob []byte) idEntry {
	if typ == 3 {
		return idEntry{typ, sidString(blob)}
	}
	u := make([]uint16, 0, len(blob)/2)
	for i := 0; i+1 < len(blob); i += 2 {
		c := binary.LittleEndian.Uint16(blob[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return idEntry{typ, string(utf16.Decode(u))}
}

// sidString renders a binary SID as S-1-...; malformed blobs as hex.
func sidString(b []byte) string {
	if len(b) < 8 || b[0] != 1 || len(b) != 8+4*int(b[1]) {
		return fmt.Sprintf("%x", b)
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "S-1-%d", auth)
	for i := 0; i < int(b[1]); i++ {
		fmt.Fprintf(&sb, "-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return sb.String()
}

func intOf(d *ordereddict.Dict, key string) (int64, bool) {
	v, ok := d.Get(key)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}

func blobOf(d *ordereddict.Dict, key string) []byte {
	v, _ := d.Get(key)
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		// go-ese hands binary columns over as hex text.
		if b, err := hex.DecodeString(x); err == nil {
			return b
		}
		return []byte(x)
	}
	return nil
}

// snake turns a column name (ForegroundCycleTime) into a field name
// (foreground_cycle_time).
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && (rs[i-1] >= 'a' && rs[i-1] <= 'z' || i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z' && rs[i-1] >= 'A' && rs[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// renamed gives the contract names of the columns the linking relies on.
var renamed = map[string]string{"BytesRecvd": "bytes_received", "AutoIncId": "auto_inc_id"}

// filetimeColumns are the SRUM columns that hold a FILETIME in a 64-bit
// integer column (network connectivity, app timeline, energy usage
// tables). The two provider tables read today have none; naming them
// here keeps their 100 ns if a provider that has them is added.
var filetimeColumns = map[string]bool{
	"ConnectStartTime": true, "StartTime": true, "EndTime": true, "EventTimestamp": true,
}

// rowEvent turns one provider row into an event. dates holds the flags
// of the row's DateTime columns, which rawDates made go-ese return raw.
func rowEvent(p provider, d *ordereddict.Dict, ids map[int64]idEntry, dates map[string]uint32) (*event.Event, error) {
	tsv, ok := d.Get("TimeStamp")
	if !ok {
		return nil, errors.New("no TimeStamp")
	}
	var ts event.FileTime
	var tsErr error
	if flags, isDate := dates["TimeStamp"]; isDate {
		ts, tsErr = timeValue(tsv, flags)
	} else if x, ok := tsv.(uint64); ok {
		ts = event.FileTime(x) // a 64-bit integer column: a FILETIME
	} else {
		tsErr = fmt.Errorf("value of type %T", tsv)
	}
	appID, _ := intOf(d, "AppId")
	userID, _ := intOf(d, "UserId")
	app, user := ids[appID].name, ids[userID].name
	if ids[userID].typ != 3 {
		user = ""
	}
	e := &event.Event{
		Time: ts, TimeDesc: "SRUM entry", Artifact: event.SRUM, Type: p.kind, Path: app, User: user, Offset: -1,
	}
	if tsErr != nil {
		e.Add("time_error", "TimeStamp: "+tsErr.Error())
	}
	// AppId and UserId index SruDbIdMapTable; app_id is a jump list's
	// AppID (a hex string) elsewhere, and one name with two types is a
	// mapping conflict in Timesketch's OpenSearch index.
	e.Add("table", p.table).Add("app_index", appID).Add("app", app).Add("user_index", userID).Add("user_sid", user)
	if strings.Contains(app, `\`) {
		e.Add("target_path", app)
	}
	keys := d.Keys()
	for _, k := range keys {
		switch k {
		case "TimeStamp", "AppId", "UserId":
			continue
		}
		v, _ := d.Get(k)
		name := renamed[k]
		if name == "" {
			name = snake(k)
		}
		if flags, ok := dates[k]; ok {
			t, err := timeValue(v, flags)
			e.Add(name, t)
			if err != nil {
				e.Add(name+"_error", err.Error())
			}
			continue
		}
		switch x := v.(type) {
		case []byte:
			e.Add(name, fmt.Sprintf("%x", x))
		case uint64:
			if filetimeColumns[k] {
				e.Add(name, event.FileTime(x))
			} else {
				e.Add(name, v)
			}
		default:
			e.Add(name, v)
		}
	}
	label := app
	if label == "" {
		label = fmt.Sprintf("app id %d", appID)
	}
	switch p.kind {
	case "network_usage":
		sent, _ := intOf(d, "BytesSent")
		recv, _ := intOf(d, "BytesRecvd")
		e.Message = fmt.Sprintf("%s sent %d and received %d bytes", label, sent, recv)
	default:
		fg, _ := intOf(d, "ForegroundCycleTime")
		bg, _ := intOf(d, "BackgroundCycleTime")
		e.Message = fmt.Sprintf("%s used %d foreground and %d background CPU cycles", label, fg, bg)
	}
	if user != "" {
		e.Message += " as " + user
	}
	return e, nil
}

// timeValue decodes a DateTime column handed over raw (see rawDates).
// Anything else, such as a multi-valued column, is reported rather than
// guessed at.
func timeValue(v any, flags uint32) (event.FileTime, error) {
	raw, ok := v.(uint64)
	if !ok {
		return 0, fmt.Errorf("DateTime value of type %T", v)
	}
	return dateValue(raw, flags)
}
