// Package srum forges the System Resource Usage Monitor database,
// Windows\System32\sru\SRUDB.dat, as Windows 10 writes it: an ESE
// database holding SruDbIdMapTable (applications and users by number)
// and the provider tables for application resource usage, network data
// usage and network connectivity, with Windows 10's table and column
// names, types and catalog values.
package srum

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/ese"
	"github.com/foothold/foothold/forge/wire"
)

// Table names.
const (
	IDMapTable               = "SruDbIdMapTable"
	AppResourceTable         = "{D10CA2FE-6FCF-4F6D-848E-B2E99266FA89}"
	NetworkUsageTable        = "{973F5D5C-1D90-4944-BE8E-24B94231A174}"
	NetworkConnectivityTable = "{DD6636C4-8929-4683-974E-22C046A43763}"
)

// IdType values of SruDbIdMapTable.
const (
	IDApp     = 0 // application: full path or "!!name!date!hash![service]" blob
	IDService = 1
	IDPackage = 2 // Store package full name
	IDUser    = 3 // binary SID
)

// DB is the content of one SRUDB.dat. Rows may be given in any order:
// each table is stored by time, and AutoIncId numbers rows 1, 2, ... in
// that order. Applications and users get their SruDbIdMapTable numbers
// (IdIndex, from 1) in order of first appearance by time.
type DB struct {
	Apps         []AppUsage        // {D10CA2FE-...FA89}
	Net          []NetUsage        // {973F5D5C-...}
	Connectivity []NetConnectivity // {DD6636C4-...}

	// Time is the database's creation and last clean shutdown time in
	// its header; zero means the latest row time.
	Time time.Time
	// Signature is the header's random database signature; fixed so the
	// same DB gives the same bytes.
	Signature uint32
	// OSBuild is the Windows build the header names (zero: 19045).
	OSBuild uint32
}

// Entity names an application and a user, resolved through
// SruDbIdMapTable. App is an application path in SRUM's form, see
// DevicePath; User is a SID string ("S-1-5-21-...-1107").
type Entity struct {
	App  string
	User string
}

// AppUsage is one row of the application resource usage table. Time is
// the SRUM TimeStamp (UTC; kept to the second, stored as an OLE date).
type AppUsage struct {
	Time time.Time
	Entity
	ForegroundCycleTime          int64
	BackgroundCycleTime          int64
	FaceTime                     int64
	ForegroundContextSwitches    int32
	BackgroundContextSwitches    int32
	ForegroundBytesRead          int64
	ForegroundBytesWritten       int64
	ForegroundNumReadOperations  int32
	ForegroundNumWriteOperations int32
	ForegroundNumberOfFlushes    int32
	BackgroundBytesRead          int64
	BackgroundBytesWritten       int64
	BackgroundNumReadOperations  int32
	BackgroundNumWriteOperations int32
	BackgroundNumberOfFlushes    int32
}

// NetUsage is one row of the network data usage table.
type NetUsage struct {
	Time time.Time
	Entity
	InterfaceLuid  int64
	L2ProfileId    int32
	L2ProfileFlags int32
	BytesSent      int64
	BytesRecvd     int64
}

// NetConnectivity is one row of the network connectivity table.
// ConnectStartTime is stored as a FILETIME (100 ns).
type NetConnectivity struct {
	Time time.Time
	Entity
	InterfaceLuid    int64
	L2ProfileId      int32
	ConnectedTime    int32 // seconds
	ConnectStartTime time.Time
	L2ProfileFlags   int32
}

// DevicePath turns a drive path into the form SRUM records applications
// by: the NT device path of the volume, lower case.
// DevicePath(3, `C:\ProgramData\TPM\TpmVscMgrSvr.exe`) is
// `\device\harddiskvolume3\programdata\tpm\tpmvscmgrsvr.exe`.
func DevicePath(volume int, path string) string {
	if len(path) >= 2 && path[1] == ':' {
		path = path[2:]
	}
	if !strings.HasPrefix(path, `\`) {
		path = `\` + path
	}
	return strings.ToLower(fmt.Sprintf(`\Device\HarddiskVolume%d%s`, volume, path))
}

// Write writes db as a SRUDB.dat to w.
func Write(w io.Writer, db DB) error {
	tables, latest, err := tables(db)
	if err != nil {
		return fmt.Errorf("srum: %w", err)
	}
	opt := ese.Options{Time: db.Time, Signature: db.Signature, OSBuild: db.OSBuild}
	if opt.Time.IsZero() {
		opt.Time = latest
	}
	if opt.OSBuild != 0 {
		opt.OSMajor = 10
	}
	if err := ese.Write(w, tables, opt); err != nil {
		return fmt.Errorf("srum: %w", err)
	}
	return nil
}

// Column identifiers shared by the provider tables.
const (
	colAutoIncID = 1
	colTimeStamp = 2
	colAppID     = 3
	colUserID    = 4
)

func providerColumns(extra ...ese.Column) []ese.Column {
	cols := []ese.Column{
		{ID: colAutoIncID, Name: "AutoIncId", Type: ese.Long, Flags: 4},
		{ID: colTimeStamp, Name: "TimeStamp", Type: ese.DateTime},
		{ID: colAppID, Name: "AppId", Type: ese.Long},
		{ID: colUserID, Name: "UserId", Type: ese.Long},
	}
	for i, c := range extra {
		c.ID = uint32(5 + i)
		cols = append(cols, c)
	}
	return cols
}

func providerTable(name string, extra ...ese.Column) ese.Table {
	return ese.Table{
		Name:    name,
		Columns: providerColumns(extra...),
		Primary: ese.Index{Name: "TimeStamp", Columns: []uint32{colTimeStamp, colAutoIncID}},
		Pages:   10,
	}
}

func i64(name string) ese.Column { return ese.Column{Name: name, Type: ese.LongLong} }
func i32(name string) ese.Column { return ese.Column{Name: name, Type: ese.Long} }

// row is one provider row before numbering.
type row struct {
	t      time.Time
	ent    Entity
	table  int
	values []any // columns 5, 6, ...
}

func tables(db DB) ([]ese.Table, time.Time, error) {
	idMap := ese.Table{
		Name: IDMapTable,
		Columns: []ese.Column{
			{ID: 1, Name: "IdType", Type: ese.UnsignedByte},
			{ID: 2, Name: "IdIndex", Type: ese.Long, Flags: 4},
			{ID: 256, Name: "IdBlob", Type: ese.LongBinary},
		},
		Primary: ese.Index{Name: "IdIndex", Columns: []uint32{2}},
	}
	provs := []ese.Table{
		providerTable(NetworkUsageTable, i64("InterfaceLuid"), i32("L2ProfileId"), i32("L2ProfileFlags"),
			i64("BytesSent"), i64("BytesRecvd")),
		providerTable(AppResourceTable, i64("ForegroundCycleTime"), i64("BackgroundCycleTime"), i64("FaceTime"),
			i32("ForegroundContextSwitches"), i32("BackgroundContextSwitches"),
			i64("ForegroundBytesRead"), i64("ForegroundBytesWritten"),
			i32("ForegroundNumReadOperations"), i32("ForegroundNumWriteOperations"), i32("ForegroundNumberOfFlushes"),
			i64("BackgroundBytesRead"), i64("BackgroundBytesWritten"),
			i32("BackgroundNumReadOperations"), i32("BackgroundNumWriteOperations"), i32("BackgroundNumberOfFlushes")),
		providerTable(NetworkConnectivityTable, i64("InterfaceLuid"), i32("L2ProfileId"), i32("ConnectedTime"),
			i64("ConnectStartTime"), i32("L2ProfileFlags")),
	}

	var rows []row
	for _, r := range db.Net {
		rows = append(rows, row{r.Time, r.Entity, 0, []any{r.InterfaceLuid, r.L2ProfileId, r.L2ProfileFlags, r.BytesSent, r.BytesRecvd}})
	}
	for _, r := range db.Apps {
		rows = append(rows, row{r.Time, r.Entity, 1, []any{r.ForegroundCycleTime, r.BackgroundCycleTime, r.FaceTime,
			r.ForegroundContextSwitches, r.BackgroundContextSwitches, r.ForegroundBytesRead, r.ForegroundBytesWritten,
			r.ForegroundNumReadOperations, r.ForegroundNumWriteOperations, r.ForegroundNumberOfFlushes,
			r.BackgroundBytesRead, r.BackgroundBytesWritten, r.BackgroundNumReadOperations,
			r.BackgroundNumWriteOperations, r.BackgroundNumberOfFlushes}})
	}
	for _, r := range db.Connectivity {
		ft, err := fileTime(r.ConnectStartTime)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: ConnectStartTime: %w", NetworkConnectivityTable, err)
		}
		rows = append(rows, row{r.Time, r.Entity, 2, []any{r.InterfaceLuid, r.L2ProfileId, r.ConnectedTime, ft, r.L2ProfileFlags}})
	}
	// Chronological, stable: the order SRUM would have inserted them.
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].t.Unix() < rows[j].t.Unix() })

	type idKey struct {
		typ  int
		name string
	}
	ids := map[idKey]int32{}
	id := func(typ int, name string) (int32, error) {
		k := idKey{typ, name}
		if n, ok := ids[k]; ok {
			return n, nil
		}
		var blob []byte
		if typ == IDUser {
			b, err := wire.SID(name)
			if err != nil {
				return 0, err
			}
			blob = b
		} else {
			if name == "" {
				return 0, fmt.Errorf("empty application name")
			}
			blob = wire.UTF16Z(name)
		}
		n := int32(len(ids) + 1)
		ids[k] = n
		idMap.Rows = append(idMap.Rows, ese.Row{1: uint8(typ), 2: n, 256: blob})
		return n, nil
	}
	var latest time.Time
	autoInc := make([]int32, len(provs))
	for _, r := range rows {
		if r.t.After(latest) {
			latest = r.t
		}
		app, err := id(IDApp, r.ent.App)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s row at %s: app: %w", provs[r.table].Name, r.t.UTC().Format(time.RFC3339), err)
		}
		user, err := id(IDUser, r.ent.User)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s row at %s: user: %w", provs[r.table].Name, r.t.UTC().Format(time.RFC3339), err)
		}
		autoInc[r.table]++
		er := ese.Row{colAutoIncID: autoInc[r.table], colTimeStamp: r.t, colAppID: app, colUserID: user}
		for i, v := range r.values {
			er[uint32(5+i)] = v
		}
		provs[r.table].Rows = append(provs[r.table].Rows, er)
	}
	return append([]ese.Table{idMap}, provs...), latest.UTC(), nil
}

// fileTime converts t to a FILETIME (100 ns ticks since 1601); zero stays 0.
func fileTime(t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	secs := t.Unix() + 11644473600
	if secs < 0 || secs > (1<<63-1)/10_000_000-1 {
		return 0, fmt.Errorf("time %s outside the FILETIME range", t.UTC().Format(time.RFC3339))
	}
	return secs*10_000_000 + int64(t.Nanosecond()/100), nil
}
