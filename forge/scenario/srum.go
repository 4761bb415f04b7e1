package scenario

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/foothold/foothold/forge/srum"
	"github.com/foothold/foothold/parsers/event"
)

// use is one program run by a user, for SRUM; network marks a program
// that keeps talking to the network from then until collection (a
// backdoor's beacon).
type use struct {
	at      event.FileTime
	sid     string
	key     string // upper-case path, a key of hostState.runs
	network bool
	step    string
}

// networkApps are the ordinary programs SRUM shows network usage for.
var networkApps = map[string]bool{"CHROME.EXE": true, "MSEDGE.EXE": true, "OUTLOOK.EXE": true}

// interfaceLUID is the wired adapter's LUID in SRUM rows (IF_TYPE 6).
const interfaceLUID = 1689399632855040

// writeSRUM writes Windows\System32\sru\SRUDB.dat on a host with SRUM on:
// an hourly row per program a user ran in that hour (application resource
// usage, and network usage for browsers and mail), and for a program the
// scenario marks network, a row of both every hour from its start until
// collection. Times are the host's clock; SRUM stamps a row when the hour
// it covers ends.
func (g *gen) writeSRUM(hs *hostState, written event.FileTime) error {
	if !hs.h.SRUM {
		return nil
	}
	var db srum.DB
	seen := map[string]bool{}
	hourOf := func(t event.FileTime) time.Time { return t.Time().UTC().Truncate(time.Hour).Add(time.Hour) }
	num := func(parts ...string) int64 {
		h := fnv.New64a()
		h.Write([]byte(g.s.Seed + "\x00" + hs.h.Name))
		for _, p := range parts {
			h.Write([]byte{0})
			h.Write([]byte(p))
		}
		return int64(h.Sum64() >> 1)
	}
	row := func(at time.Time, sid, key string, network bool, step string) {
		if !at.Before(written.Time()) {
			return
		}
		id := at.Format(time.RFC3339) + "|" + sid + "|" + key
		ent := srum.Entity{App: srum.DevicePath(2, hs.runs[key].path), User: sid}
		if (network || networkApps[strings.ToUpper(baseName(key))]) && !seen["net|"+id] {
			seen["net|"+id] = true
			db.Net = append(db.Net, srum.NetUsage{Time: at, Entity: ent, InterfaceLuid: interfaceLUID,
				BytesSent: 4096 + num(id, "sent")%(2<<20), BytesRecvd: 16384 + num(id, "recv")%(24<<20)})
		}
		if seen[id] {
			return
		}
		seen[id] = true
		db.Apps = append(db.Apps, srum.AppUsage{Time: at, Entity: ent,
			ForegroundCycleTime: num(id, "fg") % 40_000_000_000, BackgroundCycleTime: num(id, "bg") % 2_000_000_000,
			FaceTime: num(id, "face") % 3_600_000_000, ForegroundContextSwitches: int32(num(id, "fcs") % 200_000),
			BackgroundContextSwitches: int32(num(id, "bcs") % 20_000), ForegroundBytesRead: num(id, "fbr") % (64 << 20),
			ForegroundBytesWritten: num(id, "fbw") % (8 << 20), ForegroundNumReadOperations: int32(num(id, "fro") % 9000),
			ForegroundNumWriteOperations: int32(num(id, "fwo") % 2000), BackgroundBytesRead: num(id, "bbr") % (4 << 20)})
	}
	sort.SliceStable(hs.usage, func(i, j int) bool { return hs.usage[i].at < hs.usage[j].at })
	for _, u := range hs.usage {
		if hs.runs[u.key] == nil {
			continue
		}
		row(hourOf(u.at), u.sid, u.key, u.network, u.step)
		if !u.network {
			continue
		}
		for at := hourOf(u.at).Add(time.Hour); at.Before(written.Time()); at = at.Add(time.Hour) {
			row(at, u.sid, u.key, true, u.step)
		}
		if u.step != "" {
			hs.files = append(hs.files, fileKey{step: u.step, path: srumPath, at: written,
				what: fmt.Sprintf("SRUM network usage of %s, hourly from %s", baseName(hs.runs[u.key].path), hourOf(u.at).Format(time.RFC3339))})
		}
	}
	if len(db.Apps) == 0 {
		return nil
	}
	h := fnv.New32a()
	h.Write([]byte(hs.h.Name))
	db.Signature, db.OSBuild, db.Time = h.Sum32(), uint32(hs.h.OS.Build), written.Time().UTC().Truncate(time.Second)
	var b bytes.Buffer
	if err := srum.Write(&b, db); err != nil {
		return fmt.Errorf("SRUM: %w", err)
	}
	hs.file("file", srumPath, written, b.Bytes(), "", "")
	return nil
}

const srumPath = `C:\Windows\System32\sru\SRUDB.dat`
