package scenario

import (
	"sort"
	"time"
	_ "time/tzdata" // the forge must not depend on the build machine's zoneinfo
)

// timeZone is what SYSTEM\...\TimeZoneInformation holds for a Windows time
// zone, plus the IANA zone that gives the same local times.
type timeZone struct {
	iana             string
	bias             int32 // minutes, UTC = local + bias
	std, dlt         string
	stdBias, dltBias int32
	// SYSTEMTIME transition rules (month, week-of-month as day, hour;
	// day of week 0 = Sunday); zero = no daylight saving.
	stdDate, dltDate [8]uint16
}

var timeZones = map[string]timeZone{
	"UTC":                          {iana: "UTC", std: "Coordinated Universal Time", dlt: "Coordinated Universal Time"},
	"GMT Standard Time":            {iana: "Europe/London", std: "GMT Standard Time", dlt: "GMT Daylight Time", dltBias: -60, stdDate: [8]uint16{0, 10, 0, 5, 2}, dltDate: [8]uint16{0, 3, 0, 5, 1}},
	"Eastern Standard Time":        {iana: "America/New_York", bias: 300, std: "Eastern Standard Time", dlt: "Eastern Daylight Time", dltBias: -60, stdDate: [8]uint16{0, 11, 0, 1, 2}, dltDate: [8]uint16{0, 3, 0, 2, 2}},
	"Pacific Standard Time":        {iana: "America/Los_Angeles", bias: 480, std: "Pacific Standard Time", dlt: "Pacific Daylight Time", dltBias: -60, stdDate: [8]uint16{0, 11, 0, 1, 2}, dltDate: [8]uint16{0, 3, 0, 2, 2}},
	"W. Europe Standard Time":      {iana: "Europe/Berlin", bias: -60, std: "W. Europe Standard Time", dlt: "W. Europe Daylight Time", dltBias: -60, stdDate: [8]uint16{0, 10, 0, 5, 3}, dltDate: [8]uint16{0, 3, 0, 5, 2}},
	"Central Europe Standard Time": {iana: "Europe/Budapest", bias: -60, std: "Central Europe Standard Time", dlt: "Central Europe Daylight Time", dltBias: -60, stdDate: [8]uint16{0, 10, 0, 5, 3}, dltDate: [8]uint16{0, 3, 0, 5, 2}},
}

func timeZoneNames() []string {
	var out []string
	for k := range timeZones {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// location is the Go location of a Windows time zone key name.
func location(name string) *time.Location {
	tz, ok := timeZones[name]
	if !ok {
		return time.UTC
	}
	loc, err := time.LoadLocation(tz.iana)
	if err != nil {
		return time.UTC
	}
	return loc
}
