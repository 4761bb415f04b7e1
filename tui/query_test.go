package tui

import (
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		in      string
		want    string // rendered groups, "" for empty
		wantErr string
	}{
		{in: "", want: ""},
		{in: "host:DC01", want: "host=DC01"},
		{in: "host:DC01 type:4624", want: "host=DC01 & type=4624"},
		{in: "host:DC01 OR host:FS01 -type:4688", want: "host=DC01|host=FS01 & !type=4688"},
		{in: `path:"Program Files\x" mimikatz`, want: `path=Program Files\x & =mimikatz`},
		{in: `C:\Windows\Temp\a.exe`, want: `=C:\Windows\Temp\a.exe`},
		{in: `"foo:bar"`, want: `=foo:bar`},
		{in: `"-enc" -mimikatz -"Program Files"`, want: `=-enc & !=mimikatz & !=Program Files`},
		{in: "event:4624 after:2023-03-10 before:2023-03-10T09:12", want: "event=4624 & after=2023-03-10 & before=2023-03-10T09:12"},
		{in: "tag:bookmark logon:0x116558 ip:10.0.0.1 process:cmd.exe file:x", want: "tag=bookmark & logon=0x116558 & ip=10.0.0.1 & process=cmd.exe & file=x"},
		{in: "HOST:dc01", want: "host=dc01"},
		{in: "hots:DC01", wantErr: `unknown field "hots"`},
		{in: "host:", wantErr: "host: needs a value"},
		{in: "OR host:a", wantErr: "OR needs a term"},
		{in: "host:a OR", wantErr: "OR needs a term"},
		{in: "a OR OR b", wantErr: "OR needs a term"},
		{in: `path:"unterminated`, wantErr: "unterminated quote"},
		{in: "event:46x", wantErr: "not a number"},
		{in: "after:yesterday", wantErr: "not a time"},
		{in: "-", wantErr: "needs a term"},
		{in: "edge:5 ids:1,2,30", want: "edge=5 & ids=1,2,30"},
		{in: "edge:x", wantErr: `edge: "x" is not a number`},
		{in: "ids:1,,2", wantErr: `ids: "" is not a number`},
	}
	for _, tt := range tests {
		q, err := ParseQuery(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseQuery(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tt.in, err)
			continue
		}
		if got := render(q); got != tt.want {
			t.Errorf("ParseQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Every parsed query renders SQL with one argument per placeholder.
		where, args := q.SQL(Resolved{})
		if strings.Count(where, "?") != len(args) {
			t.Errorf("%q: %d placeholders, %d args: %s", tt.in, strings.Count(where, "?"), len(args), where)
		}
	}
}

func render(q Query) string {
	var gs []string
	for _, g := range q.Groups {
		var ts []string
		for _, t := range g {
			s := t.Key + "=" + t.Value
			if t.Negate {
				s = "!" + s
			}
			ts = append(ts, s)
		}
		gs = append(gs, strings.Join(ts, "|"))
	}
	return strings.Join(gs, " & ")
}

func TestQueryFilter(t *testing.T) {
	q, _ := ParseQuery("host:DC01 artifact:EVTX logon after:2023-03-10")
	f, ok := q.Filter()
	if !ok || f.Hosts[0] != "DC01" || f.Artifacts[0] != "evtx" || f.Query != "logon" || f.After == 0 {
		t.Errorf("Filter() = %+v, %v", f, ok)
	}
	for _, s := range []string{"-host:a", "a OR b", "user:x", "tag:bookmark"} {
		q, _ := ParseQuery(s)
		if _, ok := q.Filter(); ok {
			t.Errorf("%q: Filter() ok, want not expressible", s)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"host:DC01 OR -type:4624", `path:"a b" x`, "after:2023-03-10T09:12:00.1234567Z", `"`, "- OR :", "edge:5 -ids:1,2,3 OR id:4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			return
		}
		where, args := q.SQL(Resolved{})
		if strings.Count(where, "?") != len(args) {
			t.Fatalf("%q: placeholders %d args %d", s, strings.Count(where, "?"), len(args))
		}
	})
}
