package walk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/evtx"
	"github.com/foothold/foothold/parsers/ntfs"
	"github.com/foothold/foothold/parsers/registry"
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
}

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
	st, err := evtx.ParseFile(ctx, path.Base(strings.ReplaceAll(a.path, `\`, "/")), a.r, a.size, a.sink)
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
	return Stats{st.Records, st.Errors}, perr
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
