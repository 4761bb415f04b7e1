package evtx

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// theirs is one record as libevtx's evtxexport prints it.
type theirs struct {
	eventID  string
	recordID string
	created  string // TimeCreated/@SystemTime, nine fractional digits
	written  uint64 // "Written time" of the text output, as FILETIME
	data     []kv   // EventData/UserData values, keyed like ours
	strings  []string
}

type xNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []xNode    `xml:",any"`
	Text    string     `xml:",chardata"`
}

type xEvent struct {
	System struct {
		EventID     string `xml:"EventID"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		EventRecordID string `xml:"EventRecordID"`
	} `xml:"System"`
	EventData *xNode `xml:"EventData"`
	UserData  *xNode `xml:"UserData"`
}

// runEvtxexport returns the records evtxexport exports from path (XML
// for ids, times and named values; text for the written time and the
// strings), or an error when its XML cannot be read.
func runEvtxexport(path string) ([]theirs, error) {
	xout, _ := exec.Command("evtxexport", "-f", "xml", path).Output()
	tout, _ := exec.Command("evtxexport", path).Output()
	var recs []theirs
	dec := xml.NewDecoder(bytes.NewReader(xmlSafe(xout)))
	dec.Strict = false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Event" {
			continue
		}
		var x xEvent
		if err := dec.DecodeElement(&x, &se); err != nil {
			return recs, fmt.Errorf("evtxexport XML record %d: %w", len(recs)+1, err)
		}
		r := theirs{eventID: x.System.EventID, recordID: x.System.EventRecordID, created: x.System.TimeCreated.SystemTime}
		if x.EventData != nil {
			unnamed := 0
			for _, n := range x.EventData.Nodes {
				switch n.XMLName.Local {
				case "Data":
					name, ok := xattr(n, "Name")
					if !ok {
						name = strconv.Itoa(unnamed)
						unnamed++
					}
					r.data = addKV(r.data, name, n.Text)
				case "Binary":
					r.data = addKV(r.data, "Binary", n.Text)
				default:
					r.data = xflatten(r.data, n)
				}
			}
		}
		if x.UserData != nil {
			for _, n := range x.UserData.Nodes {
				r.data = xflatten(r.data, n)
			}
		}
		recs = append(recs, r)
	}
	// Text output: "Written time" and "String: N" lines, record by record.
	i := -1
	sc := bufio.NewScanner(bytes.NewReader(tout))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		// "Written time\t\t\t: value", "String: 1\t\t\t: value"
		k, v, ok := strings.Cut(sc.Text(), "\t: ")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		switch {
		case k == "Event number":
			i++
		case k == "Written time" && i >= 0 && i < len(recs):
			recs[i].written = parseLibyalTime(v)
		case strings.HasPrefix(k, "String:") && i >= 0 && i < len(recs):
			recs[i].strings = append(recs[i].strings, v)
		}
	}
	return recs, nil
}

// xmlSafe replaces the control characters evtxexport copies into its XML
// (not allowed in XML 1.0) by U+FFFD, which sameValue also does to ours.
func xmlSafe(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			out = append(out, "\uFFFD"...)
			continue
		}
		out = append(out, c)
	}
	return out
}

func xattr(n xNode, name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

func addKV(list []kv, key, val string) []kv {
	rec := record{data: list}
	rec.add(key, val)
	return rec.data
}

// xflatten mirrors walker.flatten on evtxexport's XML.
func xflatten(list []kv, n xNode) []kv {
	for _, a := range n.Attrs {
		if a.Name.Local == "xmlns" || a.Name.Space == "xmlns" {
			continue
		}
		list = addKV(list, n.XMLName.Local+"."+a.Name.Local, a.Value)
	}
	if len(n.Nodes) > 0 {
		for _, c := range n.Nodes {
			list = xflatten(list, c)
		}
		return list
	}
	if len(n.Attrs) > 0 && n.Text == "" {
		return list
	}
	return addKV(list, n.XMLName.Local, n.Text)
}

// parseLibyalTime reads "Oct 23, 2013 16:22:39.973500000 UTC".
func parseLibyalTime(s string) uint64 {
	s = strings.TrimSuffix(strings.TrimSpace(s), " UTC")
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return 0
	}
	t, err := time.Parse("Jan 02, 2006 15:04:05", s[:dot])
	if err != nil {
		return 0
	}
	ns, err := strconv.ParseUint(s[dot+1:], 10, 64)
	if err != nil {
		return 0
	}
	return uint64(event.FromTime(t)) + ns/100
}

// sameValue compares one of our values with evtxexport's rendering of
// it. Known rendering differences, none of which is a data difference:
// libevtx zero-pads HexInt values (0x00000000000003e7 for 0x3e7) and
// prints size_t in decimal, prints FILETIME with nine fractional digits,
// and ends some values with a line break.
func sameValue(ours, theirs string) bool {
	if ours == theirs {
		return true
	}
	// XML readers turn CR LF into LF (XML 1.0 section 2.11); control
	// characters were replaced before reading evtxexport's XML.
	ours = strings.ReplaceAll(ours, "\r\n", "\n")
	ours = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			return '\uFFFD'
		}
		return r
	}, ours)
	if ours == theirs {
		return true
	}
	if strings.TrimRight(ours, "\r\n\t ") == strings.TrimRight(theirs, "\r\n\t ") {
		return true
	}
	if strings.HasPrefix(ours, "0x") || strings.HasPrefix(theirs, "0x") {
		a, ok1 := number(ours)
		b, ok2 := number(theirs)
		if ok1 && ok2 {
			return a == b
		}
	}
	if len(ours) == 28 && ours[10] == 'T' && len(theirs) >= 20 && theirs[10] == 'T' {
		return parseISOFileTime(ours) == parseISOFileTime(theirs)
	}
	return false
}

// exception is a file where we knowingly differ from evtxexport.
type exception struct {
	ours, theirs int // record counts (ours without recovered records)
	reason       string
}

// exceptions lists every corpus file whose record count differs from
// evtxexport, with the reason (checked against evtxinfo, python-evtx and
// the evtx crate's expectations in GROUND_TRUTH_POINTERS.md).
var exceptions = map[string]exception{
	"evtx/other/omerbenamram-evtx/E_ShadowCopy6_windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx": {459, 89,
		"evtxexport stops at the first record whose BinXML it cannot render; evtxinfo and the evtx crate count 459"},
	"evtx/other/omerbenamram-evtx/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx": {340, 24,
		"evtxexport stops at the first record whose BinXML it cannot render; evtxinfo and the evtx crate count 340"},
	"evtx/other/omerbenamram-evtx/MSExchange_Management_wec.evtx": {1, 0,
		"WEC-forwarded record evtxexport cannot read (\"unable to read element data\"); evtxinfo counts 1"},
	"evtx/other/omerbenamram-evtx/issue_201.evtx": {1, 0,
		"WEC-forwarded record evtxexport cannot read (\"unable to read element data\"); evtxinfo counts 1"},
}

// valueExceptions lists files whose values differ from evtxexport on
// purpose: the number of differing values (or records, for a differing
// number of values) and why.
var valueExceptions = map[string]exception{
	"evtx/other/DFIRArtifactMuseum/Win10-APTSimulatorVM/System.evtx": {7, 0,
		"MinimumPasswordLengthAudit is Int32 0xFFFFFFFF: -1; libevtx 20181227 prints -2147483647 (python-evtx: -1)"},
	"evtx/other/DFIRArtifactMuseum/Win10-APTSimulatorVM/Security.evtx": {3, 0,
		"records rendered with ProcessingErrorData (ErrorCode 15005, DataItemName, EventPayload): we keep its values, evtxexport prints none"},
	"evtx/other/DFIRArtifactMuseum/Win2012R2-StolenSzechuan/Microsoft-Windows-WinRM%4Operational.evtx": {2, 0,
		"WinRM 91 rendered with ProcessingErrorData: we keep ErrorCode, DataItemName, EventPayload, evtxexport prints none"},
	"evtx/EVTX-ATTACK-SAMPLES/Lateral Movement/LM_winrm_target_wrmlogs_91_wsmanShellStarted_poorLog.evtx": {1, 0,
		"WinRM 91 rendered with ProcessingErrorData: we keep ErrorCode, DataItemName, EventPayload, evtxexport prints none"},
}

type fileResult struct {
	rel             string
	ours, theirs    int
	recovered       int
	mismatches      []string
	valuesCompared  int
	valueMismatch   int
	timesCompared   int
	writtenCompared int
	err             error
}

func TestDifferentialEvtxexport(t *testing.T) {
	if _, err := exec.LookPath("evtxexport"); err != nil {
		t.Skip("evtxexport not installed")
	}
	root := testimg.Corpus(t)
	files := evtxFiles(t)
	if len(files) < 200 {
		t.Fatalf("only %d .evtx files found under %s", len(files), root)
	}
	results := make([]fileResult, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, rel := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, rel string) {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = compareFile(t, root, rel)
		}(i, rel)
	}
	wg.Wait()

	var totOurs, totTheirs, totRecovered, totValues, totTimes, totWritten, exc int
	for _, r := range results {
		totOurs += r.ours
		totTheirs += r.theirs
		totRecovered += r.recovered
		totValues += r.valuesCompared
		totTimes += r.timesCompared
		totWritten += r.writtenCompared
		if r.err != nil {
			t.Errorf("%s: %v", r.rel, r.err)
		}
		key := filepath.ToSlash(r.rel)
		if r.ours != r.theirs {
			ex, ok := exceptions[key]
			switch {
			case !ok:
				t.Errorf("%s: %d records, evtxexport %d", r.rel, r.ours, r.theirs)
			case ex.ours != r.ours || ex.theirs != r.theirs:
				t.Errorf("%s: %d records, evtxexport %d; the exception table says %d and %d (%s)", r.rel, r.ours, r.theirs, ex.ours, ex.theirs, ex.reason)
			default:
				exc++
			}
		} else if _, ok := exceptions[key]; ok {
			t.Errorf("%s: listed as an exception but the counts agree (%d)", r.rel, r.ours)
		}
		if ve, ok := valueExceptions[key]; ok {
			if ve.ours != r.valueMismatch {
				t.Errorf("%s: %d differing values, the exception table says %d (%s)", r.rel, r.valueMismatch, ve.ours, ve.reason)
			}
		} else {
			for _, m := range r.mismatches {
				t.Errorf("%s: %s", r.rel, m)
			}
		}
	}
	t.Logf("%d files: %d records (+%d recovered), evtxexport %d; %d count exceptions; compared %d creation times, %d written times, %d values",
		len(files), totOurs, totRecovered, totTheirs, exc, totTimes, totWritten, totValues)
}

func compareFile(t *testing.T, root, rel string) fileResult {
	res := fileResult{rel: rel}
	path := filepath.Join(root, rel)
	got := parsePath(t, path)
	want, err := runEvtxexport(path)
	if err != nil {
		res.err = err
	}
	var ours []*event.Event
	for i := range got.events {
		if recovered(&got.events[i]) {
			res.recovered++
			continue
		}
		ours = append(ours, &got.events[i])
	}
	res.ours, res.theirs = len(ours), len(want)
	bad := func(format string, args ...any) {
		if len(res.mismatches) < 10 {
			res.mismatches = append(res.mismatches, fmt.Sprintf(format, args...))
		}
	}
	for i := 0; i < len(ours) && i < len(want); i++ {
		e, w := ours[i], want[i]
		if strconv.FormatInt(e.Record, 10) != w.recordID {
			bad("record %d: id %d, evtxexport %s (stopping)", i, e.Record, w.recordID)
			break
		}
		if e.Type != w.eventID {
			bad("record %d: event id %s, evtxexport %s", e.Record, e.Type, w.eventID)
		}
		if w.created != "" {
			res.timesCompared++
			if uint64(e.Time) != parseISOFileTime(w.created) {
				bad("record %d: time %s, evtxexport %s", e.Record, e.Time, w.created)
			}
		}
		if w.written != 0 {
			res.writtenCompared++
			written := uint64(e.Time)
			if v, ok := e.Get("written_time"); ok {
				written = uint64(v.(event.FileTime))
			}
			if written != w.written {
				bad("record %d: written time %s, evtxexport %s", e.Record, event.FileTime(written), event.FileTime(w.written))
			}
		}
		ourData := dataFields(e)
		if len(ourData) != len(w.data) {
			res.valueMismatch++
			bad("record %d: %d values, evtxexport %d: %v vs %v", e.Record, len(ourData), len(w.data), ourData, w.data)
			continue
		}
		for j := range ourData {
			res.valuesCompared++
			if ourData[j].key == w.data[j].key && !sameValue(ourData[j].val, w.data[j].val) &&
				j < len(w.strings) && sameValue(ourData[j].val, w.strings[j]) {
				// evtxexport does not escape markup inside values in its
				// XML, so values holding XML are compared with its text
				// output, which prints them verbatim.
				continue
			}
			if ourData[j].key != w.data[j].key || !sameValue(ourData[j].val, w.data[j].val) {
				res.valueMismatch++
				bad("record %d: value %q=%q, evtxexport %q=%q", e.Record, ourData[j].key, ourData[j].val, w.data[j].key, w.data[j].val)
			}
		}
	}
	return res
}
