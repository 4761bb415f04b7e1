// Package readers runs the independent tools the differential tests
// compare with and parses what they print. It is shared by the parsers'
// tests and the forge writers' tests: the parsing of a tool's output is
// not the code under test, so one copy serves both.
package readers

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

var sccaLine = regexp.MustCompile(`^\t([^\t]+?)\t+: (.*)$`)

// Scca is what libscca's sccainfo prints for one Prefetch file.
type Scca struct {
	Fields   map[string]string   // top-level "name: value" lines, and every "Number of ..."
	RunTimes []string            // "Last run time: N" values in order, "Not set (0)" included
	Files    []string            // the Filenames section
	Volumes  []map[string]string // one map per "Volume: N" section
}

// Sccainfo runs sccainfo on path.
func Sccainfo(path string) (Scca, error) {
	out, err := exec.Command("sccainfo", path).CombinedOutput()
	if err != nil {
		return Scca{}, fmt.Errorf("sccainfo %s: %v: %s", path, err, out)
	}
	r := Scca{Fields: map[string]string{}}
	section := ""
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case line == "Filenames:":
			section = "files"
			continue
		case line == "Volumes:":
			section = "volumes"
			continue
		case strings.HasPrefix(line, "Volume: "):
			section = "volume"
			r.Volumes = append(r.Volumes, map[string]string{})
			continue
		}
		m := sccaLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch {
		case strings.HasPrefix(m[1], "Number of "):
			r.Fields[m[1]] = m[2]
		case section == "files" && strings.HasPrefix(m[1], "Filename: "):
			r.Files = append(r.Files, m[2])
		case section == "volume":
			r.Volumes[len(r.Volumes)-1][m[1]] = m[2]
		case section == "":
			r.Fields[m[1]] = m[2]
			if strings.HasPrefix(m[1], "Last run time:") {
				r.RunTimes = append(r.RunTimes, m[2])
			}
		}
	}
	return r, nil
}

// SccaTime renders a FILETIME the way sccainfo prints it.
func SccaTime(f event.FileTime) string {
	if f == 0 {
		return "Not set (0)"
	}
	return f.Time().Format("Jan 02, 2006 15:04:05") + fmt.Sprintf(".%07d00 UTC", uint64(f)%10_000_000)
}
