package srum

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/foothold/foothold/parsers/event"
)

// corpusDBs lists every SRUDB.dat in the corpus.
func corpusDBs(t testing.TB) []string {
	t.Helper()
	root := filepath.Join(testimg.Corpus(t), "srum")
	out := testimg.CorpusFiles(t, "srum", func(rel string) bool { return strings.EqualFold(filepath.Base(rel), "SRUDB.dat") })
	for i, rel := range out {
		out[i] = filepath.Join(root, rel)
	}
	return out
}

// esedbexport runs `esedbexport -t DIR db` and returns rows per table
// (lines of each exported file minus the header line).
func esedbexport(t *testing.T, db string) (map[string]int64, error) {
	t.Helper()
	dir, err := esedbexportDir(t, db)
	if err != nil {
		return nil, err
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	rows := map[string]int64{}
	for _, f := range files {
		name := f.Name()
		name = name[:strings.LastIndexByte(name, '.')] // TABLE.N
		fh, err := os.Open(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		n := int64(-1)
		for sc.Scan() {
			n++
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if n < 0 {
			n = 0
		}
		rows[name] = n
	}
	return rows, nil
}

// esedbexportDir runs `esedbexport -t DIR db` under t.TempDir and
// returns the directory of exported tables (TABLE.N files).
func esedbexportDir(t *testing.T, db string) (string, error) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "x")
	if out, err := exec.Command("esedbexport", "-t", target, db).CombinedOutput(); err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return target + ".export", nil
}

func parseDB(t *testing.T, path string) (map[string]int64, []event.Event, Stats, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	var evs []event.Event
	st, perr := Parse(context.Background(), path, f, fi.Size(), event.SinkFunc(func(e *event.Event) error {
		c := *e
		c.Fields = append([]event.Field(nil), e.Fields...)
		evs = append(evs, c)
		return nil
	}))
	rows, err := TableRows(context.Background(), f, fi.Size())
	if err != nil {
		t.Errorf("TableRows: %v", err)
	}
	return rows, evs, st, perr
}

// TestEsedbexport compares, on every SRUDB.dat of the corpus, the row
// count of every table with libesedb's esedbexport, and the number of
// app_usage and network_usage events with the rows of their tables.
// Exception: Win11/RathbunVM/Dirty, whose header checksum esedbexport
// rejects; it is read as it is and compared with the Clean copy of the
// same database (GROUND_TRUTH_POINTERS: replaying the logs gives the
// Clean copy), which must not have fewer rows in the two provider tables.
func TestEsedbexport(t *testing.T) {
	if _, err := exec.LookPath("esedbexport"); err != nil {
		t.Skip("esedbexport not installed")
	}
	root := filepath.Join(testimg.Corpus(t), "srum")
	dbs := corpusDBs(t)
	var tables, rowsTotal, events int64
	for _, db := range dbs {
		rel, _ := filepath.Rel(root, db)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			got, evs, st, err := parseDB(t, db)
			if err != nil {
				t.Errorf("Parse: %v", err)
			}
			kinds := map[string]int64{}
			for _, e := range evs {
				kinds[e.Type]++
			}
			events += int64(len(evs))
			if st.Records != int64(len(evs)) {
				t.Errorf("stats %d records, %d events", st.Records, len(evs))
			}
			want, xerr := esedbexport(t, db)
			if rel == "DFIRArtifactMuseum/Win11/RathbunVM/Dirty/SRUDB.dat" {
				if xerr == nil {
					t.Errorf("esedbexport now opens the dirty database: drop the exception")
				}
				clean, _, _, _ := parseDB(t, filepath.Join(root, "DFIRArtifactMuseum/Win11/RathbunVM/Clean/SRUDB.dat"))
				for _, tb := range []string{AppResourceTable, NetworkTable} {
					if got[tb] == 0 || got[tb] > clean[tb] {
						t.Errorf("%s: dirty %d rows, clean %d", tb, got[tb], clean[tb])
					}
				}
				t.Logf("dirty database read as is: %d app, %d network events (clean copy: %d, %d)",
					kinds["app_usage"], kinds["network_usage"], clean[AppResourceTable], clean[NetworkTable])
				return
			}
			if xerr != nil {
				t.Fatalf("esedbexport: %v", xerr)
			}
			if len(got) != len(want) {
				t.Errorf("%d tables, esedbexport %d", len(got), len(want))
			}
			for name, n := range want {
				if strings.HasPrefix(name, "MSys") {
					// Exception: ESE's own catalog tables. On the three
					// DFIRArtifactMuseum Win10/Win11 databases go-ese walks
					// more MSysObjects/MSysObjectsShadow/MSysObjids rows than
					// esedbexport (e.g. 215 vs 195, 290 vs 243); not
					// investigated yet, and they hold no SRUM data.
					if got[name] < n {
						t.Errorf("table %s: %d rows, fewer than esedbexport's %d", name, got[name], n)
					}
					continue
				}
				tables++
				rowsTotal += n
				if got[name] != n {
					t.Errorf("table %s: %d rows, esedbexport %d", name, got[name], n)
				}
			}
			if kinds["app_usage"] != want[AppResourceTable] || kinds["network_usage"] != want[NetworkTable] {
				t.Errorf("events app %d network %d, esedbexport rows %d, %d",
					kinds["app_usage"], kinds["network_usage"], want[AppResourceTable], want[NetworkTable])
			}
		})
	}
	t.Logf("%d databases, %d tables equal to esedbexport (%d rows), %d events", len(dbs), tables, rowsTotal, events)
	if len(dbs) != 6 {
		t.Errorf("corpus changed: %d SRUDB.dat files", len(dbs))
	}
}
