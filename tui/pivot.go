package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/foothold/foothold/parsers/event"
)

// PivotQuery returns the filter a pivot key opens from an event, or "" and
// why it does not apply. Keys: H same host ±window, U same user, L same
// logon id, F same file path or hash, P same process, R same remote address.
func PivotQuery(it *Item, key string, window event.FileTime) (string, string) {
	fs := Fields(it.Fields)
	get := func(names ...string) string {
		for _, n := range names {
			for _, f := range fs {
				if f.Key == n && f.Value != "" && f.Value != "-" && f.Value != "0x0" {
					return f.Value
				}
			}
		}
		return ""
	}
	switch key {
	case "H":
		if it.Host == "" {
			return "", "event has no host"
		}
		lo, hi := it.Time-min(window, it.Time), it.Time+window
		return "host:" + quoteValue(it.Host) + " after:" + lo.String() + " before:" + hi.String(), ""
	case "U":
		if it.User == "" {
			return "", "event has no user"
		}
		return "user:" + quoteValue(it.User), ""
	case "L":
		id := get("target_logon_id", "logon_id")
		if id == "" {
			return "", "event has no logon id"
		}
		return "logon:" + quoteValue(id), ""
	case "F":
		p := it.Path
		if p == "" {
			p = get("sha256", "sha1", "md5", "target_path", "process")
		}
		if p == "" {
			return "", "event has no path or hash"
		}
		return "file:" + quoteValue(p), ""
	case "P":
		p := get("process", "parent_process")
		if p == "" {
			return "", "event has no process"
		}
		return "process:" + quoteValue(p), ""
	case "R":
		ip := get("src_ip", "dst_ip", "ip")
		if ip == "" {
			return "", "event has no remote address"
		}
		return "ip:" + quoteValue(ip), ""
	}
	return "", "unknown pivot"
}

func (m *Model) pivot(key string) tea.Cmd {
	it := m.Selected()
	if it == nil {
		return nil
	}
	window := event.FileTime(m.opts.PivotWindow.Nanoseconds() / 100)
	q, why := PivotQuery(it, key, window)
	if q == "" {
		m.status = "pivot: " + why
		return nil
	}
	k := it.key()
	m.mode = modeTimeline
	return m.pushView(strings.TrimSpace(q), &k)
}
