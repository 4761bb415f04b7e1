// Package movement builds host identities (names and addresses over time),
// account identities and host-to-host movement edges from the events of a
// case. It knows event semantics (lateral-movement.md), never scenario
// names, addresses or times.
package movement

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// ev is one loaded event: its raw time (the recording host's clock), the
// host it belongs to and its fields (e.s, e.n; for k, v := range e.F).
type ev struct {
	ID       int64
	TS       event.FileTime
	Host     string // host key (upper-case short name) of the recording host
	Artifact string
	Type     string
	f        fields
}

// s returns a field as text ("" when absent): strings trimmed, numbers in
// decimal (the integer part), booleans as true/false.
func (e *ev) s(k string) string { return e.f.get(k) }

func (e *ev) n(k string) int64 {
	s := e.s(k)
	if strings.HasPrefix(strings.ToLower(s), "0x") {
		v, _ := strconv.ParseInt(s[2:], 16, 64)
		return v
	}
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

// evtxTypes are the event ids the analysis reads.
var evtxTypes = []string{
	"4624", "4648", "4672", "4688", "4697", "4698", "4702", "4768", "4769", "4776", "5140", "5145",
	"7045", "106", "91", "6", "169", "1024", "1102", "1149", "21", "22", "24", "25",
	"1", "3", "4104", "5857", "5858", "10016", "131",
	"11", "17", "18", "19", "20", "98", "104", "4778", "4779", "5156", "5860", "5861", // H24: recall rules, port pairing
}

// hostInfo is a host row of the case.
type hostInfo struct {
	ID      int64
	Name    string
	Details map[string]any
}

// load reads the hosts and the relevant events of a case, in time order.
func load(ctx context.Context, c *timeline.Case) ([]hostInfo, []*ev, error) {
	var hosts []hostInfo
	rows, err := c.DB.QueryContext(ctx, `SELECT id, name, details FROM hosts ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("movement: hosts: %w", err)
	}
	byID := map[int64]string{}
	for rows.Next() {
		var h hostInfo
		var d string
		if err := rows.Scan(&h.ID, &h.Name, &d); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("movement: hosts: %w", err)
		}
		_ = json.Unmarshal([]byte(d), &h.Details)
		hosts = append(hosts, h)
		byID[h.ID] = hostKey(h.Name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("movement: hosts: %w", err)
	}

	evs, err := loadEvents(ctx, c, byID)
	return hosts, evs, err
}

// keepKeys are the fields the analysis reads from the high-volume event
// types (bulkTypes); other events keep every field. load_test.go checks
// every key this package names is here: add new ones when a rule needs them.
var keepKeys = map[string]bool{}

func init() {
	for _, k := range []string{
		"computer", "provider", "user_sid", "logon_type", "logon_id", "target_logon_id", "subject_user", "target_user",
		"src_ip", "src_port", "dst_ip", "dst_port", "workstation", "target_server", "auth_package", "process",
		"process_id", "parent_process", "command_line", "service_name", "image_path", "share_name", "relative_target",
		"task_name", "pipe_name", "target_path", "username_hint", "unc_host", "arguments",
		"data.ServiceFileName", "data.LogonGuid", "data.Initiated", "data.connection", "data.Value", "data.UserContext",
		"data.TargetServerName", "data.TargetOutboundUserName", "data.TargetInfo", "data.TargetFilename",
		"data.ScriptBlockText", "data.Direction", "data.TicketEncryptionType", "data.ProcessId", "data.ParentProcessId",
		"data.TargetUserSid", "data.TargetDomainName", "data.TargetUserName", "data.SubjectUserSid",
		"data.SubjectDomainName", "data.SubjectUserName", "data.TargetSid", "data.TargetImage",
	} {
		keepKeys[k] = true
	}
}

// bulkTypes are the evtx event ids a large case holds by the million;
// they keep only keepKeys. Everything else is rare and keeps all fields.
var bulkTypes = map[string]bool{
	"4624": true, "4648": true, "4672": true, "4688": true, "4768": true, "4769": true, "4776": true,
	"5140": true, "5145": true, "5156": true, "1": true, "3": true, "11": true, "4104": true,
}

// loadBatch is how many rows travel together from the reader to a decoder.
const loadBatch = 4096

type rawRow struct {
	id, ts, host       int64
	artifact, typ, fjs string
}

type batch struct {
	rows []rawRow
	evs  []ev
}

// loadEvents reads the relevant events: SQLite reads rows (one core)
// while decoders turn their JSON into fields (the other), then the events
// are put in time order here, which is much cheaper than SQLite sorting
// rows with their JSON.
func loadEvents(ctx context.Context, c *timeline.Case, byID map[int64]string) ([]*ev, error) {
	q := `SELECT id, ts, COALESCE(host_id, 0), artifact, type, ` + timeline.FieldsSQL + ` FROM events e WHERE ` + relevant()
	rows, err := c.DB.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("movement: events: %w", err)
	}
	defer rows.Close()

	workers := runtime.GOMAXPROCS(0)
	todo := make(chan *batch, 2*workers)
	done := make(chan *batch, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &decoder{keys: map[string]string{}}
			for b := range todo {
				decodeBatch(d, b, byID)
				b.rows = nil // the JSON texts: only the decoded values stay
				done <- b
			}
		}()
	}
	var batches []*batch
	collected := make(chan struct{})
	go func() {
		for b := range done {
			batches = append(batches, b)
		}
		close(collected)
	}()

	intern := map[string]string{}
	name := func(b []byte) string {
		if s, ok := intern[string(b)]; ok {
			return s
		}
		s := string(b)
		intern[s] = s
		return s
	}
	var art, typ sql.RawBytes
	cur := &batch{rows: make([]rawRow, 0, loadBatch)}
	for rows.Next() {
		var r rawRow
		if err := rows.Scan(&r.id, &r.ts, &r.host, &art, &typ, &r.fjs); err != nil {
			close(todo)
			wg.Wait()
			close(done)
			<-collected
			return nil, fmt.Errorf("movement: events: %w", err)
		}
		r.artifact, r.typ = name(art), name(typ)
		cur.rows = append(cur.rows, r)
		if len(cur.rows) == loadBatch {
			todo <- cur
			cur = &batch{rows: make([]rawRow, 0, loadBatch)}
		}
	}
	if len(cur.rows) > 0 {
		todo <- cur
	}
	close(todo)
	wg.Wait()
	close(done)
	<-collected
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("movement: events: %w", err)
	}
	n := 0
	for _, b := range batches {
		n += len(b.evs)
	}
	evs := make([]*ev, 0, n)
	for _, b := range batches {
		for i := range b.evs {
			evs = append(evs, &b.evs[i])
		}
	}
	slices.SortFunc(evs, func(a, b *ev) int {
		if a.TS != b.TS {
			return cmp.Compare(a.TS, b.TS)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return evs, nil
}

// eachEvent streams the events matching where (SQL over the events
// table's columns, e.g. "artifact = 'prefetch' AND type = 'run'") to fn,
// in no particular order, decoded like load's (bulk types keep keepKeys
// only). It reads no other table, which is what makes it several times
// faster than Case.Events on millions of rows. fn must not keep e.
func eachEvent(ctx context.Context, c *timeline.Case, where string, args []any, fn func(e *ev) error) error {
	byID := map[int64]string{}
	hrows, err := c.DB.QueryContext(ctx, `SELECT id, name FROM hosts`)
	if err != nil {
		return fmt.Errorf("movement: hosts: %w", err)
	}
	for hrows.Next() {
		var id int64
		var name string
		if err := hrows.Scan(&id, &name); err != nil {
			hrows.Close()
			return fmt.Errorf("movement: hosts: %w", err)
		}
		byID[id] = hostKey(name)
	}
	hrows.Close()
	rows, err := c.DB.QueryContext(ctx, `SELECT id, ts, COALESCE(host_id, 0), artifact, type, `+timeline.FieldsSQL+` FROM events e WHERE `+where, args...)
	if err != nil {
		return fmt.Errorf("movement: events: %w", err)
	}
	defer rows.Close()
	d := &decoder{keys: map[string]string{}}
	b := &batch{rows: make([]rawRow, 1)}
	for rows.Next() {
		r := &b.rows[0]
		if err := rows.Scan(&r.id, &r.ts, &r.host, &r.artifact, &r.typ, &r.fjs); err != nil {
			return fmt.Errorf("movement: events: %w", err)
		}
		decodeBatch(d, b, byID)
		for i := range b.evs {
			if err := fn(&b.evs[i]); err != nil {
				return err
			}
		}
		b.rows = b.rows[:1]
	}
	return rows.Err()
}

// decodeBatch turns a batch's rows into events; a row whose fields are not
// a JSON object is skipped, not fatal. The batch's values share one string.
func decodeBatch(d *decoder, b *batch, byID map[int64]string) {
	d.vals, d.refs = d.vals[:0], make([]fieldRef, 0, 12*len(b.rows))
	type span struct{ from, to int }
	spans := make([]span, 0, len(b.rows))
	b.evs = make([]ev, 0, len(b.rows))
	for _, r := range b.rows {
		keepAll := r.artifact != "evtx" || !bulkTypes[r.typ]
		from, to, ok := d.decode(r.fjs, keepKeys, keepAll)
		if !ok {
			continue
		}
		spans = append(spans, span{from, to})
		b.evs = append(b.evs, ev{ID: r.id, TS: event.FileTime(r.ts), Host: byID[r.host], Artifact: r.artifact, Type: r.typ})
	}
	vals := string(d.vals)
	refs := d.refs
	for i := range b.evs {
		e := &b.evs[i]
		e.f = fields{vals: vals, refs: refs[spans[i].from:spans[i].to:spans[i].to]}
		if e.Host == "" {
			// The Computer field names the recording host even for
			// standalone logs ingested without an image.
			e.Host = hostKey(e.s("computer"))
		}
	}
}

// relevant is the SQL condition selecting the events the analysis reads.
func relevant() string {
	return `((artifact = 'evtx' AND type IN ('` + strings.Join(evtxTypes, "','") + `'))
   OR (artifact = 'registry' AND type IN ('rdp-mru', 'rdp-server'))
   OR (artifact = 'jumplist' AND type = 'entry')
   OR (artifact = 'lnk'))`
}

// CountLoaded is how many events of the case the analysis reads.
func CountLoaded(ctx context.Context, c *timeline.Case) (int64, error) {
	var n int64
	err := c.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE `+relevant()).Scan(&n)
	return n, err
}

// hostKey normalises a host name: upper-case NetBIOS-style short name
// (FQDN's first label), addresses unchanged, ports and backslashes removed.
func hostKey(s string) string {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), `\`))
	if s == "" || s == "-" {
		return ""
	}
	if ip := normIP(s); ip != "" {
		return ip
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	return strings.ToUpper(s)
}

// normIP returns the address in canonical text, or "" when s is not one.
// The ::ffff: prefix and a :port suffix on IPv4 are removed.
func normIP(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.ToLower(s), "::ffff:")
	if s == "" || s == "-" || s == "0.0.0.0" || s == "::" {
		return ""
	}
	if strings.Count(s, ":") == 1 && strings.Count(s, ".") == 3 {
		s = s[:strings.IndexByte(s, ':')]
	}
	parts := strings.Split(s, ".")
	if len(parts) == 4 {
		for _, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n > 255 {
				return ""
			}
		}
		return s
	}
	if strings.Count(s, ":") >= 2 {
		for _, r := range s {
			if !(r == ':' || r == '.' || r == '%' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f')) {
				return ""
			}
		}
		return s
	}
	return ""
}

func isLoopback(ip string) bool {
	return ip == "::1" || strings.HasPrefix(ip, "127.")
}

// splitAccount returns DOMAIN and name of "DOMAIN\name" or "name@realm".
func splitAccount(s string) (string, string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		return strings.ToUpper(s[:i]), s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		d := s[i+1:]
		if j := strings.IndexByte(d, '.'); j > 0 {
			d = d[:j]
		}
		return strings.ToUpper(d), s[:i]
	}
	return "", s
}

// accountKey is the comparison form of an account: lower-case name only
// (domains are spelled NetBIOS or DNS depending on the event).
func accountKey(s string) string {
	_, n := splitAccount(s)
	return strings.ToLower(n)
}

func isMachineOrSystem(acct string) bool {
	_, n := splitAccount(acct)
	l := strings.ToLower(n)
	return l == "" || l == "-" || strings.HasSuffix(l, "$") || l == "system" || l == "local service" ||
		l == "network service" || l == "anonymous logon" || strings.HasPrefix(l, "dwm-") || strings.HasPrefix(l, "umfd-")
}

const second = event.FileTime(10_000_000)
