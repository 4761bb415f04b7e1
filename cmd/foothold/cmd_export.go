package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
	"github.com/foothold/foothold/timeline/export"
)

// ExportOptions are the flags of `foothold export`.
type ExportOptions struct {
	Case      string
	Format    string
	Output    string
	Hosts     []string
	Artifacts []string
	Types     []string
	After     string
	Before    string
	Query     string
}

func (a *App) exportCmd() *cobra.Command {
	o := &ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export -c CASE.db -f FORMAT [-o FILE] [--host H] [--artifact A] [--after T] [--before T] [--query TEXT]",
		Short: "Write the timeline (or a filtered part) for other tools",
		Long: `Export writes events in time order. Formats:
  csv             Foothold's native CSV: one header, stable columns, UTC ISO-8601 with 7 fractional digits
  l2tcsv          Plaso's 17-column l2t_csv
  timesketch-csv  Timesketch CSV import (message, datetime, timestamp_desc, timestamp, fields as columns)
  jsonl           one JSON object per event (Timesketch JSONL import)
  bodyfile        mactime's bodyfile (MFT entries as fls -m writes them)
CSV cells beginning with = + - @ are neutralised with a leading quote, for spreadsheets.
Times for --after/--before are UTC ISO-8601 (2023-03-01, 2023-03-01T10:00:00.1234567Z).`,
		Example: `  foothold export -c case.db -f csv -o timeline.csv
  foothold export -c case.db -f l2tcsv --host WS-TRADER01 --after 2023-03-01 --before 2023-03-02
  foothold export -c case.db -f jsonl --artifact usn --query 'X_TRADER'
  foothold export -c case.db -f bodyfile --artifact mft | mactime -b - -d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runExport(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.Case, "case", "c", "", "case file")
	f.StringVarP(&o.Format, "format", "f", "csv", "output format: "+strings.Join(export.Formats(), ", "))
	f.StringVarP(&o.Output, "output", "o", "-", "output file (- for stdout)")
	f.StringSliceVar(&o.Hosts, "host", nil, "only these hosts (repeat or comma-separate)")
	f.StringSliceVar(&o.Artifacts, "artifact", nil, "only these artifacts: mft, usn, evtx, registry, ... (repeat or comma-separate)")
	f.StringSliceVar(&o.Types, "type", nil, "only these event types (repeat or comma-separate)")
	f.StringVar(&o.After, "after", "", "only events at or after this UTC time")
	f.StringVar(&o.Before, "before", "", "only events before this UTC time")
	f.StringVar(&o.Query, "query", "", "search message and path: words and \"phrases\" as typed, word* a prefix, -word excludes, OR/NOT/AND and ( ) combine")
	cmd.MarkFlagRequired("case")
	return cmd
}

func parseFilterTimes(after, before string) (event.FileTime, event.FileTime, error) {
	var a, b event.FileTime
	var err error
	if after != "" {
		if a, err = event.Parse(after); err != nil {
			return 0, 0, fmt.Errorf("--after: %w", err)
		}
	}
	if before != "" {
		if b, err = event.Parse(before); err != nil {
			return 0, 0, fmt.Errorf("--before: %w", err)
		}
	}
	return a, b, nil
}

func (a *App) runExport(ctx context.Context, o *ExportOptions) error {
	after, before, err := parseFilterTimes(o.After, o.Before)
	if err != nil {
		return err
	}
	known := false
	for _, f := range export.Formats() {
		known = known || f == o.Format
	}
	if !known {
		return fmt.Errorf("unknown format %q (want one of %s)", o.Format, strings.Join(export.Formats(), ", "))
	}
	c, err := timeline.OpenExisting(o.Case)
	if err != nil {
		return err
	}
	defer c.Close()
	var w io.Writer = a.Out
	var file *os.File
	if o.Output != "-" && o.Output != "" {
		if file, err = os.Create(o.Output); err != nil {
			return err
		}
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	f := timeline.Filter{Hosts: o.Hosts, Artifacts: o.Artifacts, Types: o.Types, After: after, Before: before, Query: o.Query}
	n, err := export.Write(ctx, c, f, o.Format, bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if o.Output != "-" && o.Output != "" {
		fmt.Fprintf(a.Err, "wrote %d events to %s\n", n, o.Output)
	}
	return nil
}
