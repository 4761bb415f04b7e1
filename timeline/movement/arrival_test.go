package movement

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// truthStory is what checkArrivals reads from a truth file: the story's
// key events (with the host's raw times), the compromises and the edges.
type truthStory struct {
	Hosts []struct {
		Name        string `json:"name"`
		ClockOffset int64  `json:"clock_offset_seconds"`
	} `json:"hosts"`
	Compromise []struct {
		Host string    `json:"host"`
		Time time.Time `json:"time"`
	} `json:"compromise"`
	Edges []struct {
		ID, Source, Destination, Technique, Account string
		Attack                                      bool `json:"attack"`
	} `json:"edges"`
	KeyEvents []struct {
		Step     string `json:"step"`
		Host     string `json:"host"`
		Channel  string `json:"channel"`
		EventID  int    `json:"event_id"`
		RecordID int64  `json:"record_id"`
		What     string `json:"what"`
		Time     string `json:"time"`
		Path     string `json:"path"`
	} `json:"key_events"`
}

// notDropped are key events with a path that are no file the attacker
// dropped: Windows' own records of an execution or a download (Prefetch,
// SRUM, the browser's history, the RDP client's Default.rdp and jump
// list), registry values, reads and deletions.
var notDropped = regexp.MustCompile(`(?i)prefetch|registry|deleted|\bread\b|srum|history|zone\.identifier|downloaded|default\.rdp|jump list`)

// checkArrivals compares each compromised host's "after arrival" summary
// with the story the truth file tells: the processes are exactly the
// story's process creations on that host after its compromise (the
// truth's key 4688/Sysmon 1 events, benign steps excluded); the files
// exactly the story's files created there after it; the persistence
// exactly the story's services, tasks and Run/service registry values;
// the accounts of the attack edges leaving the host are named as used,
// the accounts of RDP sessions into it as in memory, each credential-theft
// command as credential access; no virtual, system or machine account is
// named; and routine accounts come last.
func checkArrivals(t *testing.T, c *timeline.Case, res *Result, tr *Trace, truthPath string) {
	t.Helper()
	b, err := os.ReadFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	var truth truthStory
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	arrivals, err := Arrivals(context.Background(), c, res, tr)
	if err != nil {
		t.Fatal(err)
	}
	byHost := map[string]Arrival{}
	for _, a := range arrivals {
		byHost[a.Host] = a
	}
	offset := map[string]int64{}
	for _, h := range truth.Hosts {
		offset[h.Name] = h.ClockOffset
	}
	// caseEvent finds a key event in the case by host, event id and record.
	caseEvent := func(host string, eid int, record int64) map[string]any {
		var fields string
		err := c.DB.QueryRow(`SELECT e.fields FROM events e JOIN hosts h ON h.id = e.host_id
WHERE h.name = ? AND e.artifact = 'evtx' AND e.type = ? AND json_extract(e.fields, '$.record_id') = ?`, host, eid, record).Scan(&fields)
		if err != nil {
			t.Fatalf("key event %s %d record %d not in the case: %v", host, eid, record, err)
		}
		var f map[string]any
		json.Unmarshal([]byte(fields), &f)
		return f
	}
	for _, cmp := range truth.Compromise {
		a, ok := byHost[cmp.Host]
		if !ok {
			t.Errorf("%s: no arrival summary", cmp.Host)
			continue
		}
		// The story's events on this host from its compromise on, on its
		// clock (key event times are the host's raw times).
		since := cmp.Time.Add(time.Duration(offset[cmp.Host])*time.Second - 2*time.Second)
		wantProcs, wantFiles, wantPersist := map[string]bool{}, map[string]bool{}, map[string]bool{}
		var wantCredIDs [][2]any
		for _, k := range truth.KeyEvents {
			kt, err := time.Parse(time.RFC3339Nano, k.Time)
			if err != nil {
				t.Fatal(err)
			}
			if k.Host != cmp.Host || strings.HasPrefix(k.Step, "B") || kt.Before(since) {
				continue
			}
			switch {
			case k.EventID == 4688 || k.EventID == 1 && strings.Contains(k.Channel, "Sysmon"):
				f := caseEvent(k.Host, k.EventID, k.RecordID)
				cmd, _ := f["command_line"].(string)
				if cmd == "" {
					cmd, _ = f["process"].(string)
				}
				wantProcs[cmd] = true
				if strings.Contains(strings.ToLower(k.What), "lsass") || strings.Contains(strings.ToLower(cmd), "ntdsutil") {
					wantCredIDs = append(wantCredIDs, [2]any{k.Step, cmd})
				}
			case k.EventID == 7045:
				f := caseEvent(k.Host, k.EventID, k.RecordID)
				wantPersist["service "+strings.ToLower(f["service_name"].(string))] = true
			case k.EventID == 4698:
				f := caseEvent(k.Host, k.EventID, k.RecordID)
				wantPersist["task "+strings.ToLower(strings.TrimLeft(f["task_name"].(string), `\`))] = true
			case k.EventID == 0 && k.Path != "" && strings.Contains(k.What, "registry value"):
				p := strings.ToLower(k.Path)
				if m := regexp.MustCompile(`\\services\\([^\\]+)`).FindStringSubmatch(p); m != nil {
					wantPersist["service "+m[1]] = true
				} else if i := strings.Index(p, `\currentversion\run\`); i >= 0 {
					wantPersist["run "+p[i+len(`\currentversion\run\`):]] = true
				}
			case k.EventID == 0 && k.Path != "" && !notDropped.MatchString(k.What):
				wantFiles[event.NormalizePath(k.Path)] = true
			}
		}
		gotProcs, gotFiles, gotPersist := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, f := range a.Processes {
			gotProcs[f.Subject] = true
		}
		for _, f := range a.Files {
			gotFiles[f.Subject] = true
		}
		for _, f := range a.Persistence {
			gotPersist[strings.ToLower(f.Subject)] = true
		}
		diff(t, cmp.Host+" processes", gotProcs, wantProcs, a.Processes)
		diff(t, cmp.Host+" files", gotFiles, wantFiles, a.Files)
		diff(t, cmp.Host+" persistence", gotPersist, wantPersist, a.Persistence)
		for _, f := range a.Others {
			if !gotFiles[event.NormalizePath(strings.Fields(strings.Trim(f.Subject, `"`))[0])] && !strings.Contains(f.Why, "dropped") {
				t.Errorf("%s: other process %q does not run a dropped file", cmp.Host, f.Subject)
			}
		}

		// Credentials.
		nonRoutine := map[string]bool{}
		routineSeen := false
		for _, f := range a.Credentials {
			if f.Routine {
				routineSeen = true
			} else if routineSeen {
				t.Errorf("%s: %q listed after routine logons", cmp.Host, f.Text)
			}
			if !f.Routine && f.Subject != "" {
				nonRoutine[strings.ToLower(f.Subject)] = true
			}
			low := strings.ToLower(f.Subject + " " + f.Text)
			for _, bad := range []string{"dwm-", "umfd-", "window manager", "font driver host", `\system:`, "local service", "network service", "$:"} {
				if strings.Contains(low, bad) {
					t.Errorf("%s: credentials name a virtual, system or machine account: %q", cmp.Host, f.Text)
				}
			}
		}
		for _, e := range truth.Edges {
			if e.Attack && e.Source == cmp.Host && !nonRoutine[strings.ToLower(e.Account)] {
				t.Errorf("%s: %s's account %s (used from here) not among the credentials: %v", cmp.Host, e.ID, e.Account, texts(a.Credentials))
			}
			if e.Technique == RDP && e.Destination == cmp.Host && !nonRoutine[strings.ToLower(e.Account)] {
				t.Errorf("%s: %s's account %s (RDP in, credentials left in memory) not among the credentials: %v", cmp.Host, e.ID, e.Account, texts(a.Credentials))
			}
		}
		for _, w := range wantCredIDs {
			found := false
			for _, f := range a.Credentials {
				found = found || strings.HasPrefix(f.Text, "credential access: ") && strings.HasSuffix(f.Text, w[1].(string))
			}
			if !found {
				t.Errorf("%s: %s credential access %q missing: %v", cmp.Host, w[0], w[1], texts(a.Credentials))
			}
		}
	}
}

func diff(t *testing.T, what string, got, want map[string]bool, facts []Fact) {
	t.Helper()
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%s: missing %q, extra %q; listed:\n%s", what, missing, extra, strings.Join(texts(facts), "\n"))
	}
}

func texts(fs []Fact) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Time.String()+"  "+f.Text+"  ["+f.Why+"]")
	}
	return out
}

// The summary never lists the demo's background: Defender scans and
// definition updates, a service key's last write, virtual accounts.
func TestArrivalsDemoNoBackground(t *testing.T) {
	c := demoCase(t)
	res, err := Analyze(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := AutoSeed(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	// The seed from the analysis' own index of process creations is the
	// one read from the case.
	from, err := AutoSeedFrom(context.Background(), c, res)
	if err != nil {
		t.Fatal(err)
	}
	if from.Host != seed.Host || from.Time != seed.Time || from.Path != seed.Path || from.EventID != seed.EventID || from.Rule != seed.Rule || from.Why != seed.Why {
		t.Errorf("AutoSeedFrom = %+v, AutoSeed = %+v", from, seed)
	}
	tr := TraceFrom(res, *seed)
	checkArrivals(t, c, res, tr, "../../testdata/cases/3cx/truth.json")
	arrivals, err := Arrivals(context.Background(), c, res, tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(arrivals) != len(tr.Order) {
		t.Fatalf("%d summaries for %d compromised hosts", len(arrivals), len(tr.Order))
	}
	for _, a := range arrivals {
		var all []Fact
		for _, l := range [][]Fact{a.Processes, a.Others, a.Files, a.Persistence, a.Credentials} {
			all = append(all, l...)
		}
		for _, f := range all {
			low := strings.ToLower(f.Text + " " + f.Subject)
			for _, noise := range []string{"mpcmdrun", "windows defender", "definition updates", "service bam", "dwm-", "umfd-"} {
				if strings.Contains(low, noise) {
					t.Errorf("%s: background in the summary: %q", a.Host, f.Text)
				}
			}
			if f.Time < a.Since && !slices.Contains([]string{"in memory when the attacker arrived"}, f.Why) && !f.Routine {
				t.Errorf("%s: %q at %s, before the arrival %s", a.Host, f.Text, f.Time, a.Since)
			}
		}
		if a.Host == seed.Host && (len(a.Processes) == 0 || a.Processes[0].EventID != seed.EventID) {
			t.Errorf("%s: the seed is not the first process: %v", a.Host, texts(a.Processes))
		}
	}
}
