package registry

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"
)

type keyRow struct {
	Path   string
	Time   uint64
	Values int
}

// libregfKeys lists a hive's keys as libregf sees them; ok is false when
// libregf refuses the file.
func libregfKeys(t *testing.T, path string) (rows []keyRow, ok bool) {
	t.Helper()
	needTool(t, "regfexport", "/usr/bin/python3")
	script, _ := filepath.Abs(filepath.Join("testdata", "libregf_walk.py"))
	out, err := exec.Command("/usr/bin/python3", script, path).Output()
	if err != nil {
		return nil, false
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// FILETIMEs exceed float64's 53 bits: decode numbers as text.
		var r []json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || len(r) != 3 {
			t.Fatalf("libregf walker output %q: %v", sc.Text(), err)
		}
		var row keyRow
		if err := json.Unmarshal(r[0], &row.Path); err != nil {
			t.Fatal(err)
		}
		ft, err1 := strconv.ParseUint(string(r[1]), 10, 64)
		nv, err2 := strconv.Atoi(string(r[2]))
		if err1 != nil || err2 != nil {
			t.Fatalf("libregf walker output %q", sc.Text())
		}
		row.Time, row.Values = ft, nv
		rows = append(rows, row)
	}
	return rows, true
}

// regfexportCounts counts "Key path:" and "Value:" lines of regfexport.
func regfexportCounts(t *testing.T, path string) (keys, values int) {
	t.Helper()
	out, _ := exec.Command("regfexport", path).Output()
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "Key path: "):
			keys++
		case strings.HasPrefix(l, "Value: "):
			values++
		}
	}
	return keys, values
}

func ourKeys(h *Hive) ([]keyRow, int) {
	var rows []keyRow
	errs := 0
	h.Walk(func(p string, k Key) error {
		vs, err := k.Values()
		if err != nil {
			errs++
		}
		rows = append(rows, keyRow{p, uint64(k.LastWrite()), len(vs)})
		return nil
	}, func(error) { errs++ })
	return rows, errs
}

// corpusHives lists every primary hive file of the corpus (logs excluded).
func corpusHives(t *testing.T) []string {
	var out []string
	root := filepath.Join(testimg.Corpus(t), "registry")
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		low := strings.ToLower(rel)
		if strings.Contains(low, ".log") || strings.HasPrefix(rel, "appcompatcache") || strings.Contains(rel, "records_for_tests") {
			return nil
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out
}

// Hives where libregf reads less than we do, for reasons checked by hand;
// there every key libregf lists must equal ours.
var libregfReadsLess = map[string]string{
	"EricZimmerman-Registry/SAMBadHBinHeader": "libregf stops at the damaged hbin header (1 key); the cells it holds are intact",
	"regipy/corrupted_system_hive.xz":         "libregf refuses the whole hive at cell 0x1C7B28; regipy and we read the rest",
	"yarp/TruncatedPairHive":                  "libregf drops a key whose UTF-16 name has an unpaired surrogate; we decode it as U+FFFD, as yarp expects",
}

// TestKeysMatchLibregf compares, for every corpus hive libregf accepts, the
// key paths, each key's last-written FILETIME (100 ns) and value count with
// libregf, and the totals with regfexport.
func TestKeysMatchLibregf(t *testing.T) {
	needTool(t, "regfexport", "/usr/bin/python3")
	compared := 0
	for _, rel := range corpusHives(t) {
		data := readCorpus(t, rel)
		if !IsHive(data) || binary.LittleEndian.Uint32(data[28:]) != 0 {
			// Not a primary hive (raw value dumps, log files): nothing
			// for libregf to compare; the malformed-input tests cover them.
			continue
		}
		t.Run(rel, func(t *testing.T) {
			tmp := corpusTemp(t, "hive", data)
			want, ok := libregfKeys(t, tmp)
			h, err := Open(data)
			if !ok {
				// libregf refuses it; we must fail cleanly or read it.
				if err == nil {
					ourKeys(h)
				}
				return
			}
			if err != nil {
				t.Fatalf("libregf reads %d keys, we refuse: %v", len(want), err)
			}
			got, _ := ourKeys(h)
			if why, ok := libregfReadsLess[rel]; ok {
				if len(want) >= len(got) {
					t.Errorf("expected libregf to read less (%s): libregf %d keys, ours %d", why, len(want), len(got))
				}
				subsetRows(t, want, got)
				return
			}
			wk, wv := regfexportCounts(t, tmp)
			if wk != len(got) || wv != sumValues(got) {
				t.Errorf("regfexport %d keys %d values, ours %d keys %d values", wk, wv, len(got), sumValues(got))
			}
			diffRows(t, want, got)
			compared++
		})
	}
	t.Logf("%d hives compared with libregf", compared)
}

func sumValues(rows []keyRow) int {
	n := 0
	for _, r := range rows {
		n += r.Values
	}
	return n
}

// subsetRows checks that every libregf key is ours too, with equal data.
func subsetRows(t *testing.T, want, got []keyRow) {
	t.Helper()
	have := map[keyRow]int{}
	for _, r := range got {
		have[r]++
	}
	for _, r := range want {
		if have[r] == 0 {
			t.Errorf("libregf key %+v missing or different in ours", r)
		}
		have[r]--
	}
}

// diffRows compares both walks in order: both enumerate subkey lists in
// stored order, and hives may hold equal names (CompHive).
func diffRows(t *testing.T, want, got []keyRow) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("libregf %d keys, ours %d", len(want), len(got))
	}
	bad := 0
	for i := 0; i < len(want) && i < len(got); i++ {
		if want[i] != got[i] {
			if bad++; bad < 5 {
				t.Errorf("key %d: libregf %+v, ours %+v", i, want[i], got[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d keys differ", bad, len(got))
	}
}
