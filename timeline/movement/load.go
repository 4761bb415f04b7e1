// Package movement builds host identities (names and addresses over time),
// account identities and host-to-host movement edges from the events of a
// case. It knows event semantics (lateral-movement.md), never scenario
// names, addresses or times.
package movement

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// ev is one loaded event: its raw time (the recording host's clock), the
// host it belongs to and its fields.
type ev struct {
	ID       int64
	TS       event.FileTime
	Host     string // host key (upper-case short name) of the recording host
	Artifact string
	Type     string
	F        map[string]any
}

func (e *ev) s(k string) string {
	v, ok := e.F[k]
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatInt(int64(x), 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

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

	q := `SELECT id, ts, COALESCE(host_id, 0), artifact, type, fields FROM events
WHERE (artifact = 'evtx' AND type IN ('` + strings.Join(evtxTypes, "','") + `'))
   OR (artifact = 'registry' AND type IN ('rdp-mru', 'rdp-server'))
   OR (artifact = 'jumplist' AND type = 'entry')
   OR (artifact = 'lnk')
ORDER BY ts, id`
	rows, err = c.DB.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("movement: events: %w", err)
	}
	defer rows.Close()
	var evs []*ev
	for rows.Next() {
		e := &ev{}
		var ts, hid int64
		var fields string
		if err := rows.Scan(&e.ID, &ts, &hid, &e.Artifact, &e.Type, &fields); err != nil {
			return nil, nil, fmt.Errorf("movement: events: %w", err)
		}
		e.TS = event.FileTime(ts)
		if err := json.Unmarshal([]byte(fields), &e.F); err != nil {
			continue // a malformed row is skipped, not fatal
		}
		e.Host = byID[hid]
		if c := e.s("computer"); c != "" && (e.Host == "" || e.Artifact == "evtx") {
			// The Computer field names the recording host even for
			// standalone logs ingested without an image.
			if e.Host == "" {
				e.Host = hostKey(c)
			}
		}
		evs = append(evs, e)
	}
	return hosts, evs, rows.Err()
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
