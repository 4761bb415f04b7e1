package evtx

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/event"
)

// Tests against the two XML-printing readers: libevtx's evtxexport and
// python-evtx's evtx_dump.py. Each value is compared with the exact text
// the reader prints for its type; the differences from Windows' own
// rendering are the readers' documented conventions or defects, listed
// in the renderers below.

type xNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []xNode    `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n *xNode) child(name string) *xNode {
	for i := range n.Nodes {
		if n.Nodes[i].XMLName.Local == name {
			return &n.Nodes[i]
		}
	}
	return nil
}

func (n *xNode) attr(name string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.Attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

func (n *xNode) text(path ...string) string {
	for _, p := range path {
		if n = n.child(p); n == nil {
			return "<missing " + p + ">"
		}
	}
	return n.Text
}

var xmlDecl = regexp.MustCompile(`<\?xml[^>]*\?>`)

// xmlEvents returns every <Event> element of a reader's output.
func xmlEvents(out []byte) ([]xNode, error) {
	// python-evtx declares XML 1.1, which encoding/xml refuses; nothing
	// in the documents needs 1.1.
	out = xmlDecl.ReplaceAll(out, nil)
	dec := xml.NewDecoder(bytes.NewReader(out))
	var evs []xNode
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return evs, nil
			}
			return evs, fmt.Errorf("after %d events: %w", len(evs), err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Event" {
			continue
		}
		var n xNode
		if err := dec.DecodeElement(&n, &se); err != nil {
			return evs, fmt.Errorf("event %d: %w", len(evs)+1, err)
		}
		evs = append(evs, n)
	}
}

// xmlReader is how one tool prints values.
type xmlReader struct {
	name   string
	render func(v any) string
	// absentAttr is what the tool prints for an attribute whose
	// optional substitution is NULL: nothing (ok=false), or "".
	emptyAttr bool
	// mask, if set, is applied to both sides of a value comparison.
	mask func(string) string
}

// libevtx renders like Windows except: HexInt values zero-padded to
// their width, size_t in decimal, FILETIME with nine fractional digits.
// Two defects of libevtx 20181227 (python-evtx and our parser read the
// same bytes correctly): negative Int32/Int64 values are printed as a
// minus sign and the value with its sign bit cleared (-1 as
// -2147483647), and characters outside the BMP are decoded to a wrong
// code point (U+1F600 comes out as U+1F201), so those are masked on both
// sides.
var libevtx = xmlReader{name: "evtxexport", mask: maskAstral, render: func(v any) string {
	switch x := v.(type) {
	case int32:
		return signMagnitude(uint64(uint32(x)), 1<<31)
	case int64:
		return signMagnitude(uint64(x), 1<<63)
	case HexInt32:
		return fmt.Sprintf("0x%08x", uint32(x))
	case HexInt64:
		return fmt.Sprintf("0x%016x", uint64(x))
	case SizeT:
		return strconv.FormatUint(uint64(x), 10)
	case event.FileTime:
		s := x.String()
		return s[:len(s)-1] + "00Z"
	}
	return windows(v)
}}

func signMagnitude(u, sign uint64) string {
	if u&sign == 0 {
		return strconv.FormatUint(u, 10)
	}
	m := u &^ sign
	if m == 0 {
		m = sign
	}
	return "-" + strconv.FormatUint(m, 10)
}

func maskAstral(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0xffff {
			return '\uFFFD'
		}
		return r
	}, s)
}

// python-evtx renders booleans True/False, GUIDs in lower case, HexInt
// zero-padded, size_t in decimal, binary as base64, FILETIME through a
// float (parse_filetime: float(qword)*1e-7, then datetime at 1 µs,
// rounded half-even) and SYSTEMTIME with the milliseconds put in the
// microsecond field (its defect), both as Python's isoformat(' ').
var pythonEvtx = xmlReader{name: "python-evtx", emptyAttr: true, render: func(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "True"
		}
		return "False"
	case GUID:
		return strings.ToLower(windows(x))
	case HexInt32:
		return fmt.Sprintf("0x%08x", uint32(x))
	case HexInt64:
		return fmt.Sprintf("0x%016x", uint64(x))
	case SizeT:
		return strconv.FormatUint(uint64(x), 10)
	case Binary:
		return base64.StdEncoding.EncodeToString(x)
	case event.FileTime:
		return pythonFileTime(x)
	case SysTime:
		t := event.FileTime(x).Time()
		return pyISO(time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e6*1e3, time.UTC))
	}
	return windows(v)
}}

// pythonFileTime is what python-evtx prints for a FILETIME: CPython's
// datetime.utcfromtimestamp(float(q)*1e-7 - 11644473600), which splits
// the double with modf and rounds the microseconds half-even.
func pythonFileTime(ft event.FileTime) string {
	d := float64(ft)*1e-7 - 11644473600
	sec, frac := math.Modf(d)
	us := math.RoundToEven(frac * 1e6)
	if us >= 1e6 {
		us -= 1e6
		sec++
	} else if us < 0 {
		us += 1e6
		sec--
	}
	return pyISO(time.Unix(int64(sec), int64(us)*1000).UTC())
}

// pyISO is datetime.isoformat(' '): microseconds only when non-zero.
func pyISO(t time.Time) string {
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

// timeCreated is the reader's rendering of TimeCreated/@SystemTime.
func (x xmlReader) timeCreated(ft event.FileTime) string {
	if x.name == "python-evtx" {
		return pythonFileTime(ft)
	}
	return x.render(ft)
}

// checkXML compares a reader's events with the records written.
func checkXML(t *testing.T, x xmlReader, fx fixture, evs []xNode) {
	t.Helper()
	if len(evs) != len(fx.recs) {
		t.Errorf("%s: %s read %d records, wrote %d", fx.name, x.name, len(evs), len(fx.recs))
		return
	}
	for i := range evs {
		ev, r := &evs[i], &fx.recs[i]
		where := fmt.Sprintf("%s: %s record %d (event %d)", fx.name, x.name, fx.ids[i], r.EventID)
		sys := ev.child("System")
		prov := sys.child("Provider")
		eq := func(what, got, want string) {
			if got != want {
				t.Errorf("%s: %s = %q, want %q", where, what, got, want)
			}
		}
		optAttr := func(what string, n *xNode, name, want string) {
			got, ok := n.attr(name)
			if want == "" {
				if ok && !(x.emptyAttr && got == "") {
					t.Errorf("%s: %s = %q, want absent", where, what, got)
				}
				return
			}
			eq(what, got, want)
		}
		name, _ := prov.attr("Name")
		eq("Provider/@Name", name, r.Provider)
		optAttr("Provider/@Guid", prov, "Guid", r.ProviderGUID)
		optAttr("Provider/@EventSourceName", prov, "EventSourceName", r.EventSourceName)
		eq("EventID", sys.text("EventID"), fmt.Sprint(r.EventID))
		q := ""
		if r.Qualifiers != 0 {
			q = fmt.Sprint(r.Qualifiers)
		}
		optAttr("EventID/@Qualifiers", sys.child("EventID"), "Qualifiers", q)
		eq("Version", sys.text("Version"), fmt.Sprint(r.Version))
		eq("Level", sys.text("Level"), fmt.Sprint(r.Level))
		eq("Task", sys.text("Task"), fmt.Sprint(r.Task))
		eq("Opcode", sys.text("Opcode"), fmt.Sprint(r.Opcode))
		eq("Keywords", sys.text("Keywords"), fmt.Sprintf("0x%016x", r.Keywords))
		tc, _ := sys.child("TimeCreated").attr("SystemTime")
		eq("TimeCreated", tc, x.timeCreated(r.Time))
		eq("EventRecordID", sys.text("EventRecordID"), fmt.Sprint(fx.ids[i]))
		act := ""
		if r.ActivityID != "" {
			act = x.render(GUID(r.ActivityID))
		}
		optAttr("Correlation/@ActivityID", sys.child("Correlation"), "ActivityID", act)
		pid, _ := sys.child("Execution").attr("ProcessID")
		tid, _ := sys.child("Execution").attr("ThreadID")
		eq("ProcessID", pid, fmt.Sprint(r.ProcessID))
		eq("ThreadID", tid, fmt.Sprint(r.ThreadID))
		eq("Channel", sys.text("Channel"), r.Channel)
		eq("Computer", sys.text("Computer"), r.Computer)
		optAttr("Security/@UserID", sys.child("Security"), "UserID", r.UserSID)

		var got []wantField
		if r.UserData != nil {
			ud := ev.child("UserData")
			if ud == nil || len(ud.Nodes) != 1 {
				t.Errorf("%s: UserData missing or not one element", where)
				continue
			}
			el := ud.Nodes[0]
			eq("UserData element", el.XMLName.Local, r.UserData.Element)
			eq("UserData namespace", el.XMLName.Space, r.UserData.Namespace)
			for _, n := range el.Nodes {
				got = append(got, wantField{n.XMLName.Local, n.Text})
			}
		} else {
			ed := ev.child("EventData")
			if ed == nil {
				t.Errorf("%s: EventData missing", where)
				continue
			}
			optAttr("EventData/@Name", ed, "Name", r.EventDataName)
			unnamed := 0
			for _, n := range ed.Nodes {
				k, ok := n.attr("Name")
				if n.XMLName.Local == "Binary" {
					k, ok = "Binary", true
				}
				if !ok {
					k = strconv.Itoa(unnamed)
					unnamed++
				}
				got = append(got, wantField{k, n.Text})
			}
		}
		want := expectedFields(r)
		if len(got) != len(want) {
			t.Errorf("%s: %d values %v, want %d", where, len(got), got, len(want))
			continue
		}
		for j, w := range want {
			wv, gv := xmlText(x.render(w.v)), got[j].v.(string)
			if x.mask != nil {
				wv, gv = x.mask(wv), x.mask(gv)
			}
			if got[j].key != w.key || gv != wv {
				t.Errorf("%s: value %d = %s=%q, want %s=%q (%T)", where, j, got[j].key, got[j].v, w.key, wv, w.v)
			}
		}
	}
}

func TestEvtxexport(t *testing.T) {
	if _, err := exec.LookPath("evtxexport"); err != nil {
		t.Skip("evtxexport not installed (libevtx-utils)")
	}
	for _, fx := range writeFixtures(t, 2000) {
		cmd := exec.Command("evtxexport", "-f", "xml", fx.path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("%s: evtxexport: %v: %s", fx.name, err, stderr.Bytes())
		}
		evs, err := xmlEvents(out)
		if err != nil {
			t.Errorf("%s: evtxexport XML: %v", fx.name, err)
		}
		checkXML(t, libevtx, fx, evs)
		t.Logf("%s: evtxexport %d records", fx.name, len(evs))
	}
}

func TestPythonEvtx(t *testing.T) {
	const script = "/usr/bin/evtx_dump.py"
	if _, err := os.Stat(script); err != nil {
		t.Skip("python3-evtx not installed")
	}
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		t.Skip("python3 not installed")
	}
	// python-evtx is slow: the channel files only, not the 2,000-record log.
	for _, fx := range writeFixtures(t, 0) {
		cmd := exec.Command("/usr/bin/python3", script, fx.path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("%s: evtx_dump.py: %v: %s", fx.name, err, stderr.Bytes())
		}
		evs, err := xmlEvents(out)
		if err != nil {
			t.Errorf("%s: python-evtx XML: %v", fx.name, err)
		}
		checkXML(t, pythonEvtx, fx, evs)
		t.Logf("%s: python-evtx %d records", fx.name, len(evs))
	}
}
