package main

import (
	"archive/tar"
	"compress/bzip2"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/walk"
	"github.com/foothold/foothold/timeline"
	"github.com/foothold/foothold/tui"
)

// DemoOptions are the flags of `foothold demo`.
type DemoOptions struct {
	Case    string
	CaseDir string
	NoTUI   bool
}

func (a *App) demoCmd() *cobra.Command {
	o := &DemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Ingest the bundled 3CX-like demo case (five hosts) and show what Foothold finds",
		Long: `Demo unpacks the committed demo case (testdata/cases/3cx, run from the repository root):
five Windows hosts of a supply-chain intrusion, each disk in another container (E01 in two
segments, VMDK, VHDX, split raw, raw). It ingests them all into one new case and prints the
summary and the key evidence: the downloaded installer, the logons that carried the attacker
from host to host, and the log clearing at the end. The story and its ground truth are in
testdata/cases/3cx/truth.json.`,
		Example: `  go run -tags sqlite_fts5 ./cmd/foothold demo
  foothold demo -c /tmp/demo.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runDemo(cmd.Context(), o) },
	}
	cmd.Flags().StringVarP(&o.Case, "case", "c", "", "case file to create (default: in a new temporary folder)")
	cmd.Flags().StringVar(&o.CaseDir, "demo", filepath.Join("testdata", "cases", "3cx"), "demo case folder (with images/HOST.tar.bz2)")
	cmd.Flags().BoolVar(&o.NoTUI, "no-tui", false, "do not open the TUI afterwards, even on a terminal")
	return cmd
}

func (a *App) runDemo(ctx context.Context, o *DemoOptions) error {
	archives, err := filepath.Glob(filepath.Join(o.CaseDir, "images", "*.tar.bz2"))
	if err != nil || len(archives) == 0 {
		return fmt.Errorf("no demo images under %s (run from the repository root, or pass --demo)", filepath.Join(o.CaseDir, "images"))
	}
	sort.Strings(archives)
	dir, err := os.MkdirTemp("", "foothold-demo-")
	if err != nil {
		return err
	}
	var evidence []string
	for _, arc := range archives {
		host := strings.TrimSuffix(filepath.Base(arc), ".tar.bz2")
		files, err := untarBz2(arc, filepath.Join(dir, host))
		if err != nil {
			return fmt.Errorf("demo image %s: %w", arc, err)
		}
		// The first file of each container (later segments and extents
		// are found from it).
		for _, f := range files {
			if kind, _, err := walk.Classify(f); err == nil && kind == walk.KindImage {
				evidence = append(evidence, f)
			}
		}
	}
	if o.Case == "" {
		o.Case = filepath.Join(dir, "demo.db")
	}
	fmt.Fprintf(a.Out, "Foothold demo: %d hosts of %s into %s\n\n", len(evidence), o.CaseDir, o.Case)
	if err := a.runIngest(ctx, &IngestOptions{Case: o.Case, Evidence: evidence, Quiet: true}); err != nil {
		return err
	}
	c, err := timeline.OpenExisting(o.Case)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Summarize(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.Out)
	printSummary(a.Out, s, false)
	for _, q := range []struct {
		title string
		f     timeline.Filter
		keep  func(fields map[string]any) bool
	}{
		{"The download (Zone.Identifier, browser)", timeline.Filter{Types: []string{"zone", "download"}}, nil},
		{"Timestomp indicators", timeline.Filter{Artifacts: []string{"mft"}, Types: []string{"timestomp"}}, nil},
		{"Remote logons (4624 type 3 and 10 from another address) and remote execution (7045, 4698, 1149)",
			timeline.Filter{Artifacts: []string{"evtx"}, Types: []string{"4624", "7045", "4698", "1149"}},
			func(f map[string]any) bool {
				if f["event_id"] != float64(4624) {
					return true
				}
				lt, ip := f["logon_type"], fmt.Sprint(f["src_ip"])
				return (lt == float64(3) || lt == float64(10)) && ip != "" && ip != "-" && ip != "<nil>" && ip != "::1"
			}},
		{"Logs cleared (Security 1102, System 104)", timeline.Filter{Artifacts: []string{"evtx"}, Types: []string{"1102", "104"}},
			func(f map[string]any) bool { return f["channel"] == "Security" || f["channel"] == "System" }},
	} {
		fmt.Fprintf(a.Out, "\n%s\n", q.title)
		n := 0
		err := c.Events(ctx, q.f, func(r *timeline.Row) error {
			if q.keep != nil {
				var f map[string]any
				if json.Unmarshal([]byte(r.Fields), &f) != nil || !q.keep(f) {
					return nil
				}
			}
			if n++; n <= 30 {
				fmt.Fprintf(a.Out, "  %s [%s] %s\n", r.Time, r.Host, r.Message)
			}
			return nil
		})
		if err != nil {
			return err
		}
		switch {
		case n == 0:
			fmt.Fprintf(a.Out, "  none\n")
		case n > 30:
			fmt.Fprintf(a.Out, "  … %d more\n", n-30)
		}
	}
	// The movement analysis: who went where, how, as whom.
	res, err := analyzeCase(ctx, o.Case)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "\nMovement between hosts (%s; times as each destination recorded them)\n", event.Count(int64(len(res.Edges)), "edge"))
	if err := printEdges(a.Out, res.Edges); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "\nThe attack traced from its seed (foothold trace --from auto)\n")
	if err := a.runTrace(ctx, &TraceOptions{Case: o.Case, From: "auto", Format: "text"}); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "\nNext: foothold export -c %s -f csv -o timeline.csv\n", o.Case)
	// The seed's file is where an investigator's next question starts.
	var seedPath sql.NullString
	if err := c.DB.QueryRowContext(ctx, `SELECT json_extract(trace, '$.seed.path') FROM traces ORDER BY id DESC LIMIT 1`).Scan(&seedPath); err == nil && seedPath.String != "" {
		fmt.Fprintf(a.Out, "      foothold file -c %s '%s'\n", o.Case, seedPath.String)
	}
	fmt.Fprintf(a.Out, "      foothold edges -c %s -f json\n", o.Case)
	fmt.Fprintf(a.Out, "      foothold trace -c %s --from auto -f dot\n", o.Case)
	fmt.Fprintf(a.Out, "      foothold tui -c %s\n", o.Case)
	// On a terminal the investigation goes on in the TUI.
	if !o.NoTUI && a.Out == os.Stdout && term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stdin.Fd())) {
		return tui.Run(ctx, c, tui.Options{})
	}
	return nil
}

// untarBz2 unpacks a .tar.bz2 of plain files into dir, sparse where the
// data is zeros (the images are mostly empty), read-only as evidence is.
func untarBz2(src, dir string) ([]string, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tr := tar.NewReader(bzip2.NewReader(f))
	var out []string
	buf := make([]byte, 1<<20)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := filepath.Base(h.Name)
		if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("bad entry %q", h.Name)
		}
		dst := filepath.Join(dir, name)
		w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, err
		}
		var off int64
		for {
			n, rerr := io.ReadFull(tr, buf)
			if n > 0 {
				if !allZero(buf[:n]) {
					if _, err := w.WriteAt(buf[:n], off); err != nil {
						w.Close()
						return nil, err
					}
				}
				off += int64(n)
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			}
			if rerr != nil {
				w.Close()
				return nil, rerr
			}
		}
		if err := w.Truncate(off); err != nil {
			w.Close()
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		os.Chmod(dst, 0o444)
		out = append(out, dst)
	}
	sort.Strings(out)
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
