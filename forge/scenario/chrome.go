package scenario

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/foothold/foothold/forge/artifacts"
	fdisk "github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/parsers/event"
)

// writeChromeHistory gives each user who downloaded something a Chrome
// History database: a visit to the referring page, a link visit to the
// download URL, and the completed download row.
func (g *gen) writeChromeHistory(hs *hostState) error {
	by := map[string][]Action{}
	for _, a := range hs.downloads {
		by[g.s.User(a.User).Name()] = append(by[g.s.User(a.User).Name()], a)
	}
	users := make([]string, 0, len(by))
	for u := range by {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		var visits []artifacts.Visit
		var downloads []artifacts.Download
		var last event.FileTime
		step := ""
		for _, a := range by[u] {
			start := hs.at(a.Time, -1500)
			end := hs.at(a.Time, 0)
			from := 0
			if a.Referrer != "" {
				visits = append(visits, artifacts.Visit{URL: a.Referrer, Title: "Downloads", Time: hs.at(a.Time, -45*sec),
					Transition: artifacts.TransitionTyped | artifacts.TransitionFromAddressBar | artifacts.TransitionChainStart | artifacts.TransitionChainEnd})
				from = len(visits)
			}
			visits = append(visits, artifacts.Visit{URL: a.URL, Time: start, FromVisit: from,
				Transition: artifacts.TransitionLink | artifacts.TransitionChainStart | artifacts.TransitionChainEnd})
			data := hs.data[strings.ToUpper(a.Path)]
			sum := sha256.Sum256(data)
			downloads = append(downloads, artifacts.Download{URL: a.URL, Referrer: a.Referrer, TargetPath: a.Path,
				MimeType: "application/octet-stream", Start: start, End: end, Received: int64(len(data)), Total: int64(len(data)),
				DangerType: artifacts.DangerUserValidated, State: artifacts.DownloadComplete, SHA256: sum[:]})
			if end > last {
				last = end
			}
			if step == "" {
				step = a.ID
			}
		}
		dir, err := os.MkdirTemp("", "forge-history-")
		if err != nil {
			return err
		}
		p := filepath.Join(dir, "History")
		err = artifacts.WriteChromeHistory(p, visits, downloads)
		var b []byte
		if err == nil {
			b, err = os.ReadFile(p)
		}
		os.RemoveAll(dir)
		if err != nil {
			return fmt.Errorf("chrome history of %s: %w", u, err)
		}
		path := `C:\Users\` + u + `\AppData\Local\Google\Chrome\User Data\Default\History`
		hs.file(fdisk.OpFile, path, last+event.FileTime(30*1e7), b, step, "Chrome History with the download")
	}
	return nil
}
