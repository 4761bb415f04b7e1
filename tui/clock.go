package tui

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	// The zone rules ship in the binary: a forensic workstation's
	// zoneinfo may be missing or older than the case.
	_ "time/tzdata"

	"github.com/foothold/foothold/parsers/event"
)

// timeMode is what the time column shows. Raw times never change in the
// store; the other modes are derived for display only.
type timeMode int

const (
	timeUTC timeMode = iota
	timeLocal
	timeCorrected
	timeModes
)

// hostClock is what the case says about one host's clock.
type hostClock struct {
	name string // as the hosts table spells it
	// loc is the host's zone: DST rules when its Windows zone name is
	// known (dst), else a fixed zone at the standard bias; nil when the
	// case has no time zone for the host.
	loc  *time.Location
	dst  bool
	zone string // as stored (TimeZoneKeyName or StandardName)
	// offset is the host's estimated clock minus the reference host's,
	// in seconds (clock_offsets); hasOffset says analysis placed it.
	offset    float64
	hasOffset bool
}

// clocks are every host's clock facts, keyed by lower-case host name.
type clocks struct {
	hosts     map[string]*hostClock
	reference string
}

func (c clocks) get(host string) *hostClock { return c.hosts[strings.ToLower(host)] }

// windowsZones maps Windows time zone key names to IANA zones (the CLDR
// "001" territory), for the zones investigators meet most; anything else
// falls back to the standard bias the SYSTEM hive stores.
var windowsZones = map[string]string{
	"UTC":                             "UTC",
	"Coordinated Universal Time":      "UTC",
	"GMT Standard Time":               "Europe/London",
	"Greenwich Standard Time":         "Atlantic/Reykjavik",
	"W. Europe Standard Time":         "Europe/Berlin",
	"Central Europe Standard Time":    "Europe/Budapest",
	"Central European Standard Time":  "Europe/Warsaw",
	"Romance Standard Time":           "Europe/Paris",
	"E. Europe Standard Time":         "Europe/Chisinau",
	"FLE Standard Time":               "Europe/Kiev",
	"GTB Standard Time":               "Europe/Bucharest",
	"Russian Standard Time":           "Europe/Moscow",
	"Turkey Standard Time":            "Europe/Istanbul",
	"Israel Standard Time":            "Asia/Jerusalem",
	"Egypt Standard Time":             "Africa/Cairo",
	"South Africa Standard Time":      "Africa/Johannesburg",
	"W. Central Africa Standard Time": "Africa/Lagos",
	"E. Africa Standard Time":         "Africa/Nairobi",
	"Arab Standard Time":              "Asia/Riyadh",
	"Arabian Standard Time":           "Asia/Dubai",
	"Iran Standard Time":              "Asia/Tehran",
	"Pakistan Standard Time":          "Asia/Karachi",
	"India Standard Time":             "Asia/Kolkata",
	"Bangladesh Standard Time":        "Asia/Dhaka",
	"SE Asia Standard Time":           "Asia/Bangkok",
	"China Standard Time":             "Asia/Shanghai",
	"Singapore Standard Time":         "Asia/Singapore",
	"Taipei Standard Time":            "Asia/Taipei",
	"Tokyo Standard Time":             "Asia/Tokyo",
	"Korea Standard Time":             "Asia/Seoul",
	"W. Australia Standard Time":      "Australia/Perth",
	"Cen. Australia Standard Time":    "Australia/Adelaide",
	"E. Australia Standard Time":      "Australia/Brisbane",
	"AUS Eastern Standard Time":       "Australia/Sydney",
	"New Zealand Standard Time":       "Pacific/Auckland",
	"Hawaiian Standard Time":          "Pacific/Honolulu",
	"Alaskan Standard Time":           "America/Anchorage",
	"Pacific Standard Time":           "America/Los_Angeles",
	"US Mountain Standard Time":       "America/Phoenix",
	"Mountain Standard Time":          "America/Denver",
	"Central Standard Time":           "America/Chicago",
	"Central Standard Time (Mexico)":  "America/Mexico_City",
	"Canada Central Standard Time":    "America/Regina",
	"Eastern Standard Time":           "America/New_York",
	"SA Pacific Standard Time":        "America/Bogota",
	"Atlantic Standard Time":          "America/Halifax",
	"Newfoundland Standard Time":      "America/St_Johns",
	"E. South America Standard Time":  "America/Sao_Paulo",
	"Argentina Standard Time":         "America/Buenos_Aires",
}

// zoneFor derives a host's zone from what the hosts table stores: its
// Windows zone name, and the bias (minutes, UTC = local + bias) in the
// details. dst is false when only the standard bias is known.
func zoneFor(tz string, details string) (loc *time.Location, dst bool) {
	tz = strings.TrimSpace(tz)
	if name, ok := windowsZones[tz]; ok {
		if l, err := time.LoadLocation(name); err == nil {
			return l, true
		}
	}
	if strings.Contains(tz, "/") {
		if l, err := time.LoadLocation(tz); err == nil {
			return l, true
		}
	}
	var d struct {
		Bias *int `json:"bias"`
	}
	if json.Unmarshal([]byte(details), &d) == nil && d.Bias != nil && *d.Bias > -24*60 && *d.Bias < 24*60 {
		name := tz
		if name == "" {
			name = "bias"
		}
		return time.FixedZone(name, -*d.Bias*60), false
	}
	return nil, false
}

// loadClocks reads the hosts' zones and the estimated clock offsets.
func loadClocks(ctx context.Context, db *sql.DB) (clocks, error) {
	cl := clocks{hosts: map[string]*hostClock{}}
	rows, err := db.QueryContext(ctx, `SELECT name, tz, details FROM hosts ORDER BY id`)
	if err != nil {
		return cl, fmt.Errorf("host time zones: %w", err)
	}
	for rows.Next() {
		var name, tz, details string
		if err := rows.Scan(&name, &tz, &details); err != nil {
			rows.Close()
			return cl, fmt.Errorf("host time zones: %w", err)
		}
		k := strings.ToLower(name)
		if cl.hosts[k] != nil && cl.hosts[k].loc != nil {
			continue // two evidence items claim one name: keep the first with a zone
		}
		loc, dst := zoneFor(tz, details)
		cl.hosts[k] = &hostClock{name: name, loc: loc, dst: dst, zone: tz}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return cl, fmt.Errorf("host time zones: %w", err)
	}
	if !hasTable(ctx, db, "clock_offsets") {
		return cl, nil
	}
	rows, err = db.QueryContext(ctx, `SELECT host, seconds, reference FROM clock_offsets`)
	if err != nil {
		return cl, fmt.Errorf("clock offsets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var host, ref string
		var sec float64
		if err := rows.Scan(&host, &sec, &ref); err != nil {
			return cl, fmt.Errorf("clock offsets: %w", err)
		}
		k := strings.ToLower(host)
		if cl.hosts[k] == nil {
			cl.hosts[k] = &hostClock{name: host}
		}
		cl.hosts[k].offset, cl.hosts[k].hasOffset = sec, true
		cl.reference = ref
	}
	return cl, rows.Err()
}

// LocalTime renders t in loc as ISO 8601 with seven fractional digits and
// the zone's offset at that instant ("2023-03-14T21:35:13.0003206-04:00").
// The calendar arithmetic stays on ticks; only the offset comes from the
// zone rules.
func LocalTime(t event.FileTime, loc *time.Location) string {
	if t == 0 || loc == nil {
		return t.String()
	}
	secs := int64(t/10_000_000) - 11644473600
	_, off := time.Unix(secs, 0).In(loc).Zone()
	local := int64(t) + int64(off)*10_000_000
	if local <= 0 {
		return t.String()
	}
	s := strings.TrimSuffix(event.FileTime(local).String(), "Z")
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d:%02d", s, sign, off/3600, off/60%60)
}

// Corrected is t on the reference clock: raw minus the host's estimated
// offset (as the trace computes it).
func Corrected(t event.FileTime, offsetSeconds float64) event.FileTime {
	if t == 0 {
		return 0
	}
	c := int64(t) - int64(offsetSeconds*1e7)
	if c <= 0 {
		return t
	}
	return event.FileTime(c)
}

func (m *Model) timeLabel() string {
	switch m.timeMode {
	case timeLocal:
		if m.clocks.anyStdBias() {
			return "time (host local*)" // * standard bias for some host: see the status line
		}
		return "time (host local)"
	case timeCorrected:
		return "time (corrected)"
	}
	return "time (UTC)"
}

// timeText is the time column of a row in the current mode. A host with no
// zone (local) or no offset (corrected) shows its raw UTC time, which
// keeps its Z so the value says what it is.
func (m *Model) timeText(it *Item) string {
	switch m.timeMode {
	case timeLocal:
		if h := m.clocks.get(it.Host); h != nil && h.loc != nil {
			return LocalTime(it.Time, h.loc)
		}
	case timeCorrected:
		if h := m.clocks.get(it.Host); h != nil && h.hasOffset {
			return Corrected(it.Time, h.offset).String()
		}
	}
	return it.Time.String()
}

func (c clocks) anyStdBias() bool {
	for _, h := range c.hosts {
		if h.loc != nil && !h.dst {
			return true
		}
	}
	return false
}

// modeNote says, when the mode changes, which hosts it could not apply to.
func (m *Model) timeModeNote() string {
	var without, bias []string
	for _, h := range m.clocks.hosts {
		name := h.name
		switch m.timeMode {
		case timeLocal:
			if h.loc == nil {
				without = append(without, name)
			} else if !h.dst {
				bias = append(bias, name)
			}
		case timeCorrected:
			if !h.hasOffset {
				without = append(without, name)
			}
		}
	}
	sort.Strings(without)
	sort.Strings(bias)
	note := "time: " + strings.TrimSuffix(strings.TrimPrefix(m.timeLabel(), "time ("), ")")
	switch m.timeMode {
	case timeUTC:
		note += " (raw, as stored)"
	case timeLocal:
		if len(bias) > 0 {
			note += "; no DST rules for " + strings.Join(bias, ", ") + ": standard bias"
		}
		if len(without) > 0 {
			note += "; no time zone for " + strings.Join(without, ", ") + ": UTC (Z)"
		}
	case timeCorrected:
		if m.clocks.reference == "" {
			note += "; no clock offsets in this case (movement analysis not run): raw UTC"
		} else {
			note += " to " + m.clocks.reference + "'s clock"
			if len(without) > 0 {
				note += "; no offset for " + strings.Join(without, ", ") + ": raw"
			}
		}
	}
	return note
}
