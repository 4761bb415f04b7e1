package movement

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// TestKeepKeysCoverRules: every field key this package reads by name must
// survive loading of the bulk event types; a key missing from keepKeys
// would silently turn a rule off on large cases only.
func TestKeepKeysCoverRules(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "arrival.go" {
			// arrival.go reads the events arrivalEvents decoded whole.
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var lit *ast.BasicLit
			switch x := n.(type) {
			case *ast.CallExpr:
				sel, ok := x.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "s" && sel.Sel.Name != "n") || len(x.Args) != 1 {
					return true
				}
				lit, _ = x.Args[0].(*ast.BasicLit)
			case *ast.BasicLit:
				if v, err := strconv.Unquote(x.Value); x.Kind == token.STRING && err == nil && strings.HasPrefix(v, "data.") && !strings.ContainsAny(v, " %") {
					lit = x
				}
			}
			if lit == nil || lit.Kind != token.STRING {
				return true
			}
			k, err := strconv.Unquote(lit.Value)
			if err != nil || k == "data." {
				return true
			}
			seen++
			if !keepKeys[k] {
				t.Errorf("%s: field %q is read but not in keepKeys (load.go)", fset.Position(lit.Pos()), k)
			}
			return true
		})
	}
	if seen < 20 {
		t.Fatalf("found only %d field reads: the scan is broken", seen)
	}
}

// oldS is how fields were read before the compact decoder: json into
// map[string]any, then formatted.
func oldS(m map[string]any, k string) string {
	v, ok := m[k]
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatInt(int64(x), 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// checkDecode compares the decoder with encoding/json on one input.
func checkDecode(t *testing.T, js string) {
	t.Helper()
	var m map[string]any
	jerr := json.Unmarshal([]byte(js), &m)
	d := &decoder{keys: map[string]string{}}
	from, to, ok := d.decode(js, nil, true)
	if (jerr == nil) != ok {
		t.Fatalf("%q: encoding/json error %v, decoder ok %v", js, jerr, ok)
	}
	if !ok {
		if len(d.refs) != 0 || len(d.vals) != 0 {
			t.Fatalf("%q: a rejected object left %d refs", js, len(d.refs))
		}
		return
	}
	e := &ev{f: fields{vals: string(d.vals), refs: d.refs[from:to]}}
	keys := map[string]bool{}
	for k, v := range e.F {
		keys[k] = true
		if _, composite := m[k].([]any); composite {
			continue
		}
		if _, composite := m[k].(map[string]any); composite {
			continue
		}
		if got, want := e.s(k), oldS(m, k); got != want {
			t.Fatalf("%q: field %q = %q, encoding/json reads %q (iterated %q)", js, k, got, want, v)
		}
	}
	for k := range m {
		if !keys[k] {
			t.Fatalf("%q: field %q lost", js, k)
		}
	}
}

func TestDecodeFields(t *testing.T) {
	for _, js := range []string{
		`{}`, ` { } `, `null`, `{"a":"x"}`, `{"logon_type":3,"src_ip":" 10.0.0.1 ","ok":true,"no":false,"n":null}`,
		`{"p":"C:\\Windows\\System32\\cmd.exe","q":"a\"b","u":"\u00e9\ud83d\ude00\ud800x","c":"\t\n"}`,
		`{"f":1.9,"g":-2.5e3,"h":-0,"big":12345678901234567890,"neg":-9223372036854775808}`,
		`{"list":["a",1,{"b":[]}],"obj":{"x":{"y":null}},"after":"z"}`,
		`{"dup":"one","dup":"two"}`, `{"a":"x",}`, `{"a" "x"}`, `{"a":01}`, `{"a":"x"} junk`, `{"a":1e400}`,
		`{"a":"ctl` + "\x01" + `"}`, `{"a":"bad utf8 ` + "\xff\xfe" + `"}`, `{"a":[1,]}`, `[]`, `"s"`, ``, `{"a":tru}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":{"b":1,"c"}}`, `{"a":-}`, `{"a":.5}`, `{"a":1.}`, `{"a":[[[]]],"b":{"c":{}}}`,
	} {
		t.Run("", func(t *testing.T) { checkDecode(t, js) })
	}
}

// TestDecodeKeepsOnlyKeys: bulk events keep the listed keys only.
func TestDecodeKeepsOnlyKeys(t *testing.T) {
	d := &decoder{keys: map[string]string{}}
	from, to, ok := d.decode(`{"event_id":4624,"computer":"WS1.corp","data.IpPort":"5000","src_ip":"10.0.0.2"}`, keepKeys, false)
	if !ok {
		t.Fatal("not decoded")
	}
	e := &ev{f: fields{vals: string(d.vals), refs: d.refs[from:to]}}
	var got []string
	for k, v := range e.F {
		got = append(got, k+"="+v)
	}
	if strings.Join(got, " ") != "computer=WS1.corp src_ip=10.0.0.2" {
		t.Fatalf("kept %v", got)
	}
}

func FuzzDecodeFields(f *testing.F) {
	for _, s := range []string{`{"a":"x","b":3,"c":[1,"2"],"d":{"e":null}}`, `{"p":"C:\\x\u00e9","t":true}`, `{"f":-1.5e2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) { checkDecode(t, js) })
}

// TestLoadAndEachEvent: events written by the case writer come back from
// load in time order with their fields, and eachEvent selects by SQL.
func TestLoadAndEachEvent(t *testing.T) {
	ctx := context.Background()
	c, err := timeline.Open(filepath.Join(t.TempDir(), "case.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in, err := c.BeginIngest(ctx, &timeline.Evidence{Path: "x", Format: "test", SHA256: "x", Host: "WS1", Origin: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	src := in.BeginSource(0, "Security.evtx", "evtx", event.EVTX)
	for i, typ := range []string{"4688", "4624", "7036", "4688"} {
		e := &event.Event{Time: event.FileTime(1000 - i), Artifact: event.EVTX, Type: typ}
		e.Add("computer", "WS1.corp.example").Add("process", fmt.Sprintf(`C:\\p%d.exe `, i)).Add("logon_type", 3).Add("channel", "Security")
		if err := src.Emit(e); err != nil {
			t.Fatal(err)
		}
	}
	src.Done(4, 0, nil)
	if err := in.Finish(nil); err != nil {
		t.Fatal(err)
	}
	_, evs, err := load(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%d %s %s %s %d %q", e.TS, e.Host, e.Type, e.s("process"), e.n("logon_type"), e.s("channel")))
	}
	want := []string{`997 WS1 4688 C:\\p3.exe 3 ""`, `999 WS1 4624 C:\\p1.exe 3 ""`, `1000 WS1 4688 C:\\p0.exe 3 ""`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("loaded\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	n := 0
	err = eachEvent(ctx, c, "artifact = 'evtx' AND type = ?", []any{"4688"}, func(e *ev) error {
		n++
		if e.Type != "4688" || e.Host != "WS1" || !strings.HasPrefix(e.s("process"), `C:\\p`) {
			t.Errorf("eachEvent gave %s %s %q", e.Host, e.Type, e.s("process"))
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("eachEvent: %d events, %v", n, err)
	}
}
