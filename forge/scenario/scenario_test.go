package scenario

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"
)

// minimal is a valid scenario the table tests break one field at a time.
const minimal = `
name: t
seed: s
start: 2023-03-01T00:00:00Z
collected_at: 2023-03-02T00:00:00Z
organisation: {domain: CORP, dns: corp.example, sid: S-1-5-21-1-2-3}
hosts:
  - name: WS1
    role: workstation
    os: {product: Windows 10 Pro, version: 22H2, build: 19045}
    timezone: UTC
    addresses: [{ip: 10.0.0.1, until: 2023-03-01T12:00:00Z}, {ip: 10.0.0.2}]
    collected: true
    image: {container: raw, scheme: gpt, size: 16MiB}
  - name: DC
    role: dc
    addresses: [{ip: 10.0.0.5}]
users:
  - {account: CORP\a, rid: 1105, roles: [domain-admin]}
edges:
  - {id: E1, time: 2023-03-01T10:00:00Z, source: WS1, destination: DC, technique: rdp, account: CORP\a, authentication: kerberos, attack: true}
actions:
  - {time: 2023-03-01T09:00:00Z, host: WS1, kind: run, path: 'C:\x.exe', user: CORP\a}
`

func TestParse(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           string // substring of the error; "" = valid
	}{
		{"valid", "", "", ""},
		{"unknown field", "seed: s", "seed: s\nsede: x", "field sede not found"},
		{"bad technique", "technique: rdp", "technique: ssh", `technique "ssh"`},
		{"bad authentication", "authentication: kerberos", "authentication: password", `authentication "password"`},
		{"unknown account", "account: CORP\\a, auth", "account: CORP\\b, auth", `account "CORP\\b": not in users`},
		{"unknown host", "destination: DC", "destination: DC9", `destination "DC9": no such host`},
		{"same host", "destination: DC", "destination: WS1", "same host"},
		{"unknown source without address", "source: WS1", "source: unknown", "needs source_address"},
		{"address without until", "{ip: 10.0.0.1, until: 2023-03-01T12:00:00Z}", "{ip: 10.0.0.1}", "needs until"},
		{"bad ip", "ip: 10.0.0.5", "ip: 10.0.0.500", "want an IPv4 address"},
		{"time outside", "time: 2023-03-01T10:00:00Z", "time: 2023-04-01T10:00:00Z", "outside start..collected_at"},
		{"bad timezone", "timezone: UTC", "timezone: Mars Time", `timezone "Mars Time"`},
		{"bad container", "container: raw", "container: zip", `container "zip"`},
		{"bad scheme", "scheme: gpt", "scheme: apm", `scheme "apm"`},
		{"bad size", "size: 16MiB", "size: 16", "image.size"},
		{"bad sid", "sid: S-1-5-21-1-2-3", "sid: S-1-5-32", "organisation.sid"},
		{"bad action kind", "kind: run", "kind: dance", `kind "dance"`},
		{"relative path", `path: 'C:\x.exe'`, `path: 'x.exe'`, "absolute"},
		{"duplicate rid", "rid: 1105, roles", "rid: 1105, roles: []}\n  - {account: CORP\\b, rid: 1105, roles", "rid 1105 already used"},
		{"repeat too small", "attack: true}", "attack: true, repeat: {every: 24h, count: 1}}", "count 2..1000"},
		{"duration", "collected: true", "collected: true\n    clock_offset: −41s", ""},
		{"bad duration", "collected: true", "collected: true\n    clock_offset: soon", "duration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := minimal
			if c.old != "" {
				if !strings.Contains(src, c.old) {
					t.Fatalf("test broken: %q not in the scenario", c.old)
				}
				src = strings.Replace(src, c.old, c.new, 1)
			}
			s, err := Parse([]byte(src), false)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if s.Hosts[0].Name != "WS1" {
					t.Fatalf("host = %q", s.Hosts[0].Name)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseClockOffsetAndAddress(t *testing.T) {
	s, err := Parse([]byte(strings.Replace(minimal, "collected: true", "collected: true\n    clock_offset: -41s", 1)), false)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Host("ws1")
	if time.Duration(h.ClockOffset) != -41*time.Second {
		t.Fatalf("offset = %v", time.Duration(h.ClockOffset))
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	if got := h.AddressAt(at("2023-03-01T11:59:59Z")); got != "10.0.0.1" {
		t.Fatalf("before: %s", got)
	}
	if got := h.AddressAt(at("2023-03-01T12:00:00Z")); got != "10.0.0.2" {
		t.Fatalf("after: %s", got)
	}
}

func TestParseJSON(t *testing.T) {
	j := `{"name":"j","seed":"s","start":"2023-03-01T00:00:00Z","collected_at":"2023-03-02T00:00:00Z",
"organisation":{"domain":"CORP","dns":"corp.example","sid":"S-1-5-21-1-2-3"},
"hosts":[{"name":"A","role":"server","addresses":[{"ip":"10.0.0.1"}]},{"name":"B","role":"server","timezone":"UTC","os":{"product":"W","version":"1","build":17763},"addresses":[{"ip":"10.0.0.2"}],"collected":true,"image":{"container":"vhdx","scheme":"mbr","size":"16MiB"}}],
"users":[{"account":"CORP\\u","rid":1200}],
"edges":[{"id":"X","time":"2023-03-01T01:00:00Z","repeat":{"every":"1h","count":3},"source":"A","destination":"B","technique":"wmi","account":"CORP\\u","authentication":"ntlm","attack":false}],
"actions":[]}`
	s, err := Parse([]byte(j), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Edges[0].Occurrences()); got != 3 {
		t.Fatalf("occurrences = %d", got)
	}
	if s.Hosts[1].Image.Size != 16<<20 {
		t.Fatalf("size = %d", s.Hosts[1].Image.Size)
	}
	if _, err := Parse([]byte(strings.Replace(j, `"seed"`, `"sed"`, 1)), true); err == nil {
		t.Fatal("unknown JSON field accepted")
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	return testimg.RepoRoot(t)
}

func TestCasesLoad(t *testing.T) {
	for _, c := range []string{"3cx", "lab"} {
		if _, err := Load(filepath.Join(repoRoot(t), "testdata", "cases", c, "scenario.yaml")); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
}
