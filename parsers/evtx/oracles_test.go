package evtx

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// TestUpstreamCounts checks the record counts the evtx crate's own tests
// expect (GROUND_TRUTH_POINTERS.md, test_full_samples.rs) and evtxinfo
// reports. Where the crate reads more records than libevtx (records with a
// damaged size copy), those extra records are our recovered ones.
func TestUpstreamCounts(t *testing.T) {
	cases := []struct {
		file              string
		walked, recovered int // recovered: at least
	}{
		{"other/omerbenamram-evtx/sample-with-irregular-bool-values.evtx", 3028, 0},
		{"other/omerbenamram-evtx/2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx", 1910, 0},
		{"other/omerbenamram-evtx/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx", 1774, 0},
		{"other/omerbenamram-evtx/2-vss_7-System.evtx", 1160, 0},
		{"other/omerbenamram-evtx/sample_with_a_bad_chunk_magic.evtx", 267, 3},                   // crate 270
		{"other/omerbenamram-evtx/Microsoft-Windows-HelloForBusiness%4Operational.evtx", 5, 1},   // crate 6
		{"other/omerbenamram-evtx/Microsoft-Windows-LanguagePackSetup%4Operational.evtx", 16, 1}, // crate 17
		{"other/omerbenamram-evtx/E_Windows_system32_winevt_logs_Microsoft-Windows-Shell-Core%4Operational.evtx", 1146, 0},
		{"other/omerbenamram-evtx/E_ShadowCopy6_windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx", 459, 0},
		{"other/omerbenamram-evtx/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx", 340, 0},
		{"other/omerbenamram-evtx/Application_no_crc32.evtx", 17, 0},
		{"other/omerbenamram-evtx/post-Security.evtx", 126, 0},
		{"other/omerbenamram-evtx/new-user-security.evtx", 4, 0},
		{"other/omerbenamram-evtx/security.evtx", 2261, 0},
		{"other/omerbenamram-evtx/system.evtx", 1881, 0},
		{"other/plaso/System.evtx", 5009, 0},
		{"other/plaso/System2.evtx", 194, 0},
		{"other/velocidex-evtx/Security.evtx", 739, 0},
		{"other/DFIRArtifactMuseum/Win2012R2-StolenSzechuan/System.evtx", 60189, 0},
		{"other/DFIRArtifactMuseum/Win2012R2-StolenSzechuan/Security.evtx", 8574, 0},
	}
	for _, c := range cases {
		p := parsePath(t, corpusFile(t, c.file))
		var walked, rec int
		for i := range p.events {
			if recovered(&p.events[i]) {
				rec++
			} else {
				walked++
			}
		}
		if walked != c.walked || rec < c.recovered {
			t.Errorf("%s: %d records + %d recovered, want %d + at least %d", c.file, walked, rec, c.walked, c.recovered)
		}
	}
}

var recordIDRe = regexp.MustCompile(`<EventRecordID>(\d+)</EventRecordID>`)

// TestPythonEvtx compares record ids with python-evtx (slow, so a few
// files only): every record python-evtx reads, we read (walked or
// recovered), and in clean files the walked records are exactly its.
func TestPythonEvtx(t *testing.T) {
	const script = "/usr/bin/evtx_dump.py"
	if _, err := os.Stat(script); err != nil {
		t.Skip("python3-evtx not installed")
	}
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("python3 not installed")
	}
	cases := []struct {
		file  string
		clean bool
	}{
		{"other/omerbenamram-evtx/new-user-security.evtx", true},
		{"other/velociraptor/EID4769_Kerberoasting.evtx", true},
		{"other/velociraptor/RDPAuth_LocalSessionManager.evtx", true},
		{"EVTX-ATTACK-SAMPLES/Lateral Movement/LM_Remote_Service02_7045.evtx", true},
		{"other/omerbenamram-evtx/Microsoft-Windows-HelloForBusiness%4Operational.evtx", false},
		{"other/omerbenamram-evtx/sample_with_a_bad_chunk_magic.evtx", false},
	}
	for _, c := range cases {
		path := corpusFile(t, c.file)
		out, err := exec.Command("/usr/bin/python3", script, path).Output()
		if err != nil {
			t.Errorf("%s: evtx_dump.py: %v", c.file, err)
			continue
		}
		var theirs []string
		for _, m := range recordIDRe.FindAllSubmatch(out, -1) {
			theirs = append(theirs, string(m[1]))
		}
		p := parsePath(t, path)
		all := map[string]bool{}
		var walked []string
		for i := range p.events {
			id := strconv.FormatInt(p.events[i].Record, 10)
			all[id] = true
			if !recovered(&p.events[i]) {
				walked = append(walked, id)
			}
		}
		for _, id := range theirs {
			if !all[id] {
				t.Errorf("%s: python-evtx record %s missing", c.file, id)
			}
		}
		if c.clean && len(walked) != len(theirs) {
			t.Errorf("%s: %d records, python-evtx %d", c.file, len(walked), len(theirs))
		}
		t.Logf("%s: python-evtx %d records, ours %d (+%d recovered)", c.file, len(theirs), len(walked), len(p.events)-len(walked))
	}
}
