package movement

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// synth is one event of a synthetic case, recorded on host.
type synth struct {
	host string
	ev   event.Event
}

// at is a time on 2024-05-01, seconds after 10:00 UTC.
func at(sec float64) event.FileTime {
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	return event.FromTime(base.Add(time.Duration(sec * float64(time.Second))))
}

// evtxEv is an event-log record as the EVTX parser writes it: the
// normalised fields plus data.* names.
func evtxEv(host, id, provider string, t event.FileTime, kv ...any) synth {
	e := event.Event{Time: t, Artifact: event.EVTX, Type: id, Record: -1, Offset: -1, Message: "synthetic " + id}
	e.Add("provider", provider).Add("computer", host)
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i].(string), kv[i+1])
	}
	return synth{host, e}
}

const (
	security = "Microsoft-Windows-Security-Auditing"
	sysmon   = "Microsoft-Windows-Sysmon"
)

func other(host, artifact, typ, path string, t event.FileTime, kv ...any) synth {
	e := event.Event{Time: t, Artifact: artifact, Type: typ, Path: path, Record: -1, Offset: -1, Message: typ + " " + path}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i].(string), kv[i+1])
	}
	return synth{host, e}
}

// synthCase writes the events into a new case in t.TempDir(), one evidence
// per host (in order of first appearance), through the store's own ingest.
func synthCase(t *testing.T, evs []synth) *timeline.Case {
	t.Helper()
	ctx := context.Background()
	c, err := timeline.Open(filepath.Join(t.TempDir(), "synth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var hosts []string
	byHost := map[string][]synth{}
	for _, e := range evs {
		if _, ok := byHost[e.host]; !ok {
			hosts = append(hosts, e.host)
		}
		byHost[e.host] = append(byHost[e.host], e)
	}
	for _, h := range hosts {
		sum := sha256.Sum256([]byte("synthetic " + h))
		in, err := c.BeginIngest(ctx, &timeline.Evidence{Path: "/synthetic/" + h, Format: "raw", Size: 1,
			SHA256: hex.EncodeToString(sum[:]), Host: h, Origin: "test"})
		if err != nil {
			t.Fatal(err)
		}
		src := in.BeginSource(0, "synthetic", "test", "mixed")
		for i := range byHost[h] {
			if err := src.Emit(&byHost[h][i].ev); err != nil {
				t.Fatal(err)
			}
		}
		src.Done(int64(len(byHost[h])), 0, nil)
		if err := in.Finish(nil); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// networkLogon is a destination 4624 type 3 and the task it registers (the
// technique that makes the session an edge).
func networkLogon(host string, t event.FileTime, logonID, user, pkg, ip string, port int, guid string) []synth {
	return []synth{
		evtxEv(host, "4624", security, t, "logon_type", 3, "target_logon_id", logonID, "target_user", user,
			"src_ip", ip, "src_port", port, "auth_package", pkg, "data.LogonGuid", guid,
			"data.TargetUserName", strings.SplitN(user, `\`, 2)[1]),
		evtxEv(host, "4698", security, t+2*second, "logon_id", logonID, "subject_user", user, "task_name", `\Updater`),
	}
}

func analyzeSynth(t *testing.T, evs []synth) *Result {
	t.Helper()
	res, err := Analyze(context.Background(), synthCase(t, evs))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func onlyEdge(t *testing.T, res *Result, dst string) *Edge {
	t.Helper()
	var found []*Edge
	for _, e := range res.Edges {
		if e.Destination == dst {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		for _, e := range res.Edges {
			t.Logf("edge %s -> %s %s %s", e.Source, e.Destination, e.Technique, e.Confidence)
		}
		t.Fatalf("%d edges into %s, want 1", len(found), dst)
	}
	return found[0]
}

func hasRule(e *Edge, side, rule string) bool {
	for _, o := range e.Occurrences {
		for _, r := range o.Evidence {
			if r.Side == side && strings.Contains(r.Rule, rule) {
				return true
			}
		}
	}
	return false
}

// The destination logon comes from an address no evidence binds to a host
// (NAT, VPN pool), so only a key can name the source. Each case also has a
// decoy on another host at the same moment that shares no key.
func TestPairingByKeys(t *testing.T) {
	const g1 = "{6f1a2b3c-0000-4000-8000-00000000aa01}"
	const g2 = "{6f1a2b3c-0000-4000-8000-00000000aa02}"
	cases := []struct {
		name    string
		evs     []synth
		source  string
		side    string
		rule    string
		explain string
	}{{
		name: "Kerberos LogonGuid of the source's explicit logon (4648)",
		evs: append(networkLogon("SRV1", at(10), "0x1001", `CORP\alice`, "Kerberos", "10.9.0.99", 50001, g1),
			evtxEv("WS1", "4648", security, at(9.5), "subject_user", `CORP\bob`, "target_user", `CORP\alice`,
				"target_server", "srv1.corp.example", "data.LogonGuid", g1),
			evtxEv("WS2", "4648", security, at(9.6), "subject_user", `CORP\carol`, "target_user", `CORP\alice`,
				"target_server", "srv1.corp.example", "data.LogonGuid", g2)),
		source: "WS1", side: "source", rule: "LogonGuid",
	}, {
		name: "Kerberos LogonGuid of the DC's service ticket (4769), whose address is bound",
		evs: append(networkLogon("SRV1", at(10), "0x1002", `CORP\alice`, "Kerberos", "10.9.0.99", 50002, g1),
			// The DC knows WS2 by its machine ticket's address.
			evtxEv("DC1", "4768", security, at(-3600), "target_user", `CORP\WS2$`, "src_ip", "10.1.0.12"),
			evtxEv("DC1", "4768", security, at(-3500), "target_user", `CORP\WS3$`, "src_ip", "10.1.0.13"),
			evtxEv("DC1", "4769", security, at(9.8), "target_user", `alice@CORP.EXAMPLE`, "service_name", "SRV1$",
				"src_ip", "::ffff:10.1.0.12", "data.LogonGuid", g1),
			evtxEv("DC1", "4769", security, at(9.8), "target_user", `alice@CORP.EXAMPLE`, "service_name", "SRV1$",
				"src_ip", "::ffff:10.1.0.13", "data.LogonGuid", g2)),
		source: "WS2", side: "dc", rule: "LogonGuid",
	}, {
		name: "source Sysmon 3 local port = destination 4624 IpPort",
		evs: append(networkLogon("SRV1", at(10), "0x1003", `CORP\alice`, "NTLM", "10.9.0.99", 50003, ""),
			evtxEv("WS3", "3", sysmon, at(9.9), "data.Initiated", "true", "src_ip", "10.9.0.99", "src_port", 50003,
				"dst_ip", "10.1.0.20", "dst_port", 445, "process", "System"),
			evtxEv("WS4", "3", sysmon, at(9.9), "data.Initiated", "true", "src_ip", "10.9.0.99", "src_port", 50004,
				"dst_ip", "10.1.0.20", "dst_port", 445, "process", "System")),
		source: "WS3", side: "source", rule: "address and port",
	}, {
		name: "source 5156 outbound SourcePort = destination 4624 IpPort",
		evs: append(networkLogon("SRV1", at(10), "0x1004", `CORP\alice`, "NTLM", "10.9.0.99", 50005, ""),
			evtxEv("WS5", "5156", security, at(9.9), "data.Direction", "%%14593", "src_ip", "10.9.0.99", "src_port", 50005,
				"dst_ip", "10.1.0.20", "dst_port", 445, "process", "System"),
			// Same client port long before: another connection.
			evtxEv("WS6", "5156", security, at(-7200), "data.Direction", "%%14593", "src_ip", "10.9.0.99", "src_port", 50005,
				"dst_ip", "10.1.0.20", "dst_port", 445, "process", "System")),
		source: "WS5", side: "source", rule: "address and port",
	}, {
		name: "logon without IpPort: the destination's 5156 gives the client port",
		evs: append(networkLogon("SRV1", at(10), "0x1005", `CORP\alice`, "NTLM", "10.9.0.99", 0, ""),
			evtxEv("SRV1", "5156", security, at(9.95), "data.Direction", "%%14592", "src_ip", "10.1.0.20", "src_port", 445,
				"dst_ip", "10.9.0.99", "dst_port", 50006, "process", "System"),
			evtxEv("WS7", "5156", security, at(9.9), "data.Direction", "%%14593", "src_ip", "10.9.0.99", "src_port", 50006,
				"dst_ip", "10.1.0.20", "dst_port", 445, "process", "System"),
			evtxEv("WS8", "5156", security, at(9.9), "data.Direction", "%%14593", "src_ip", "10.9.0.99", "src_port", 50007,
				"dst_ip", "10.1.0.20", "dst_port", 445, "process", "System")),
		source: "WS7", side: "source", rule: "address and port",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := onlyEdge(t, analyzeSynth(t, tc.evs), "SRV1")
			if e.Source != tc.source || e.Technique != ScheduledTask || e.Confidence != High && tc.side == "source" {
				t.Errorf("edge %s -> %s %s, confidence %s; want source %s", e.Source, e.Destination, e.Technique, e.Confidence, tc.source)
			}
			if !hasRule(e, tc.side, tc.rule) {
				t.Errorf("no %s evidence by %s: %+v", tc.side, tc.rule, e.Occurrences)
			}
			if e.Occurrences[0].SourceAddress == "" {
				t.Errorf("occurrence lost the client address")
			}
		})
	}
}

// Without a key, the same logon stays unresolved: the pairing above is
// what named the source, not the time window.
func TestPairingNeedsAKey(t *testing.T) {
	evs := append(networkLogon("SRV1", at(10), "0x1001", `CORP\alice`, "NTLM", "10.9.0.99", 50001, ""),
		evtxEv("WS3", "3", sysmon, at(9.9), "data.Initiated", "true", "src_ip", "10.9.0.98", "src_port", 50001,
			"dst_ip", "10.1.0.20", "dst_port", 445, "process", "System"))
	e := onlyEdge(t, analyzeSynth(t, evs), "SRV1")
	if !strings.HasPrefix(e.Source, "unknown@10.9.0.99") || e.Confidence == High {
		t.Errorf("edge %s -> %s, confidence %s; want the unbound address's unknown node, not high", e.Source, e.Destination, e.Confidence)
	}
}

// Paired connections put a DC ticket and a source event on the same
// occurrence; the clock estimate uses both (destination vs DC, source vs
// DC).
func TestClockFromKeyedPairs(t *testing.T) {
	const g = "{6f1a2b3c-0000-4000-8000-00000000ab01}"
	// SRV1 runs 30 s fast, WS1 12 s slow; DC1 is the reference.
	evs := append(networkLogon("SRV1", at(10+30), "0x2001", `CORP\alice`, "Kerberos", "10.1.0.11", 50100, g),
		evtxEv("DC1", "4768", security, at(-3600), "target_user", `CORP\WS1$`, "src_ip", "10.1.0.11"),
		evtxEv("DC1", "4769", security, at(9.95), "target_user", `alice@CORP.EXAMPLE`, "service_name", "SRV1$",
			"src_ip", "10.1.0.11", "data.LogonGuid", g),
		evtxEv("WS1", "3", sysmon, at(9.97-12), "data.Initiated", "true", "src_ip", "10.1.0.11", "src_port", 50100,
			"dst_ip", "10.1.0.20", "dst_port", 445, "process", "System"))
	res := analyzeSynth(t, evs)
	got := map[string]float64{}
	for _, o := range res.Clocks {
		if o.Reference != "DC1" {
			t.Fatalf("reference %s, want DC1", o.Reference)
		}
		got[o.Host] = o.Seconds
	}
	for h, want := range map[string]float64{"SRV1": 30, "WS1": -12} {
		if d := got[h] - want; d > 0.2 || d < -0.2 {
			t.Errorf("%s offset %.3f s, want %.0f ± 0.2 (%+v)", h, got[h], want, res.Clocks)
		}
	}
}

func peEv(host, path, status, signer string) synth {
	s := other(host, event.PE, "compiled", path, at(-86400), "target_path", path, "signature_status", status)
	if signer != "" {
		s.ev.Add("signer_subject", signer)
	}
	return s
}

func run4688(host, path string, t event.FileTime) synth {
	return evtxEv(host, "4688", security, t, "process", path, "subject_user", `CORP\alice`, "command_line", path)
}

// Rule 2 of `auto`, on cases where no file came from the internet (or
// none ran): the seed is the earliest execution of a flagged file, and the
// explanation names the rule.
func TestAutoSeedRule2(t *testing.T) {
	const msSigner = "C=US, O=Microsoft Corporation, CN=Microsoft Windows"
	base := []synth{
		peEv("WS1", `\ProgramData\Updater\svchost.exe`, "unsigned", ""),
		peEv("WS1", `\Windows\System32\svchost.exe`, "valid", msSigner),
		peEv("WS1", `\ProgramData\Tools\helper.exe`, "unsigned", ""), // no system namesake: not flagged
		run4688("WS1", `C:\Windows\System32\svchost.exe`, at(50)),
		run4688("WS1", `C:\ProgramData\Tools\helper.exe`, at(100)),
		run4688("WS1", `C:\ProgramData\Updater\svchost.exe`, at(300)),
		run4688("WS1", `C:\ProgramData\Updater\svchost.exe`, at(200)),
		peEv("WS2", `\Users\bob\AppData\Local\Tools\tool.exe`, "digest_mismatch", "CN=Tool Vendor"),
		other("WS2", event.Prefetch, "run", `\DEVICE\HARDDISKVOLUME2\USERS\BOB\APPDATA\LOCAL\TOOLS\TOOL.EXE`, at(400),
			"target_path", `\DEVICE\HARDDISKVOLUME2\USERS\BOB\APPDATA\LOCAL\TOOLS\TOOL.EXE`),
	}
	cases := []struct {
		name          string
		evs           []synth
		host, path    string
		time          event.FileTime
		rule          string
		why, alsoWhy  string
		suspectsCount int
	}{{
		name: "2a: unsigned beside a signed system binary of the same name",
		evs:  base, host: "WS1", path: `C:\ProgramData\Updater\svchost.exe`, time: at(200), rule: "2a",
		why: `\Windows\System32\svchost.exe on the same host, of the same name, is signed by ` + msSigner, alsoWhy: "rule 2b: Authenticode digest mismatch",
		suspectsCount: 2,
	}, {
		name: "2b: digest mismatch, run by Prefetch",
		evs:  base[7:], host: "WS2", path: `\DEVICE\HARDDISKVOLUME2\USERS\BOB\APPDATA\LOCAL\TOOLS\TOOL.EXE`, time: at(400), rule: "2b",
		why: "digest mismatch", suspectsCount: 1,
	}, {
		name: "2a: the system namesake is known from the $MFT only",
		evs: []synth{
			peEv("WS3", `\Users\eve\Downloads\lsass.exe`, "unsigned", ""),
			other("WS3", event.MFT, "si", `\Windows\System32\lsass.exe`, at(-90000)),
			other("WS3", event.MFT, "si", `\Windows\System32\drivers\lsass.exe.mui`, at(-90000)),
			run4688("WS3", `C:\Users\eve\Downloads\lsass.exe`, at(70)),
		},
		host: "WS3", path: `C:\Users\eve\Downloads\lsass.exe`, time: at(70), rule: "2a",
		why: `system binary of the same name, \Windows\System32\lsass.exe ($MFT`, suspectsCount: 1,
	}, {
		name: "1 before 2: a file from the internet ran, later than the flagged one",
		evs: append(append([]synth{}, base...),
			other("WS1", event.MFT, "zone", `\Users\alice\Downloads\setup.exe`, at(490), "target_path", `\Users\alice\Downloads\setup.exe`),
			run4688("WS1", `C:\Users\alice\Downloads\setup.exe`, at(500))),
		host: "WS1", path: `C:\Users\alice\Downloads\setup.exe`, time: at(500), rule: "1",
		why: "from the internet", alsoWhy: `\ProgramData\Updater\svchost.exe on WS1 (rule 2a`, suspectsCount: 2,
	}, {
		name: "2 when the file from the internet never ran",
		evs: append(append([]synth{}, base...),
			other("WS1", event.MFT, "zone", `\Users\alice\Downloads\setup.exe`, at(490), "target_path", `\Users\alice\Downloads\setup.exe`)),
		host: "WS1", path: `C:\ProgramData\Updater\svchost.exe`, time: at(200), rule: "2a",
		why: "no file from the internet ran", suspectsCount: 2,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed, err := AutoSeed(context.Background(), synthCase(t, tc.evs))
			if err != nil {
				t.Fatal(err)
			}
			if seed.Host != tc.host || seed.Path != tc.path || seed.Time != tc.time || seed.Rule != tc.rule {
				t.Errorf("seed %s %s at %s rule %q; want %s %s at %s rule %q", seed.Host, seed.Path, seed.Time, seed.Rule,
					tc.host, tc.path, tc.time, tc.rule)
			}
			if !strings.Contains(seed.Why, tc.why) || !strings.Contains(seed.Why, tc.alsoWhy) || !strings.Contains(seed.Why, "rule "+tc.rule) {
				t.Errorf("why %q; want it to contain %q, %q and the rule", seed.Why, tc.why, tc.alsoWhy)
			}
			if len(seed.Suspects) != tc.suspectsCount {
				t.Errorf("%d suspects, want %d: %+v", len(seed.Suspects), tc.suspectsCount, seed.Suspects)
			}
		})
	}
}

// Nothing from the internet and nothing flagged: `auto` says so rather
// than guessing.
func TestAutoSeedNothingToSay(t *testing.T) {
	_, err := AutoSeed(context.Background(), synthCase(t, []synth{
		peEv("WS1", `\ProgramData\Tools\helper.exe`, "unsigned", ""),
		run4688("WS1", `C:\ProgramData\Tools\helper.exe`, at(100)),
	}))
	if err == nil || !strings.Contains(err.Error(), "none is flagged suspicious") {
		t.Errorf("err %v, want the no-seed explanation", err)
	}
}

// Single-event indicator rules, and the look-alikes they must not take:
// event ids repeat across providers, and Sysmon writes an inbound
// connection's ends either way round.
func TestIndicatorRules(t *testing.T) {
	const rdpCore = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS"
	cases := []struct {
		name      string
		ev        synth
		tech      string // "" = no indicator at all
		side      string
		ruleSubst string
	}{
		{"RdpCoreTS 104 client time zone", evtxEv("H", "104", rdpCore, at(0), "data.TimezoneBiasHour", "[1]"), RDP, "destination", "RdpCoreTS 104"},
		{"System 104 log cleared is not RDP", evtxEv("H", "104", "Microsoft-Windows-Eventlog", at(0), "data.Channel", "System"), "", "", ""},
		{"Sysmon 21 WMI binding", evtxEv("H", "21", sysmon, at(0), "data.Consumer", "x"), WMI, "destination", "subscription"},
		{"LSM 21 session logon", evtxEv("H", "21", "Microsoft-Windows-TerminalServices-LocalSessionManager", at(0),
			"target_user", `CORP\a`, "src_ip", "10.0.0.5"), RDP, "destination", "RDP session"},
		{"Sysmon 3 inbound 3389, remote written as Source", evtxEv("H", "3", sysmon, at(0), "data.Initiated", "false",
			"src_ip", "192.168.56.1", "src_port", 53627, "dst_ip", "192.168.56.101", "dst_port", 3389, "process", `C:\Windows\System32\svchost.exe`),
			RDP, "destination", "inbound RDP connection"},
		{"Sysmon 3 inbound 3389 from loopback", evtxEv("H", "3", sysmon, at(0), "data.Initiated", "false",
			"src_ip", "127.0.0.2", "src_port", 3389, "dst_ip", "127.0.0.1", "dst_port", 49186, "process", `C:\Windows\System32\svchost.exe`),
			RDP, "destination", "tunnel"},
		{"5156 inbound 3389", evtxEv("H", "5156", security, at(0), "data.Direction", "%%14592",
			"src_ip", "10.0.0.9", "src_port", 3389, "dst_ip", "10.0.0.5", "dst_port", 50100, "process", "System"),
			RDP, "destination", "inbound RDP connection"},
		{"5156 outbound to 3389 is not an inbound RDP", evtxEv("H", "5156", security, at(0), "data.Direction", "%%14593",
			"src_ip", "10.0.0.9", "src_port", 50100, "dst_ip", "127.0.0.1", "dst_port", 3389, "process", "mstsc.exe"), "", "", ""},
		{"explorer serving a remote DCOM client", evtxEv("H", "3", sysmon, at(0), "data.Initiated", "false",
			"src_ip", "10.0.2.16", "src_port", 49158, "dst_ip", "10.0.2.17", "dst_port", 58172, "process", `C:\Windows\explorer.exe`),
			DCOM, "destination", "explorer.exe"},
		{"explorer browsing out is not DCOM", evtxEv("H", "3", sysmon, at(0), "data.Initiated", "true",
			"src_ip", "10.0.2.16", "src_port", 49158, "dst_ip", "10.0.2.17", "dst_port", 443, "process", `C:\Windows\explorer.exe`), "", "", ""},
		{"mshta -Embedding (htafile DCOM)", evtxEv("H", "1", sysmon, at(0), "process", `C:\Windows\System32\mshta.exe`,
			"parent_process", `C:\Windows\System32\svchost.exe`, "command_line", `C:\Windows\System32\mshta.exe -Embedding`), DCOM, "destination", "mshta.exe"},
		{"program on the RDP client's drive", evtxEv("H", "1", sysmon, at(0), "process", `\\tsclient\c\temp\a.exe`,
			"parent_process", `C:\Windows\explorer.exe`), RDP, "destination", "tsclient"},
		{"cmd started by services.exe", evtxEv("H", "4688", security, at(0), "process", `C:\Windows\System32\cmd.exe`,
			"parent_process", `C:\Windows\System32\services.exe`, "command_line", `cmd.exe /c echo`), RemoteService, "destination", "services.exe"},
		{"renamed PsExec pipe (Sysmon 17)", evtxEv("H", "17", sysmon, at(0), "pipe_name", `\svchost-MSEDGEWIN10-8116-stdin`), PsExec, "destination", "pipe"},
		{"ordinary pipe", evtxEv("H", "17", sysmon, at(0), "pipe_name", `\lsarpc`), "", "", ""},
		{"System writes a file for an SMB client", evtxEv("H", "11", sysmon, at(0), "process", "System",
			"data.TargetFilename", `C:\Users\Public\x.exe`), AdminShare, "destination", "SMB server"},
		{"PsExec key file", evtxEv("H", "11", sysmon, at(0), "process", "System",
			"data.TargetFilename", `C:\Windows\PSEXEC-WS-DEV02-5A1F30C2.key`), PsExec, "destination", "psexec service file"},
		{"mstsc writes through drive redirection", evtxEv("H", "11", sysmon, at(0), "process", `C:\Windows\system32\mstsc.exe`,
			"data.TargetFilename", `C:\Users\a\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\x.exe`), RDP, "source", "mstsc.exe"},
		{"task file created", evtxEv("H", "11", sysmon, at(0), "process", `C:\Windows\system32\svchost.exe`,
			"data.TargetFilename", `C:\Windows\System32\Tasks\Updater`), ScheduledTask, "destination", "task file"},
		{"netsh portproxy to 3389 (abbreviated)", evtxEv("H", "1", sysmon, at(0), "process", `C:\Windows\System32\netsh.exe`,
			"command_line", `netsh  I p a v l=8001 listena=1.2.3.4 connectp=3389 c=1.2.3.5`), RDP, "source", "portproxy"},
		{"netsh portproxy to a web port", evtxEv("H", "1", sysmon, at(0), "process", `C:\Windows\System32\netsh.exe`,
			"command_line", `netsh interface portproxy add v4tov4 listenport=8001 connectport=8080 connectaddress=1.2.3.5`), "", "", ""},
		{"4778 reconnect from a client", evtxEv("H", "4778", security, at(0), "target_user", `CORP\a`, "src_ip", "10.0.0.7",
			"workstation", "PC7"), RDP, "destination", "reconnected"},
		{"4778 console switch", evtxEv("H", "4778", security, at(0), "target_user", `CORP\a`, "workstation", "Unknown"), "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := analyzeSynth(t, []synth{tc.ev})
			got := res.Indicators
			if tc.tech == "" {
				if len(got) != 0 {
					t.Errorf("indicators %+v, want none", got)
				}
				return
			}
			for _, in := range got {
				if in.Technique == tc.tech && in.Side == tc.side && strings.Contains(in.Rule, tc.ruleSubst) {
					return
				}
			}
			t.Errorf("indicators %+v, want %s %s by a rule containing %q", got, tc.side, tc.tech, tc.ruleSubst)
		})
	}
}

// 4688 before Windows 10 names no parent: it is found from the creator's
// process id, so a WmiPrvSE child is still recognised.
func TestParentFromProcessID(t *testing.T) {
	res := analyzeSynth(t, []synth{
		evtxEv("H", "4688", security, at(0), "process", `C:\Windows\System32\wbem\WmiPrvSE.exe`, "process_id", 2792, "data.ProcessId", "0x248"),
		evtxEv("H", "4688", security, at(1), "process", `C:\Windows\System32\calc.exe`, "process_id", 1060, "data.ProcessId", "0xae8"),
		// Another host's process with the same id is not the parent.
		evtxEv("G", "4688", security, at(0), "process", `C:\Windows\System32\wbem\WmiPrvSE.exe`, "process_id", 1000, "data.ProcessId", "0x248"),
		evtxEv("H", "4688", security, at(2), "process", `C:\Windows\System32\notepad.exe`, "process_id", 1070, "data.ProcessId", "0x3e8"),
	})
	var wmi []string
	for _, in := range res.Indicators {
		if in.Technique == WMI {
			wmi = append(wmi, in.Host+" "+in.Time.String())
		}
	}
	if len(wmi) != 1 || wmi[0] != "H "+at(1).String() {
		t.Errorf("WMI indicators %v, want only calc.exe on H", wmi)
	}
}
