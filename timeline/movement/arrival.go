package movement

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// Arrival is what happened on a host after the attacker arrived: the
// processes started, persistence set, files dropped where tools are staged,
// and the accounts used or exposed there.
type Arrival struct {
	Host        string         `json:"host"`
	Since       event.FileTime `json:"since"` // raw, on the host's clock
	Processes   []Fact         `json:"processes"`
	Persistence []Fact         `json:"persistence"`
	Files       []Fact         `json:"files"`
	Credentials []Fact         `json:"credentials"`
}

// Fact is one event summarised.
type Fact struct {
	Time    event.FileTime `json:"time"`
	Text    string         `json:"text"`
	EventID int64          `json:"event_id"`
}

// maxFacts keeps each list readable; the CSV and the case hold the rest.
const maxFacts = 12

// Arrivals summarises every compromised host after its compromise time.
func Arrivals(ctx context.Context, c *timeline.Case, res *Result, tr *Trace) ([]Arrival, error) {
	off := map[string]float64{}
	for _, o := range res.Clocks {
		off[o.Host] = o.Seconds
	}
	var out []Arrival
	for _, host := range tr.Order {
		since := event.FileTime(int64(tr.Compromised[host]) + int64(off[host]*1e7))
		a := Arrival{Host: host, Since: since}
		add := func(list *[]Fact, r *timeline.Row, text string) {
			if len(*list) < maxFacts {
				*list = append(*list, Fact{Time: r.Time, Text: text, EventID: r.ID})
			}
		}
		// The attacker's processes: the seed and what arrived with each
		// hop's session, then everything they start, and every program
		// dropped in a staging place, then what those start.
		ours := map[string]bool{}
		sessions := map[string]bool{}
		if host == tr.Seed.Host {
			ours[event.NormalizePath(tr.Seed.Path)] = true
		}
		for _, h := range tr.Hops {
			if h.Destination != host {
				continue
			}
			for _, r := range h.Evidence {
				if r.Side == "destination" {
					sessions[host+"|"+fmt.Sprint(r.EventID)] = true
				}
			}
		}
		exposed := map[string]bool{}
		err := c.Events(ctx, timeline.Filter{Hosts: []string{host}, After: since}, func(r *timeline.Row) error {
			var f map[string]any
			switch r.Artifact {
			case "evtx":
				json.Unmarshal([]byte(r.Fields), &f)
				switch r.Type {
				case "4688", "1":
					proc, _ := f["process"].(string)
					parent, _ := f["parent_process"].(string)
					cmd, _ := f["command_line"].(string)
					if cmd == "" {
						cmd = proc
					}
					pk, ck := event.NormalizePath(parent), event.NormalizePath(proc)
					low := strings.ToLower(cmd)
					credential := strings.Contains(low, "lsass") || strings.Contains(low, "comsvcs") ||
						strings.Contains(low, "minidump") || strings.Contains(low, "ntdsutil")
					if ours[pk] || ours[ck] || stagingPath(ck) || credential || sessions[host+"|"+fmt.Sprint(r.ID)] {
						ours[ck] = true
						add(&a.Processes, r, cmd)
					}
					if credential {
						add(&a.Credentials, r, "credential access: "+cmd)
					}
				case "7045", "4697", "4698", "4702":
					add(&a.Persistence, r, r.Message)
				case "10":
					if t, _ := f["data.TargetImage"].(string); strings.Contains(strings.ToLower(t), "lsass") {
						add(&a.Credentials, r, "LSASS accessed: "+r.Message)
					}
				case "4624":
					// Logons that leave reusable credentials in memory; one
					// line per account and kind.
					lt := f["logon_type"]
					user, _ := f["target_user"].(string)
					k := fmt.Sprint(user, lt)
					if (lt == float64(9) || lt == float64(10) || lt == float64(2)) && !exposed[k] {
						exposed[k] = true
						add(&a.Credentials, r, "credentials in memory: "+r.Message)
					}
				}
			case "registry":
				if r.Type == "run" || r.Type == "service" {
					add(&a.Persistence, r, r.Message)
				}
			case "mft":
				if r.Type == "si" && strings.Contains(r.MACB, "B") && stagingPath(event.NormalizePath(r.Path)) {
					add(&a.Files, r, r.Path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return tr.Compromised[out[i].Host] < tr.Compromised[out[j].Host] })
	return out, nil
}

// stagingPath: where dropped tools and payloads land.
func stagingPath(p string) bool {
	lp := strings.ToLower(event.NormalizePath(p))
	for _, pre := range []string{`\programdata\`, `\windows\temp\`, `\users\public\`, `\perflogs\`} {
		if strings.HasPrefix(lp, pre) {
			return true
		}
	}
	return strings.HasPrefix(lp, `\users\`) && (strings.Contains(lp, `\appdata\local\temp\`) || strings.Contains(lp, `\downloads\`))
}
