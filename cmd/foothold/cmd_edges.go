package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/timeline"
	"github.com/foothold/foothold/timeline/movement"
)

// EdgesOptions are the flags of `foothold edges`.
type EdgesOptions struct {
	Case   string
	Format string
}

func (a *App) edgesCmd() *cobra.Command {
	o := &EdgesOptions{}
	cmd := &cobra.Command{
		Use:   "edges -c CASE.db [-f text|json|csv]",
		Short: "Build and list host-to-host movement edges (stored in the case)",
		Example: `  foothold edges -c case.db
  foothold edges -c case.db -f json | jq '.[] | select(.technique=="rdp")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runEdges(cmd.Context(), o) },
	}
	cmd.Flags().StringVarP(&o.Case, "case", "c", "", "case file")
	cmd.Flags().StringVarP(&o.Format, "format", "f", "text", "output format: text, json or csv")
	cmd.MarkFlagRequired("case")
	return cmd
}

// analyzeCase runs the movement analysis and stores its result in the case.
func analyzeCase(ctx context.Context, path string) (*movement.Result, error) {
	c, err := timeline.OpenExisting(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res, err := movement.Analyze(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := movement.Save(ctx, c, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (a *App) runEdges(ctx context.Context, o *EdgesOptions) error {
	if o.Format != "text" && o.Format != "json" && o.Format != "csv" {
		return fmt.Errorf("edges: unknown format %q (text, json or csv)", o.Format)
	}
	res, err := analyzeCase(ctx, o.Case)
	if err != nil {
		return err
	}
	switch o.Format {
	case "json":
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		edges := res.Edges
		if edges == nil {
			edges = []*movement.Edge{}
		}
		return enc.Encode(edges)
	case "csv":
		w := csv.NewWriter(a.Out)
		w.Write([]string{"first", "last", "source", "destination", "technique", "account", "authentication", "count", "confidence", "flags"})
		for _, e := range res.Edges {
			w.Write([]string{e.First.String(), e.Last.String(), e.Source, e.Destination, e.Technique, e.Account,
				e.Authentication, strconv.Itoa(e.Count), e.Confidence, strings.Join(e.Flags, " ")})
		}
		w.Flush()
		return w.Error()
	}
	return printEdges(a.Out, res.Edges)
}

// printEdges writes edges as an aligned table, one line each.
func printEdges(out io.Writer, edges []*movement.Edge) error {
	tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "FIRST (raw)\tSOURCE\tDESTINATION\tTECHNIQUE\tACCOUNT\tAUTH\tCOUNT\tCONF\tFLAGS")
	for _, e := range edges {
		auth := e.Authentication
		if auth == "" {
			auth = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.First.String(), e.Source, e.Destination, e.Technique,
			e.Account, auth, e.Count, e.Confidence, strings.Join(e.Flags, " "))
	}
	return tw.Flush()
}
