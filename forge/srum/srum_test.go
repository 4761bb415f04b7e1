package srum

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/foothold/foothold/internal/testimg"
	"github.com/foothold/foothold/parsers/event"
	psrum "github.com/foothold/foothold/parsers/srum"
)

const (
	trader = "S-1-5-21-3623811015-3361044348-30300820-1107"
	system = "S-1-5-18" // binary form verified in the Windows 10 sample: 010100000000000512000000
	local  = "S-1-5-19" // and 010100000000000513000000
)

var apps = []string{
	DevicePath(3, `C:\ProgramData\TPM\TpmVscMgrSvr.exe`),
	DevicePath(3, `C:\Program Files\Google\Chrome\Application\chrome.exe`),
	`!!svchost.exe!1972/12/14:16:22:50!1c364![netsvcs] [wuauserv]`,
	DevicePath(3, `C:\Windows\System32\taskhostw.exe`),
}

var users = []string{trader, system, local}

// sampleDB has n rows per provider table, hourly from the backdoor's
// start, in an order that is not chronological.
func sampleDB(n int) DB {
	t0 := time.Date(2023, 3, 6, 14, 5, 40, 0, time.UTC)
	var db DB
	db.Signature = 0x57530001
	for i := n - 1; i >= 0; i-- {
		at := t0.Add(time.Duration(i) * time.Hour)
		e := Entity{App: apps[i%len(apps)], User: users[i%len(users)]}
		db.Net = append(db.Net, NetUsage{Time: at, Entity: e, InterfaceLuid: 1689399632855040 + int64(i%2),
			L2ProfileId: int32(i % 3), L2ProfileFlags: int32(i % 2), BytesSent: int64(i) * 1001, BytesRecvd: int64(i)*77777 + 5})
		db.Apps = append(db.Apps, AppUsage{Time: at.Add(time.Minute), Entity: e,
			ForegroundCycleTime: int64(i) * 123456789, BackgroundCycleTime: int64(i) << 33, FaceTime: int64(i) * 10000000,
			ForegroundContextSwitches: int32(i), BackgroundContextSwitches: int32(2 * i),
			ForegroundBytesRead: int64(i) * 4096, ForegroundBytesWritten: int64(i) * 512,
			ForegroundNumReadOperations: int32(i + 1), ForegroundNumWriteOperations: int32(i + 2), ForegroundNumberOfFlushes: int32(i % 7),
			BackgroundBytesRead: -1, BackgroundBytesWritten: int64(i) * 3,
			BackgroundNumReadOperations: int32(i + 3), BackgroundNumWriteOperations: int32(i + 4), BackgroundNumberOfFlushes: int32(i % 5)})
		if i%10 == 0 {
			db.Connectivity = append(db.Connectivity, NetConnectivity{Time: at, Entity: e, InterfaceLuid: 1689399632855040,
				L2ProfileId: 3, ConnectedTime: 3600, ConnectStartTime: at.Add(-time.Hour + 1234567*time.Nanosecond), L2ProfileFlags: 1})
		}
	}
	return db
}

// xrow is one expected provider xrow: column name → value.
type xrow map[string]any

// expected lists each provider table's rows as they must read back:
// sorted by time, numbered from 1, ids from the expected id map.
func expected(db DB) (map[string][]xrow, map[string]int, map[string]int) {
	type r struct {
		t     time.Time
		table string
		cols  xrow
		e     Entity
	}
	var all []r
	for _, x := range db.Net {
		all = append(all, r{x.Time, NetworkUsageTable, xrow{"InterfaceLuid": x.InterfaceLuid, "L2ProfileId": x.L2ProfileId,
			"L2ProfileFlags": x.L2ProfileFlags, "BytesSent": x.BytesSent, "BytesRecvd": x.BytesRecvd}, x.Entity})
	}
	for _, x := range db.Apps {
		all = append(all, r{x.Time, AppResourceTable, xrow{"ForegroundCycleTime": x.ForegroundCycleTime,
			"BackgroundCycleTime": x.BackgroundCycleTime, "FaceTime": x.FaceTime,
			"ForegroundContextSwitches": x.ForegroundContextSwitches, "BackgroundContextSwitches": x.BackgroundContextSwitches,
			"ForegroundBytesRead": x.ForegroundBytesRead, "ForegroundBytesWritten": x.ForegroundBytesWritten,
			"ForegroundNumReadOperations": x.ForegroundNumReadOperations, "ForegroundNumWriteOperations": x.ForegroundNumWriteOperations,
			"ForegroundNumberOfFlushes": x.ForegroundNumberOfFlushes, "BackgroundBytesRead": x.BackgroundBytesRead,
			"BackgroundBytesWritten": x.BackgroundBytesWritten, "BackgroundNumReadOperations": x.BackgroundNumReadOperations,
			"BackgroundNumWriteOperations": x.BackgroundNumWriteOperations, "BackgroundNumberOfFlushes": x.BackgroundNumberOfFlushes}, x.Entity})
	}
	for _, x := range db.Connectivity {
		all = append(all, r{x.Time, NetworkConnectivityTable, xrow{"InterfaceLuid": x.InterfaceLuid, "L2ProfileId": x.L2ProfileId,
			"ConnectedTime": x.ConnectedTime, "ConnectStartTime": x.ConnectStartTime, "L2ProfileFlags": x.L2ProfileFlags}, x.Entity})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	appIDs, userIDs := map[string]int{}, map[string]int{}
	next := 1
	out := map[string][]xrow{}
	for _, x := range all {
		if _, ok := appIDs[x.e.App]; !ok {
			appIDs[x.e.App] = next
			next++
		}
		if _, ok := userIDs[x.e.User]; !ok {
			userIDs[x.e.User] = next
			next++
		}
		x.cols["AutoIncId"] = len(out[x.table]) + 1
		x.cols["TimeStamp"] = x.t
		x.cols["AppId"] = appIDs[x.e.App]
		x.cols["UserId"] = userIDs[x.e.User]
		x.cols["app"] = x.e.App
		x.cols["user"] = x.e.User
		out[x.table] = append(out[x.table], x.cols)
	}
	return out, appIDs, userIDs
}

// sidHex encodes a SID for comparison, independently of wire.SID.
func sidHex(s string) string {
	p := strings.Split(s, "-")
	auth, _ := strconv.ParseUint(p[2], 10, 64)
	b := []byte{1, byte(len(p) - 3), 0, 0, 0, 0, 0, byte(auth)}
	for _, x := range p[3:] {
		v, _ := strconv.ParseUint(x, 10, 32)
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return hex.EncodeToString(b)
}

func utf16Hex(s string) string {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return hex.EncodeToString(append(b, 0, 0))
}

func writeDB(t *testing.T, db DB) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, db); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "SRUDB.dat")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// export runs esedbexport on db and returns every table's lines as
// fields, header first, by table name.
func export(t *testing.T, db string) map[string][][]string {
	t.Helper()
	if _, err := exec.LookPath("esedbexport"); err != nil {
		t.Skip("esedbexport not installed")
	}
	target := filepath.Join(t.TempDir(), "x")
	out, err := exec.Command("esedbexport", "-t", target, db).CombinedOutput()
	if err != nil {
		t.Fatalf("esedbexport %s: %v\n%s", db, err, out)
	}
	files, _ := filepath.Glob(filepath.Join(target+".export", "*"))
	tables := map[string][][]string{}
	for _, f := range files {
		name := filepath.Base(f)
		name = name[:strings.LastIndexByte(name, '.')]
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			tables[name] = append(tables[name], strings.Split(sc.Text(), "\t"))
		}
		fh.Close()
	}
	return tables
}

// libesedbTime parses esedbexport's date and time ("Mar 06, 2023
// 14:05:40.000000223").
func libesedbTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("Jan 02, 2006 15:04:05.999999999", s)
	if err != nil {
		t.Fatalf("esedbexport time %q: %v", s, err)
	}
	return v
}

// closeAbove reports whether got is at or up to 1 µs after want: an OLE
// date's double resolves about 0.6 µs in 2023, and the writer picks the
// double at or just above the exact second.
func closeAbove(got, want time.Time) bool {
	d := got.Sub(want)
	return d >= 0 && d < time.Microsecond
}

func testEsedbexport(t *testing.T, db DB) {
	path := writeDB(t, db)
	tables := export(t, path)
	want, appIDs, userIDs := expected(db)

	ids := tables[IDMapTable]
	if len(ids) != 1+len(appIDs)+len(userIDs) || strings.Join(ids[0], ",") != "IdType,IdIndex,IdBlob" {
		t.Fatalf("%s: %d lines, header %v", IDMapTable, len(ids), ids[0])
	}
	gotIDs := map[string]string{}
	for _, l := range ids[1:] {
		gotIDs[l[1]] = l[0] + " " + l[2]
	}
	for app, n := range appIDs {
		if got, w := gotIDs[strconv.Itoa(n)], "0 "+utf16Hex(app); got != w {
			t.Errorf("IdIndex %d = %q, want %q", n, got, w)
		}
	}
	for user, n := range userIDs {
		if got, w := gotIDs[strconv.Itoa(n)], "3 "+sidHex(user); got != w {
			t.Errorf("IdIndex %d = %q, want %q", n, got, w)
		}
	}

	for _, table := range []string{NetworkUsageTable, AppResourceTable, NetworkConnectivityTable} {
		lines := tables[table]
		if len(lines) != len(want[table])+1 {
			t.Fatalf("%s: %d rows, want %d", table, len(lines)-1, len(want[table]))
		}
		for i, w := range want[table] {
			if len(lines[i+1]) != len(lines[0]) {
				t.Fatalf("%s xrow %d: %d fields", table, i, len(lines[i+1]))
			}
			for j, col := range lines[0] {
				got := lines[i+1][j]
				wv, ok := w[col]
				if !ok {
					t.Fatalf("%s: unexpected column %s", table, col)
				}
				switch x := wv.(type) {
				case time.Time:
					if col == "ConnectStartTime" { // a FILETIME: printed to the 100 ns
						if w := x.UTC().Format("Jan 02, 2006 15:04:05.0000000") + "00"; got != w {
							t.Errorf("%s xrow %d %s = %q, want %q", table, i, col, got, w)
						}
					} else if g := libesedbTime(t, got); !closeAbove(g, x) {
						t.Errorf("%s xrow %d %s = %s, want %s", table, i, col, g, x)
					}
				default:
					if got != fmt.Sprint(x) {
						t.Errorf("%s xrow %d %s = %q, want %v", table, i, col, got, x)
					}
				}
			}
		}
	}
}

// TestEsedbexport: every table and every xrow and value read back by
// libesedb's esedbexport (which recognises a SRUM database and prints
// TimeStamp as an OLE date and ConnectStartTime as a FILETIME).
func TestEsedbexport(t *testing.T) { testEsedbexport(t, sampleDB(30)) }

// TestMultiPage: 3,000 rows per provider table, so every table spans
// many leaf pages under a parent page; both readers get every xrow.
func TestMultiPage(t *testing.T) {
	db := sampleDB(3000)
	path := writeDB(t, db)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Table roots come from the catalog as esedbexport reads it.
	tables := export(t, path)
	roots := 0
	for _, l := range tables["MSysObjects"][1:] {
		if l[1] == "1" && (l[12] == NetworkUsageTable || l[12] == AppResourceTable) {
			pg, _ := strconv.Atoi(l[3])
			flags := binary.LittleEndian.Uint32(data[(pg+1)*4096+36:])
			if flags&0x7 != 0x5 { // root and parent
				t.Errorf("%s root page %d flags %#x: not a root parent page", l[12], pg, flags)
			}
			roots++
		}
	}
	if roots != 2 {
		t.Fatalf("found %d table rows in MSysObjects", roots)
	}
	testEsedbexport(t, db)
	testParser(t, db)
}

// TestEsedbinfo: esedbinfo reads the catalog without a complaint, and
// the tables we write have the same columns (identifiers, names, types)
// as Windows 10's own SRUDB.dat in the corpus, and the same first
// (primary) index.
func TestEsedbinfo(t *testing.T) {
	if _, err := exec.LookPath("esedbinfo"); err != nil {
		t.Skip("esedbinfo not installed")
	}
	info := func(path string) map[string]string {
		cmd := exec.Command("esedbinfo", path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("esedbinfo %s: %v\n%s", path, err, stderr.String())
		}
		// Table name → its column lines and first index line.
		sections := map[string]string{}
		for _, sec := range strings.Split(string(out), "\nTable: ")[1:] {
			lines := strings.Split(sec, "\n")
			name := strings.Fields(lines[0])[1]
			var keep []string
			for _, l := range lines[1:] {
				if strings.HasPrefix(l, "\tIndex: 2") || strings.HasPrefix(l, "Index:") {
					break
				}
				if strings.HasPrefix(l, "\tNumber of indexes") {
					continue
				}
				if i := strings.LastIndex(l, " ("); strings.HasPrefix(l, "\tIndex: ") && i > 0 {
					l = l[:i] // the index's object id depends on the file's history
				}
				keep = append(keep, l)
			}
			sections[name] = strings.TrimRight(strings.Join(keep, "\n"), "\n")
		}
		return sections
	}
	ours := info(writeDB(t, sampleDB(5)))
	windows := info(filepath.Join(testimg.Corpus(t), "srum/DFIRArtifactMuseum/Win10/RathbunVM/Clean/SRUDB.dat"))
	for _, table := range []string{IDMapTable, NetworkUsageTable, AppResourceTable, NetworkConnectivityTable} {
		if ours[table] == "" || ours[table] != windows[table] {
			t.Errorf("%s:\nours:\n%q\nWindows 10:\n%q", table, ours[table], windows[table])
		}
	}
	if len(ours) != 6 {
		t.Errorf("esedbinfo lists %d tables, want 6", len(ours))
	}
}

// TestCatalogMatchesWindows: our catalog rows for the SRUM tables equal
// Windows 10's, as esedbexport prints MSysObjects, except for object ids
// and page numbers (which depend on the file's history).
func TestCatalogMatchesWindows(t *testing.T) {
	rows := func(path string) map[string]string {
		lines := export(t, path)["MSysObjects"]
		byID := map[string]string{} // objid → table name
		for _, l := range lines[1:] {
			if l[1] == "1" {
				byID[l[0]] = l[12]
			}
		}
		out := map[string]string{}
		for _, l := range lines[1:] {
			f := append([]string(nil), l...)
			table := byID[f[0]]
			f[0] = ""
			if f[1] != "2" { // tables and indexes: id and FDP page vary
				f[2], f[3] = "", ""
			}
			out[table+"/"+l[1]+"/"+l[12]] = strings.Join(f, "|")
		}
		return out
	}
	ours := rows(writeDB(t, sampleDB(5)))
	windows := rows(filepath.Join(testimg.Corpus(t), "srum/DFIRArtifactMuseum/Win10/RathbunVM/Clean/SRUDB.dat"))
	n := 0
	for k, v := range ours {
		if strings.HasPrefix(k, "MSysObjects") {
			continue // the catalog's own rows: checked by esedbinfo
		}
		n++
		if windows[k] != v {
			t.Errorf("%s:\nours    %s\nWindows %s", k, v, windows[k])
		}
	}
	// Per table: its row, its columns and its primary index.
	if n != (1+3+1)+(1+9+1)+(1+19+1)+(1+9+1) {
		t.Errorf("compared %d catalog rows", n)
	}
}

func testParser(t *testing.T, db DB) {
	path := writeDB(t, db)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	var events []*event.Event
	stats, err := psrum.Parse(context.Background(), path, f, st.Size(), event.SinkFunc(func(e *event.Event) error {
		events = append(events, e)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := expected(db)
	// The parser reads application resource usage, then network usage.
	var rows []xrow
	kinds := []string{}
	for _, table := range []string{AppResourceTable, NetworkUsageTable} {
		rows = append(rows, want[table]...)
		for range want[table] {
			kinds = append(kinds, table)
		}
	}
	if len(events) != len(rows) || stats.Records != int64(len(rows)) {
		t.Fatalf("parser: %d events (stats %+v), want %d", len(events), stats, len(rows))
	}
	for i, e := range events {
		w := rows[i]
		fields := map[string]any{}
		for _, f := range e.Fields {
			fields[f.Key] = f.Value
		}
		if fields["table"] != kinds[i] || e.Path != w["app"] || e.User != w["user"] || fields["user_sid"] != w["user"] {
			t.Fatalf("event %d: table %v path %q user %q, want %s %q %q", i, fields["table"], e.Path, e.User, kinds[i], w["app"], w["user"])
		}
		if !closeAbove(e.Time.Time(), w["TimeStamp"].(time.Time)) {
			t.Fatalf("event %d: time %s, want %s", i, e.Time, w["TimeStamp"])
		}
		for col, v := range w {
			var key string
			switch col {
			case "TimeStamp", "app", "user", "ConnectStartTime":
				continue
			case "AppId":
				key = "app_index"
			case "UserId":
				key = "user_index"
			case "AutoIncId":
				key = "auto_inc_id"
			case "BytesRecvd":
				key = "bytes_received"
			default:
				key = snake(col)
			}
			got, ok := fields[key]
			if !ok {
				t.Fatalf("event %d: no field %s (%s); fields %v", i, key, col, e.Fields)
			}
			if fmt.Sprint(toInt64(got)) != fmt.Sprint(v) {
				t.Fatalf("event %d %s = %v, want %v", i, key, got, v)
			}
		}
	}
}

// toInt64 undoes go-ese's unsigned 64-bit integers.
func toInt64(v any) any {
	if u, ok := v.(uint64); ok {
		return int64(u)
	}
	return v
}

// snake mirrors the parser's field naming: ForegroundCycleTime →
// foreground_cycle_time; an underscore only after a lower-case letter,
// so L2ProfileId → l2profile_id.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && s[i-1] >= 'a' && s[i-1] <= 'z' {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestParser: our own parser (go-ese underneath) reads the rows back,
// with AppId resolved to the application path and UserId to the SID.
func TestParser(t *testing.T) { testParser(t, sampleDB(30)) }

func TestDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := Write(&a, sampleDB(200)); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, sampleDB(200)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same DB, different bytes")
	}
}

func TestDevicePath(t *testing.T) {
	for in, want := range map[string]string{
		`C:\ProgramData\TPM\TpmVscMgrSvr.exe`: `\device\harddiskvolume3\programdata\tpm\tpmvscmgrsvr.exe`,
		`\Windows\System32\taskhostw.exe`:     `\device\harddiskvolume3\windows\system32\taskhostw.exe`,
	} {
		if got := DevicePath(3, in); got != want {
			t.Errorf("DevicePath(3, %q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	t0 := time.Date(2023, 3, 6, 14, 0, 0, 0, time.UTC)
	for name, db := range map[string]DB{
		"bad SID":   {Net: []NetUsage{{Time: t0, Entity: Entity{App: "a", User: "S-1-x"}}}},
		"no app":    {Net: []NetUsage{{Time: t0, Entity: Entity{User: system}}}},
		"zero time": {Apps: []AppUsage{{Entity: Entity{App: "a", User: system}}}},
	} {
		if err := Write(&bytes.Buffer{}, db); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestEmpty: a database with no rows still has every table, empty.
func TestEmpty(t *testing.T) {
	tables := export(t, writeDB(t, DB{}))
	for _, name := range []string{IDMapTable, NetworkUsageTable, AppResourceTable, NetworkConnectivityTable} {
		if len(tables[name]) != 1 {
			t.Errorf("%s: %d lines, want the header only", name, len(tables[name]))
		}
	}
}
