package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
	"github.com/foothold/foothold/timeline/movement"
)

// TraceOptions are the flags of `foothold trace`.
type TraceOptions struct {
	Case   string
	From   string
	Format string
	Output string
}

func (a *App) traceCmd() *cobra.Command {
	o := &TraceOptions{}
	cmd := &cobra.Command{
		Use:   "trace -c CASE.db --from SEED [-f text|json|dot|csv] [-o FILE]",
		Short: "Follow the attack forward from a seed, host by host",
		Long: `Trace runs the movement analysis (edges, clock offsets), then follows the attack forward
from SEED: every edge that leaves a compromised host after its compromise time is on the path
and compromises its destination, until nothing new is reached. Edges that recur from before
their source was compromised are routine and stay context, as do edges from hosts never
compromised. Times are shown raw and corrected by the estimated clock offsets.

SEED is auto, an event id, or a file path, hash or process name (its earliest execution).
auto picks, and says why, the earliest execution of a file that came from the internet
(Zone.Identifier, a browser download); failing that, of a suspicious file: an unsigned
program named like a signed one in the Windows folders, or a signature digest mismatch. The trace is
stored in the case. -o FILE.svg or FILE.png renders the DOT with Graphviz when installed.`,
		Example: `  foothold trace -c case.db --from auto
  foothold trace -c case.db --from 'C:\Users\a.reyes\Downloads\X_TRADER_r7.17.90p608.exe' -f json
  foothold trace -c case.db --from auto -o path.svg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runTrace(cmd.Context(), o) },
	}
	cmd.Flags().StringVarP(&o.Case, "case", "c", "", "case file")
	cmd.Flags().StringVar(&o.From, "from", "auto", "seed: auto, an event id, a file path, a hash or a process name")
	cmd.Flags().StringVarP(&o.Format, "format", "f", "text", "output format: text, json, dot or csv (events on the path)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output file; .svg or .png renders the graph with Graphviz")
	cmd.MarkFlagRequired("case")
	return cmd
}

func (a *App) runTrace(ctx context.Context, o *TraceOptions) error {
	res, err := analyzeCase(ctx, o.Case)
	if err != nil {
		return err
	}
	c, err := timeline.OpenExisting(o.Case)
	if err != nil {
		return err
	}
	defer c.Close()
	seed, err := seedFrom(ctx, c, res, o.From)
	if err != nil {
		return err
	}
	tr := movement.TraceFrom(res, *seed)
	if err := movement.SaveTrace(ctx, c, o.From, tr); err != nil {
		return err
	}
	var out io.Writer = a.Out
	if o.Output != "" {
		ext := strings.ToLower(filepath.Ext(o.Output))
		if ext == ".svg" || ext == ".png" {
			dot, err := exec.LookPath("dot")
			if err != nil {
				return fmt.Errorf("rendering %s needs Graphviz (dot); use -f dot instead", o.Output)
			}
			cmd := exec.CommandContext(ctx, dot, "-T"+ext[1:], "-o", o.Output)
			cmd.Stdin = strings.NewReader(tr.DOT())
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("dot: %v: %s", err, b)
			}
			fmt.Fprintf(a.Err, "wrote %s\n", o.Output)
			return nil
		}
		f, err := os.Create(o.Output)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	switch o.Format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(tr)
	case "dot":
		_, err := fmt.Fprint(out, tr.DOT())
		return err
	case "csv":
		return traceCSV(ctx, c, tr, out)
	case "text":
	default:
		return fmt.Errorf("trace: unknown format %q (text, json, dot, csv)", o.Format)
	}
	fmt.Fprintf(out, "Seed: %s on %s at %s (corrected %s)\n  %s\n", tr.Seed.Path, tr.Seed.Host, tr.Seed.Time, tr.Seed.Corrected, tr.Seed.Why)
	fmt.Fprintf(out, "\nCompromised hosts, in order (reference clock):\n")
	for _, h := range tr.Order {
		fmt.Fprintf(out, "  %s  %s\n", tr.Compromised[h], h)
	}
	fmt.Fprintf(out, "\nPath (%s):\n", event.Count(int64(len(tr.Hops)), "hop"))
	for _, h := range tr.Hops {
		mark := "  "
		if h.NewCompromise {
			mark = "→ "
		}
		fmt.Fprintf(out, "%s%s (raw %s)  %s -> %s  %s as %s (%s), %s confidence, %s\n", mark, h.Corrected, h.Time,
			h.Source, h.Destination, h.Technique, h.Account, h.Authentication, h.Confidence, event.Count(int64(len(h.Evidence)), "event"))
	}
	arrivals, err := movement.Arrivals(ctx, c, res, tr)
	if err != nil {
		return err
	}
	for _, ar := range arrivals {
		fmt.Fprintf(out, "\nAfter arrival on %s (since %s, host clock):\n", ar.Host, ar.Since)
		for _, g := range []struct {
			name  string
			facts []movement.Fact
		}{{"processes the attacker started", ar.Processes}, {"other processes that ran its files", ar.Others}, {"files dropped", ar.Files},
			{"persistence", ar.Persistence}, {"credentials (access, accounts used, in memory)", ar.Credentials}} {
			if len(g.facts) == 0 {
				continue
			}
			fmt.Fprintf(out, "  %s:\n", g.name)
			for _, f := range g.facts {
				why := ""
				if f.Why != "" {
					why = "  [" + f.Why + "]"
				}
				fmt.Fprintf(out, "    %s  %s%s\n", f.Time, f.Text, why)
			}
		}
	}
	if len(tr.Context) > 0 {
		fmt.Fprintf(out, "\nNot on the path (%s): routine, or from hosts not compromised then:\n", event.Count(int64(len(tr.Context)), "edge"))
		for _, e := range tr.Context {
			fmt.Fprintf(out, "  %s  %s -> %s  %s as %s, %s\n", e.First, e.Source, e.Destination, e.Technique, e.Account, event.Times(int64(e.Count)))
		}
	}
	return nil
}

// seedFrom turns --from into a seed: auto, an event id, or a file (path,
// hash or process name) whose earliest execution starts the trace.
// auto reuses the process creations the analysis already read.
func seedFrom(ctx context.Context, c *timeline.Case, res *movement.Result, from string) (*movement.Seed, error) {
	if from == "" || from == "auto" {
		return movement.AutoSeedFrom(ctx, c, res)
	}
	if id, err := strconv.ParseInt(from, 10, 64); err == nil {
		var r timeline.Row
		var ts int64
		err := c.DB.QueryRowContext(ctx, `SELECT id, ts, host, path, message FROM timeline WHERE id = ?`, id).
			Scan(&r.ID, &ts, &r.Host, &r.Path, &r.Message)
		if err != nil {
			return nil, fmt.Errorf("trace: event %d: %w", id, err)
		}
		return &movement.Seed{Host: r.Host, Time: event.FileTime(ts), Path: r.Path, EventID: r.ID, Why: "event " + from + ": " + r.Message}, nil
	}
	st, err := c.File(ctx, from)
	if err != nil {
		return nil, err
	}
	var best *timeline.Row
	for i := range st.Events {
		r := &st.Events[i]
		run := (r.Artifact == "evtx" && (r.Type == "4688" || r.Type == "1")) || (r.Artifact == "prefetch" && r.Type == "run")
		if run && r.Time != 0 && (best == nil || r.Time < best.Time) {
			best = r
		}
	}
	if best == nil {
		return nil, fmt.Errorf("trace: no execution of %s in the case", from)
	}
	return &movement.Seed{Host: best.Host, Time: best.Time, Path: best.Path, EventID: best.ID,
		Why: fmt.Sprintf("earliest execution of %s (%s %s)", from, best.Artifact, best.Type)}, nil
}

// traceCSV writes every event on the path, hop by hop, for the report.
func traceCSV(ctx context.Context, c *timeline.Case, tr *movement.Trace, out io.Writer) error {
	w := csv.NewWriter(out)
	w.Write([]string{"hop", "hop_time_corrected", "source", "destination", "technique", "account", "side", "host", "datetime", "artifact", "type", "message", "event_id"})
	for i, h := range tr.Hops {
		for _, ref := range h.Evidence {
			var msg, art, typ string
			c.DB.QueryRowContext(ctx, `SELECT message, artifact, type FROM events WHERE id = ?`, ref.EventID).Scan(&msg, &art, &typ)
			w.Write([]string{strconv.Itoa(i + 1), h.Corrected.String(), h.Source, h.Destination, h.Technique, h.Account,
				ref.Side, ref.Host, ref.Time.String(), art, typ, msg, strconv.FormatInt(ref.EventID, 10)})
		}
	}
	w.Flush()
	return w.Error()
}
