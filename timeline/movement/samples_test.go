package movement

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// sampleTechniques names the technique a sample file's name claims, in
// precedence order (a name may mention several words).
var sampleTechniques = []struct {
	re   *regexp.Regexp
	tech string
}{
	{regexp.MustCompile(`(?i)psexe|remcom`), PsExec},
	{regexp.MustCompile(`(?i)remote_service|svcctl`), RemoteService},
	{regexp.MustCompile(`(?i)scheduled.?task|remote.task|atsvc`), ScheduledTask},
	{regexp.MustCompile(`(?i)winrm|powershellremoting|remotepowershell`), WinRM},
	{regexp.MustCompile(`(?i)wmi|eventconsumer`), WMI},
	{regexp.MustCompile(`(?i)dcom|docmexec|mmc20|shellbrowserwindow`), DCOM},
	{regexp.MustCompile(`(?i)rdp|tsclient`), RDP},
	{regexp.MustCompile(`(?i)5145_remote_filecopy|remote_file_copy`), AdminShare},
}

// minRecall is what was measured on EVTX-ATTACK-SAMPLES (every folder's
// files whose name names a technique: Lateral Movement, and the RDP
// tunnels, renamed PsExec, scheduled tasks and WMI subscriptions filed
// under Command and Control, Defense Evasion, Execution and Persistence):
// found/files. The test fails if recall drops below it.
var minRecall = map[string][2]int{
	AdminShare:    {2, 2},
	DCOM:          {4, 4},
	PsExec:        {3, 4},
	RDP:           {12, 13},
	RemoteService: {2, 2},
	ScheduledTask: {4, 5},
	WinRM:         {4, 4},
	WMI:           {7, 8},
}

func TestAttackSamplesRecall(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "evtx", "EVTX-ATTACK-SAMPLES")
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no samples under %s", dir)
	}
	type tally struct{ files, found int }
	total := 0
	got := map[string]*tally{}
	lmGot := map[string]*tally{} // the Lateral Movement folder alone
	for _, f := range files {
		tech := ""
		for _, st := range sampleTechniques {
			if st.re.MatchString(filepath.Base(f)) {
				tech = st.tech
				break
			}
		}
		if tech == "" {
			continue
		}
		db := filepath.Join(t.TempDir(), "s.db")
		run(t, "ingest", "-c", db, f)
		c := openCase(t, db)
		res, err := Analyze(context.Background(), c)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c.Close()
		os.Remove(db)
		tl := got[tech]
		if tl == nil {
			tl = &tally{}
			got[tech] = tl
		}
		tl.files++
		total++
		why := ""
		for _, e := range res.Edges {
			if why == "" && e.Technique == tech {
				why = fmt.Sprintf("edge %s -> %s", e.Source, e.Destination)
			}
		}
		for _, in := range res.Indicators {
			if why == "" && in.Technique == tech {
				why = in.Side + " indicator: " + in.Rule
			}
		}
		lm := filepath.Base(filepath.Dir(f)) == "Lateral Movement"
		if lm {
			if lmGot[tech] == nil {
				lmGot[tech] = &tally{}
			}
			lmGot[tech].files++
		}
		if why != "" {
			tl.found++
			if lm {
				lmGot[tech].found++
			}
			t.Logf("hit:  %s (%s): %s", filepath.Base(f), tech, why)
		} else {
			t.Logf("miss: %s (%s)", filepath.Join(filepath.Base(filepath.Dir(f)), filepath.Base(f)), tech)
		}
	}
	if total < 42 {
		t.Errorf("%d technique-named samples, want 42 (corpus changed?)", total)
	}
	var techs []string
	for k := range got {
		techs = append(techs, k)
	}
	sort.Strings(techs)
	for _, k := range techs {
		lmt := lmGot[k]
		if lmt == nil {
			lmt = &tally{}
		}
		t.Logf("recall %-15s %d/%d (Lateral Movement folder %d/%d)", k, got[k].found, got[k].files, lmt.found, lmt.files)
		if m, ok := minRecall[k]; ok && got[k].found*m[1] < m[0]*got[k].files {
			t.Errorf("%s recall %d/%d below measured %d/%d", k, got[k].found, got[k].files, m[0], m[1])
		}
	}
}
