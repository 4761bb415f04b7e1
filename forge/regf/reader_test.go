package regf

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/registry"
)

// walkOurs reads a hive with Foothold's registry parser and checks it
// against the tree it was written from: every key's path, 100 ns last-write
// time and subkey count, every value's name, type and data, and nothing
// else. It returns the listing order.
func walkOurs(t *testing.T, h *registry.Hive, root *Key) []string {
	t.Helper()
	want := flatten(root)
	seen := map[string]bool{}
	var order []string
	err := h.Walk(func(path string, k registry.Key) error {
		order = append(order, path)
		w, ok := want[path]
		if !ok || seen[path] {
			t.Errorf("reader lists unexpected or repeated key %q", path)
			return nil
		}
		seen[path] = true
		if k.LastWrite() != w.LastWrite {
			t.Errorf("%s: last write %d, wrote %d", path, k.LastWrite(), w.LastWrite)
		}
		subs, err := k.Subkeys()
		if err != nil || len(subs) != w.Subkeys {
			t.Errorf("%s: %d subkeys (%v), wrote %d", path, len(subs), err, w.Subkeys)
		}
		vals, err := k.Values()
		if err != nil || len(vals) != len(w.Values) {
			t.Errorf("%s: %d values (%v), wrote %d", path, len(vals), err, len(w.Values))
			return nil
		}
		for i, v := range vals {
			wv := w.Values[i]
			d, err := v.Data()
			if err != nil || v.Name() != wv.Name || v.Type() != wv.Type || !bytes.Equal(d, wv.Data) {
				t.Errorf("%s value %d: %q type %d %d bytes (%v), wrote %q type %d %d bytes",
					path, i, v.Name(), v.Type(), len(d), err, wv.Name, wv.Type, len(wv.Data))
			}
		}
		return nil
	}, func(err error) { t.Errorf("reader reports damage: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(want) {
		t.Errorf("reader lists %d keys, wrote %d", len(seen), len(want))
	}
	return order
}

func parseEvents(t *testing.T, h *registry.Hive, user string) []*event.Event {
	t.Helper()
	var evs []*event.Event
	st, err := h.Parse(context.Background(), user, event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		evs = append(evs, &c)
		return nil
	}))
	if err != nil || st.Errors != 0 {
		t.Fatalf("Parse: %v (%d damaged structures)", err, st.Errors)
	}
	return evs
}

func field(e *event.Event, key string) any {
	v, _ := e.Get(key)
	return v
}

func byArtifact(evs []*event.Event, artifact, typ string) []*event.Event {
	var out []*event.Event
	for _, e := range evs {
		if e.Artifact == artifact && (typ == "" || e.Type == typ) {
			out = append(out, e)
		}
	}
	return out
}

func openOurs(t *testing.T, f fixture, kind string) *registry.Hive {
	t.Helper()
	b, err := Bytes(f.root, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	h, err := registry.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Dirty() {
		t.Errorf("written hive reads as dirty: %v", h.DirtyError())
	}
	if h.Kind() != kind {
		t.Errorf("kind %s, want %s", h.Kind(), kind)
	}
	order := walkOurs(t, h, f.root)
	checkSortedOrder(t, order)
	return h
}

// TestOurReaderSystem: Foothold's parser reads the SYSTEM hive's identity,
// services, ShimCache and BAM exactly as built.
func TestOurReaderSystem(t *testing.T) {
	f, shims := systemFixture()
	h := openOurs(t, f, registry.KindSystem)
	id, err := h.Identity()
	if err != nil {
		t.Fatal(err)
	}
	want := &registry.Identity{
		ComputerName: "DC01", Hostname: "DC01", Domain: "corp.example", TimeZone: "UTC",
		ControlSet: "ControlSet001", LastShutdown: ft("2023-03-15T02:59:58.1234567Z"),
		Interfaces: []registry.Interface{
			{GUID: "{0E5D7B21-6C3F-4A88-B9E4-2F1C8D7A6B50}", IP: "10.10.20.11", Mask: "255.255.255.0",
				DHCPServer: "10.10.10.5", Gateway: "10.10.20.1", Domain: "corp.example", DHCP: true,
				LeaseObtained: ft("2023-03-07T08:00:03Z"), LeaseExpires: ft("2023-03-15T08:00:03Z")},
			{GUID: "{4B8E2A3C-91D0-4F6A-8C2E-7D15B0A9E3F1}", IP: "10.10.10.5", Mask: "255.255.255.0", Gateway: "10.10.10.1"},
		},
	}
	if !reflect.DeepEqual(id, want) {
		t.Errorf("Identity:\n got %+v\nwant %+v", id, want)
	}

	evs := parseEvents(t, h, "")
	sc := byArtifact(evs, event.Shimcache, "entry")
	if len(sc) != len(shims) {
		t.Fatalf("%d ShimCache events, built %d entries", len(sc), len(shims))
	}
	for i, e := range sc {
		if e.Path != shims[i].Path || e.Time != shims[i].LastModified || field(e, "position") != i ||
			field(e, "format") != registry.ShimWin10 || field(e, "control_set") != "ControlSet001" {
			t.Errorf("ShimCache event %d: %q %d %v %v, built %q %d", i, e.Path, e.Time, field(e, "position"), field(e, "format"),
				shims[i].Path, shims[i].LastModified)
		}
	}
	format, entries, err := registry.ParseShimCache(AppCompatCacheWin10(shims))
	if err != nil || format != registry.ShimWin10 || len(entries) != len(shims) {
		t.Fatalf("ParseShimCache: %s, %d entries, %v", format, len(entries), err)
	}

	bam := byArtifact(evs, event.BAM, "execution")
	wantBAM := map[string]event.FileTime{
		`\Device\HarddiskVolume2\Windows\System32\ntdsutil.exe`: ft("2023-03-15T01:35:12.9876543Z"),
		`\Device\HarddiskVolume2\Windows\System32\mstsc.exe`:    ft("2023-03-15T01:20:05.0000001Z"),
		`Microsoft.Windows.Explorer`:                            ft("2023-03-15T01:13:00Z"),
	}
	if len(bam) != len(wantBAM) {
		t.Errorf("%d BAM events, built %d", len(bam), len(wantBAM))
	}
	for _, e := range bam {
		if wantBAM[e.Path] != e.Time || e.User != domainSID+"-1104" {
			t.Errorf("BAM %q at %d for %s", e.Path, e.Time, e.User)
		}
	}

	svc := map[string]*event.Event{}
	for _, e := range byArtifact(evs, event.Registry, "service") {
		svc[field(e, "service_name").(string)] = e
	}
	ras := svc["RasAuto"]
	if ras == nil || field(ras, "service_dll") != `C:\Windows\System32\rasautou64.dll` || field(ras, "start_type") != "auto" ||
		ras.Time != ft("2023-03-15T01:41:00.0000001Z") || field(ras, "account") != "localSystem" {
		t.Errorf("RasAuto service event: %+v", ras)
	}
	if w := svc["WinSvcUpd"]; w == nil || !strings.HasPrefix(field(w, "image_path").(string), `%COMSPEC% /Q /c copy \\FS01\C$`) ||
		field(w, "start_type") != "demand" || field(w, "account") != "LocalSystem" {
		t.Errorf("WinSvcUpd service event: %+v", w)
	}
	if d := svc["disk"]; d == nil || field(d, "start_type") != "boot" {
		t.Errorf("disk service event: %+v", d)
	}
	services := f.root.Path(`ControlSet001\Services`, 0).Subkeys
	if len(svc) != len(services) {
		t.Errorf("%d service events, built %d services", len(svc), len(services))
	}
}

// TestOurReaderSoftware: OS identity, the E3 scheduled task and Run keys.
func TestOurReaderSoftware(t *testing.T) {
	f := softwareFixture()
	h := openOurs(t, f, registry.KindSoftware)
	o, err := h.OSInfo()
	if err != nil {
		t.Fatal(err)
	}
	want := &registry.OSInfo{ProductName: "Windows Server 2022 Standard", EditionID: "ServerStandard", DisplayVersion: "21H2",
		Version: "6.3", Build: "20348.1547", InstallDate: ft("2022-11-02T09:41:27.4567891Z"), Owner: "CORP"}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("OSInfo:\n got %+v\nwant %+v", o, want)
	}
	evs := parseEvents(t, h, "")
	var task *event.Event
	for _, e := range byArtifact(evs, event.Registry, "taskcache") {
		if field(e, "kind") == "task" {
			task = e
		}
	}
	if task == nil || field(task, "path") != `\Microsoft\Windows\UpdateOrchestrator\Backup Scan` ||
		field(task, "actions") != `C:\ProgramData\TPM\TpmVscMgrSvr.exe` ||
		field(task, "created") != ft("2023-03-09T11:47:21.0312345Z") || field(task, "last_run") != ft("2023-03-09T11:47:30.5Z") {
		t.Errorf("task event: %+v", task)
	}
	if n := len(byArtifact(evs, event.Registry, "taskcache")); n != 3 {
		t.Errorf("%d taskcache events, want 2 tree entries and 1 task", n)
	}
	run := byArtifact(evs, event.Registry, "run")
	if len(run) != 2 || field(run[0], "name") != "SecurityHealth" || run[0].Time != ft("2022-11-02T10:30:00Z") {
		t.Errorf("Run events: %d %+v", len(run), run)
	}
}

// TestOurReaderNTUser: UserAssist, RDP client history, MountPoints2, Run and
// the PsExec EULA flag.
func TestOurReaderNTUser(t *testing.T) {
	f, ua := ntuserFixture()
	h := openOurs(t, f, registry.KindNTUser)
	evs := parseEvents(t, h, "adm.jchen")
	got := byArtifact(evs, event.UserAssist, "entry")
	if len(got) != len(ua) {
		t.Fatalf("%d UserAssist events, built %d", len(got), len(ua))
	}
	for _, w := range ua {
		var e *event.Event
		for _, g := range got {
			if g.Path == w.name && field(g, "guid") == w.guid {
				e = g
			}
		}
		if e == nil || e.Time != w.last || field(e, "run_count") != w.runs || field(e, "focus_count") != w.focus ||
			field(e, "focus_time_ms") != w.focusMS || e.User != "adm.jchen" {
			t.Errorf("UserAssist %s: %+v", w.name, e)
		}
	}
	checks := []struct {
		typ, key string
		val      any
		time     event.FileTime
	}{
		{"rdp-mru", "target_server", "DC01", ft("2023-03-15T01:20:05.4444444Z")},
		{"rdp-server", "username_hint", `CORP\adm.jchen`, ft("2023-03-15T01:20:09.1Z")},
		{"mountpoint", "unc", `\\FS01\C$`, ft("2023-03-08T02:11:02.0000007Z")},
		{"eula", "tool", "PsExec", ft("2023-03-08T02:10:45.6Z")},
		{"run", "command", `C:\ProgramData\TPM\TpmVscMgrSvr.exe`, ft("2023-03-06T14:05:40.0000001Z")},
	}
	for _, c := range checks {
		found := false
		for _, e := range byArtifact(evs, event.Registry, c.typ) {
			if field(e, c.key) == c.val && e.Time == c.time {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s event with %s=%v at %s", c.typ, c.key, c.val, c.time)
		}
	}
}

// TestOurReaderAmcache: InventoryApplicationFile entries with SHA-1, size,
// link date and the key's last-write time.
func TestOurReaderAmcache(t *testing.T) {
	f, files := amcacheFixture()
	h := openOurs(t, f, registry.KindAmcache)
	evs := byArtifact(parseEvents(t, h, ""), event.Amcache, "file")
	if len(evs) != len(files) {
		t.Fatalf("%d Amcache events, built %d", len(evs), len(files))
	}
	for i, w := range files {
		var e *event.Event
		for _, g := range evs {
			if g.Path == w.path {
				e = g
			}
		}
		if e == nil {
			t.Errorf("no Amcache event for %s", w.path)
			continue
		}
		// LinkDate is stored as "MM/DD/YYYY hh:mm:ss" UTC.
		ld := ft(w.linkDate[6:10] + "-" + w.linkDate[0:2] + "-" + w.linkDate[3:5] + " " + w.linkDate[11:])
		if e.Path != w.path || field(e, "sha1") != w.sha1 || field(e, "size") != w.size || e.Time != w.written ||
			field(e, "link_date") != ld || field(e, "name") != w.name {
			t.Errorf("Amcache %d: %+v\nbuilt %+v", i, e, w)
		}
		if w.publisher != "" && field(e, "publisher") != w.publisher {
			t.Errorf("Amcache %d publisher %v", i, field(e, "publisher"))
		}
	}
}

// TestOurReaderBig: ri index roots, big data and Unicode names round-trip
// through our reader too.
func TestOurReaderBig(t *testing.T) {
	openOurs(t, bigFixture(), registry.KindUnknown)
}
