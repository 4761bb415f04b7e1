package walk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/foothold/foothold/parsers/browser"
	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/evtx"
	"github.com/foothold/foothold/parsers/jumplist"
	"github.com/foothold/foothold/parsers/lnk"
	"github.com/foothold/foothold/parsers/ntfs"
	"github.com/foothold/foothold/parsers/pe"
	"github.com/foothold/foothold/parsers/prefetch"
	"github.com/foothold/foothold/parsers/registry"
	"github.com/foothold/foothold/parsers/srum"
	"github.com/foothold/foothold/parsers/task"
)

// artifactFile is one kind of artifact file the walk recognises, inside
// NTFS volumes and among loose files.
type artifactFile struct {
	Name     string // parser name, recorded on the source row
	Artifact string // the artifact name of its events
	// match recognises the file by its path: lower case, forward slashes,
	// relative to the volume root (or the collected folder).
	match func(p string) bool
	// sniff recognises a loose file whose name was lost. Volumes are not
	// sniffed: reading the head of every file of a disk costs too much.
	sniff func(head []byte) bool
	// standalone artifacts ($MFT, $J) come from the volume itself when it
	// is parsed whole; only loose copies are parsed file by file.
	standalone bool
	parse      func(ctx context.Context, a *found) (Stats, error)
}

// found is one artifact file about to be parsed.
type found struct {
	kind *artifactFile
	path string // as recorded: `\Windows\...` in a volume, relative in a folder
	r    io.ReaderAt
	size int64
	// sibling reads another file of the same folder whole (hive logs),
	// refusing files over max bytes.
	sibling func(name string, max int64) ([]byte, error)
	sink    event.Sink
	host    *hostFacts
	mfts    map[string]ntfs.PathResolver // loose $MFT by folder, for loose $J
	dir     string                       // folder of a loose file, key into mfts
}

var artifactFiles = []*artifactFile{
	{Name: "ntfs.mft", Artifact: event.MFT, standalone: true, sniff: ntfs.IsMFT,
		match: baseIs("$mft"), parse: parseLooseMFT},
	// KAPE writes the journal as $J under $Extend; other collectors use
	// $UsnJrnl%3A$J, $UsnJrnl_$J or $UsnJrnl.$J.
	{Name: "ntfs.usn", Artifact: event.USN, standalone: true, sniff: ntfs.IsUSN,
		match: baseIs("$j", "$usnjrnl:$j", "$usnjrnl%3a$j", "$usnjrnl_$j", "$usnjrnl.$j", "$usnjrnl"), parse: parseLooseUSN},
	{Name: "evtx", Artifact: event.EVTX, sniff: evtx.IsEVTX,
		match: func(p string) bool { return strings.HasSuffix(p, ".evtx") }, parse: parseEVTX},
	{Name: "registry", Artifact: event.Registry, sniff: sniffHive, match: isHivePath, parse: parseHive},
	{Name: "prefetch", Artifact: event.Prefetch, sniff: prefetch.IsPrefetch,
		match: func(p string) bool { return strings.HasSuffix(p, ".pf") }, parse: parsePrefetch},
	// SRUM by name only: its ESE signature is shared by every ESE database.
	{Name: "srum", Artifact: event.SRUM, match: baseIs("srudb.dat"), parse: parseSRUM},
	{Name: "lnk", Artifact: event.LNK, sniff: lnk.IsLNK,
		match: func(p string) bool { return strings.HasSuffix(p, ".lnk") }, parse: parseLNK},
	// Jump lists by name only: their OLE signature is every Office file's.
	{Name: "jumplist", Artifact: event.JumpList,
		match: func(p string) bool {
			return strings.HasSuffix(p, ".automaticdestinations-ms") || strings.HasSuffix(p, ".customdestinations-ms")
		}, parse: parseJumpList},
	{Name: "task", Artifact: event.Task, sniff: task.IsTaskXML, match: isTaskPath, parse: parseTask},
	// Browser databases by name: SQLite's header is every SQLite file's.
	{Name: "browser", Artifact: event.Browser, match: isBrowserPath, parse: parseBrowser},
}

func isTaskPath(p string) bool {
	return strings.Contains(p, "/windows/system32/tasks/") ||
		(strings.Contains(p, "/windows/tasks/") && strings.HasSuffix(p, ".job"))
}

// isBrowserPath recognises Chromium browsers' History (in a "User Data"
// profile, or Opera's folder) and Firefox's places.sqlite.
func isBrowserPath(p string) bool {
	switch path.Base(p) {
	case "places.sqlite":
		return true
	case "history":
		return strings.Contains(p, "/user data/") || strings.Contains(p, "/opera") || !strings.Contains(p, "/")
	}
	return false
}

// The parsers of the execution and file artifacts share one signature; each
// has its own Stats type.
func parsePrefetch(ctx context.Context, a *found) (Stats, error) {
	st, err := prefetch.Parse(ctx, a.base(), a.r, a.size, a.sink)
	return Stats{st.Records, st.Errors}, err
}

func parseSRUM(ctx context.Context, a *found) (Stats, error) {
	st, err := srum.Parse(ctx, a.base(), a.r, a.size, a.sink)
	return Stats{st.Records, st.Errors}, err
}

func parseLNK(ctx context.Context, a *found) (Stats, error) {
	st, err := lnk.Parse(ctx, a.base(), a.r, a.size, a.sink)
	return Stats{st.Records, st.Errors}, err
}

func parseJumpList(ctx context.Context, a *found) (Stats, error) {
	st, err := jumplist.Parse(ctx, a.base(), a.r, a.size, a.sink)
	return Stats{st.Records, st.Errors}, err
}

// parseTask reads task XML and .job files. Their dates are local time
// without a zone; the host's bias from the SYSTEM hive (parsed earlier)
// turns them into UTC, as a fixed offset (DST is not modelled).
func parseTask(ctx context.Context, a *found) (Stats, error) {
	var loc *time.Location
	if id := a.host.system; id != nil {
		loc = time.FixedZone(id.TimeZone, -id.ActiveBias*60)
	}
	var st task.Stats
	var err error
	if strings.HasSuffix(strings.ToLower(a.path), ".job") {
		st, err = task.ParseJob(ctx, a.base(), a.r, a.size, loc, a.sink)
	} else {
		st, err = task.ParseXML(ctx, a.base(), a.r, a.size, loc, a.sink)
	}
	return Stats{st.Records, st.Errors}, err
}

// parseBrowser reads a browser database with its write-ahead log when one
// lies beside it (recent visits are often only there).
func parseBrowser(ctx context.Context, a *found) (Stats, error) {
	var wal []byte
	if a.sibling != nil {
		wal, _ = a.sibling(a.base()+"-wal", 1<<30)
	}
	st, err := browser.ParseWithWAL(ctx, a.base(), a.r, a.size, bytes.NewReader(wal), int64(len(wal)), a.sink)
	return Stats{st.Records, st.Errors}, err
}

func parsePE(ctx context.Context, a *found) (Stats, error) {
	// The whole path: it is the file's identity in its events.
	st, err := pe.Parse(ctx, a.path, a.r, a.size, a.sink)
	return Stats{st.Records, st.Errors}, err
}

// base is the artifact's file name, which some parsers read meaning from
// (a jump list's AppID, a ForwardedEvents log).
func (a *found) base() string { return path.Base(strings.ReplaceAll(a.path, `\`, "/")) }

func baseIs(names ...string) func(string) bool {
	return func(p string) bool {
		b := path.Base(p)
		for _, n := range names {
			if b == n {
				return true
			}
		}
		return false
	}
}

// isHivePath recognises the hives Windows keeps at fixed places: the
// machine hives, Amcache, and each profile's NTUSER.DAT and UsrClass.dat.
// Loose collected hives are recognised by the same base names.
func isHivePath(p string) bool {
	b := path.Base(p)
	switch b {
	case "system", "software", "sam", "security":
		return !strings.Contains(p, "/users/") && !strings.Contains(p, "/regback/")
	case "amcache.hve", "ntuser.dat", "usrclass.dat":
		return true
	}
	return false
}

// sniffHive accepts a "regf" file unless its name says it is a transaction
// log (logs carry the same base block signature).
func sniffHive(head []byte) bool { return registry.IsHive(head) }

func isHiveLog(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".log" || ext == ".log1" || ext == ".log2" || ext == ".sav"
}

// classify finds the artifact kind of a file by path, then (for loose files
// only, head != nil) by signature.
func classify(p string, head []byte, loose bool) *artifactFile {
	lp := strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
	if isHiveLog(lp) {
		return nil
	}
	for _, k := range artifactFiles {
		if k.standalone && !loose {
			continue
		}
		if k.match(lp) {
			return k
		}
	}
	if head == nil {
		return nil
	}
	for _, k := range artifactFiles {
		if k.sniff != nil && k.sniff(head) {
			return k
		}
	}
	return nil
}

func parseLooseMFT(ctx context.Context, a *found) (Stats, error) {
	m, err := ntfs.OpenMFTFile(a.r, a.size)
	if err != nil {
		return Stats{}, err
	}
	st, err := m.Parse(ctx, a.sink)
	if a.mfts != nil {
		a.mfts[a.dir] = m
	}
	return Stats{st.Records, st.Errors}, err
}

func parseLooseUSN(ctx context.Context, a *found) (Stats, error) {
	st, err := ntfs.ParseUSNFile(ctx, a.r, a.size, nearestMFT(a.dir, a.mfts), a.sink)
	return Stats{st.Records, st.Errors}, err
}

// nearestMFT finds the $MFT collected from the same volume as a journal:
// in its folder or a parent folder ($J sits in $Extend below the root).
func nearestMFT(dir string, mfts map[string]ntfs.PathResolver) ntfs.PathResolver {
	for {
		if m, ok := mfts[dir]; ok {
			return m
		}
		parent := path.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func parseEVTX(ctx context.Context, a *found) (Stats, error) {
	st, err := evtx.ParseFile(ctx, a.base(), a.r, a.size, a.sink)
	a.host.addComputers(st.Computers)
	return Stats{st.Records, st.Errors}, err
}

// parseHive loads a hive into memory (regparser and the log replay need
// it whole), applies its .LOG1/.LOG2, and emits its artifacts. The SYSTEM
// and SOFTWARE hives also give the host's identity.
func parseHive(ctx context.Context, a *found) (Stats, error) {
	if a.size > registry.MaxHiveSize {
		return Stats{Errors: 1}, fmt.Errorf("hive of %d bytes is over the %d byte cap", a.size, registry.MaxHiveSize)
	}
	data, err := readAll(a.r, a.size)
	if err != nil {
		return Stats{}, err
	}
	var logs [][]byte
	base := path.Base(strings.ReplaceAll(a.path, `\`, "/"))
	for _, ext := range []string{".LOG1", ".LOG2", ".LOG"} {
		if a.sibling == nil {
			break
		}
		if b, err := a.sibling(base+ext, registry.MaxHiveSize); err == nil && len(b) > 0 {
			logs = append(logs, b)
		}
	}
	h, err := registry.Open(data, logs...)
	if err != nil {
		return Stats{Errors: 1}, err
	}
	st, perr := h.Parse(ctx, profileName(a.path), a.sink)
	switch h.Kind() {
	case "SYSTEM":
		if id, err := h.Identity(); err == nil && id != nil {
			a.host.system = id
		}
	case "SOFTWARE":
		if info, err := h.OSInfo(); err == nil && info != nil {
			a.host.os = info
		}
	}
	// A hive's records are its keys: a SAM or a dirty hive read whole gives
	// few events but is not empty.
	return Stats{st.Keys, st.Errors}, perr
}

// profileName is the user a profile hive belongs to: the folder under
// Users that holds it.
func profileName(p string) string {
	parts := strings.Split(strings.ReplaceAll(p, `\`, "/"), "/")
	for i, s := range parts {
		if strings.EqualFold(s, "users") && i+1 < len(parts)-1 {
			return parts[i+1]
		}
	}
	return ""
}

// readCapped reads a whole file of a known size, refusing one over max.
func readCapped(r io.ReaderAt, size, max int64) ([]byte, error) {
	if size > max {
		return nil, fmt.Errorf("%d bytes is over the %d byte cap", size, max)
	}
	return readAll(r, size)
}

func readAll(r io.ReaderAt, size int64) ([]byte, error) {
	buf := make([]byte, size)
	n, err := r.ReadAt(buf, 0)
	if int64(n) == size {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return buf[:n], err
}

// hostFacts gathers what the artifacts of one piece of evidence say about
// its host, reported once the walk is done.
type hostFacts struct {
	system    *registry.Identity
	os        *registry.OSInfo
	computers map[string]int64
}

func (h *hostFacts) addComputers(m map[string]int64) {
	if h.computers == nil {
		h.computers = map[string]int64{}
	}
	for k, v := range m {
		h.computers[k] += v
	}
}

// report tells the case who the host is: the SYSTEM hive first; without
// one, the Computer most of its event-log records name.
func (h *hostFacts) report(rec event.Recorder) {
	switch {
	case h.system != nil && h.system.ComputerName != "":
		id := h.system
		if h.os != nil {
			id.SetOS(h.os)
		}
		osName := strings.TrimSpace(strings.Join([]string{id.ProductName, id.Version, id.Build}, " "))
		rec.SetHost(event.Host{Name: id.ComputerName, Domain: id.Domain, OS: osName, TZ: id.TimeZone,
			Origin: "registry", Details: map[string]any{
				"hostname": id.Hostname, "control_set": id.ControlSet, "bias": id.Bias, "active_bias": id.ActiveBias,
				"interfaces": id.Interfaces, "install_date": id.InstallDate, "last_shutdown": id.LastShutdown,
				"computers_in_event_logs": h.computers,
			}})
	case len(h.computers) > 0:
		var best string
		var n int64
		for c, k := range h.computers {
			if k > n || (k == n && c < best) {
				best, n = c, k
			}
		}
		name, domain, _ := strings.Cut(best, ".")
		rec.SetHost(event.Host{Name: name, Domain: domain, Origin: "evtx",
			Details: map[string]any{"computers_in_event_logs": h.computers}})
	}
}

// peFile parses executables; they are chosen by place and by reference,
// not by the artifact table (an .exe anywhere would be every system file).
var peFile = &artifactFile{Name: "pe", Artifact: event.PE, parse: parsePE}

// peLimit caps the time one executable may take.
const peLimit = 2 * time.Minute

// isStagedPE recognises executables in the places users can write to and
// attackers stage tools: user profiles' Downloads, AppData and Temp,
// ProgramData, Windows\Temp, the task folders, and the root of Windows.
func isStagedPE(p string) bool {
	lp := strings.ToLower(strings.ReplaceAll(p, `\`, "/"))
	switch path.Ext(lp) {
	case ".exe", ".dll", ".sys", ".scr", ".cpl", ".ocx", ".com", ".efi":
	default:
		return false
	}
	switch {
	case strings.HasPrefix(lp, "/users/"):
		parts := strings.Split(lp, "/")
		return len(parts) > 3 && (parts[3] == "downloads" || parts[3] == "appdata" || parts[3] == "desktop" || parts[3] == "documents")
	case strings.HasPrefix(lp, "/programdata/"), strings.HasPrefix(lp, "/windows/temp/"),
		strings.HasPrefix(lp, "/windows/tasks/"), strings.HasPrefix(lp, "/windows/system32/tasks/"),
		strings.HasPrefix(lp, "/perflogs/"), strings.HasPrefix(lp, "/$recycle.bin/"):
		return true
	case strings.Count(lp, "/") == 2 && strings.HasPrefix(lp, "/windows/"):
		return true
	}
	return false
}

func isMZ(r io.ReaderAt) bool {
	var b [2]byte
	n, _ := r.ReadAt(b[:], 0)
	return n == 2 && b[0] == 'M' && b[1] == 'Z'
}

// referenced gathers the executables that parsed artifacts name (Prefetch,
// Amcache, ShimCache, event-log process creation, tasks, links), so the
// files themselves get hashed and their signatures checked.
type referenced struct {
	mu    sync.Mutex
	paths map[string]bool
}

// maxReferenced bounds the set: a host names a few thousand programs.
const maxReferenced = 50_000

var referenceFields = []string{"target_path", "process", "parent_process", "image_path", "executable", "command"}

func (r *referenced) watch(sink event.Sink) event.Sink {
	return event.SinkFunc(func(e *event.Event) error {
		if e.Artifact != event.MFT && e.Artifact != event.USN && e.Artifact != event.PE {
			for _, f := range e.Fields {
				if !slices.Contains(referenceFields, f.Key) {
					continue
				}
				s, ok := f.Value.(string)
				if !ok || s == "" {
					continue
				}
				key := event.NormalizePath(s)
				if !strings.HasPrefix(key, `\`) || strings.HasPrefix(key, `\\`) {
					continue // bare names and UNC paths name no file on this volume
				}
				r.mu.Lock()
				if len(r.paths) < maxReferenced {
					r.paths[key] = true
				}
				r.mu.Unlock()
			}
		}
		return sink.Emit(e)
	})
}

func (r *referenced) sorted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.paths))
	for p := range r.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
