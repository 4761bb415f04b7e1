package movement

import (
	"context"
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
	{regexp.MustCompile(`(?i)scheduledtask|remote.task|atsvc`), ScheduledTask},
	{regexp.MustCompile(`(?i)winrm|powershellremoting|remotepowershell`), WinRM},
	{regexp.MustCompile(`(?i)wmi`), WMI},
	{regexp.MustCompile(`(?i)dcom|docmexec|mmc20|shellbrowserwindow`), DCOM},
	{regexp.MustCompile(`(?i)rdp|tsclient`), RDP},
	{regexp.MustCompile(`(?i)5145_remote_filecopy|remote_file_copy`), AdminShare},
}

// minRecall is what was measured on EVTX-ATTACK-SAMPLES "Lateral
// Movement" (files whose name names a technique): found/files. The test
// fails if recall drops below it.
var minRecall = map[string][2]int{
	AdminShare:    {1, 2},
	DCOM:          {2, 4},
	PsExec:        {2, 3},
	RDP:           {1, 6},
	RemoteService: {2, 2},
	ScheduledTask: {2, 3},
	WinRM:         {4, 4},
	WMI:           {3, 5},
}

func TestAttackSamplesRecall(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "evtx", "EVTX-ATTACK-SAMPLES", "Lateral Movement")
	files, err := filepath.Glob(filepath.Join(dir, "*.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no samples under %s", dir)
	}
	type tally struct{ files, found int }
	total := 0
	got := map[string]*tally{}
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
		hit := false
		for _, e := range res.Edges {
			hit = hit || e.Technique == tech
		}
		for _, in := range res.Indicators {
			hit = hit || in.Technique == tech
		}
		if hit {
			tl.found++
		} else {
			t.Logf("miss: %s (%s)", filepath.Base(f), tech)
		}
	}
	if total < 29 {
		t.Errorf("%d technique-named samples, want 29 (corpus changed?)", total)
	}
	var techs []string
	for k := range got {
		techs = append(techs, k)
	}
	sort.Strings(techs)
	for _, k := range techs {
		t.Logf("recall %-15s %d/%d", k, got[k].found, got[k].files)
		if m, ok := minRecall[k]; ok && got[k].found*m[1] < m[0]*got[k].files {
			t.Errorf("%s recall %d/%d below measured %d/%d", k, got[k].found, got[k].files, m[0], m[1])
		}
	}
}
