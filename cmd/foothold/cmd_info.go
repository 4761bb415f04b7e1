package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/timeline"
)

// InfoOptions are the flags of `foothold info`.
type InfoOptions struct {
	Case   string
	JSON   bool
	Errors bool
}

func (a *App) infoCmd() *cobra.Command {
	o := &InfoOptions{}
	cmd := &cobra.Command{
		Use:   "info -c CASE.db",
		Short: "Show what the case holds: evidence, volumes, hosts, sources, counts by artifact, errors",
		Example: `  foothold info -c case.db
  foothold info -c case.db --errors
  foothold info -c case.db --json | jq '.errors'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runInfo(cmd.Context(), o) },
	}
	cmd.Flags().StringVarP(&o.Case, "case", "c", "", "case file")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the summary as JSON (with every source that has an error)")
	cmd.Flags().BoolVar(&o.Errors, "errors", false, "list every source with an error, not a few of each kind")
	cmd.MarkFlagRequired("case")
	return cmd
}

func (a *App) runInfo(ctx context.Context, o *InfoOptions) error {
	c, err := timeline.OpenExisting(o.Case)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Summarize(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	printSummary(a.Out, s, o.Errors)
	return nil
}

// errorExamples is how many sources of one kind (evidence, parser, status)
// info lists: a volume full of files named like artifacts but holding
// something else gives thousands of error rows, and a screenful of them
// says no more than a count and a few examples.
const errorExamples = 3

// storedHashes lists the acquisition hashes the container carries: an E01
// may hold an MD5 and no SHA1, and an empty "sha1" reads as a blank one.
func storedHashes(md5, sha1 string) string {
	var parts []string
	if md5 != "" {
		parts = append(parts, "md5 "+md5)
	}
	if sha1 != "" {
		parts = append(parts, "sha1 "+sha1)
	}
	return strings.Join(parts, " ")
}

func printSummary(out io.Writer, s *timeline.Summary, allErrors bool) {
	fmt.Fprintf(out, "Case %s (schema %d): %d events\n", s.Path, s.Schema, s.Events)
	fmt.Fprintf(out, "\nEvidence\n")
	for _, e := range s.Evidence {
		fmt.Fprintf(out, "  [%d] %s\n      %s, %d bytes, host %s, %s, %d events\n      sha256 %s\n",
			e.ID, e.Path, e.Format, e.Size, e.Host, statusText(e.Status), e.Events, e.SHA256)
		if stored := storedHashes(e.MD5, e.SHA1); stored != "" {
			fmt.Fprintf(out, "      stored %s\n", stored)
		}
		if e.Verified != "" {
			fmt.Fprintf(out, "      verify: %s\n", e.Verified)
		}
		if e.Error != "" {
			fmt.Fprintf(out, "      error: %s\n", firstLines(e.Error, 6, "             "))
		}
		for _, v := range e.Volumes {
			state := "parsed"
			if v.Skipped != "" {
				state = "skipped: " + v.Skipped
			}
			fmt.Fprintf(out, "      volume %d %s offset %d size %d %s", v.Index, v.Scheme, v.Offset, v.Size, v.FS)
			if v.Serial != "" || v.Label != "" {
				fmt.Fprintf(out, " serial %s label %q", v.Serial, v.Label)
			}
			fmt.Fprintf(out, " — %s\n", state)
		}
	}
	fmt.Fprintf(out, "\nHosts\n")
	tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	for _, h := range s.Hosts {
		dup := ""
		if h.Duplicate {
			dup = "  (another host of this case has the same name: not merged)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d events\t%s%s\n", h.Name, h.Origin, h.Events, h.Domain, dup)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nEvents by artifact\n")
	tw = tabwriter.NewWriter(out, 0, 2, 2, ' ', tabwriter.AlignRight)
	for _, a := range s.Artifacts {
		fmt.Fprintf(tw, "  %s\t%d\t\n", a.Name, a.Count)
	}
	tw.Flush()
	fmt.Fprintf(out, "\nSources by status\n")
	for _, k := range s.Sources {
		fmt.Fprintf(out, "  %s: %d\n", k.Name, k.Count)
	}
	if len(s.Errors) > 0 {
		fmt.Fprintf(out, "\nErrors and incomplete sources\n")
		for _, g := range groupErrors(s.Errors) {
			fmt.Fprintf(out, "  %s: %s sources, %s: %d\n", g[0].Evidence, g[0].Parser, g[0].Status, len(g))
			shown := g
			if !allErrors && len(g) > errorExamples {
				shown = g[:errorExamples]
			}
			for _, e := range shown {
				fmt.Fprintf(out, "    %s [%s]: %d records, %d events, %d errors\n", e.Path, e.Artifact, e.Records,
					e.Events, e.Errors)
				if e.Error != "" {
					fmt.Fprintf(out, "      %s\n", firstLines(e.Error, 6, "      "))
				}
			}
			if n := len(g) - len(shown); n > 0 {
				fmt.Fprintf(out, "    … and %d more (foothold info --errors lists them all)\n", n)
			}
		}
	}
}

// groupErrors groups sources by evidence, parser and status, in the order
// each group first appears.
func groupErrors(errs []timeline.SourceInfo) [][]timeline.SourceInfo {
	type key struct{ evidence, parser, status string }
	at := map[key]int{}
	var groups [][]timeline.SourceInfo
	for _, e := range errs {
		k := key{e.Evidence, e.Parser, e.Status}
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], e)
	}
	return groups
}

func statusText(s string) string {
	switch s {
	case "complete":
		return "complete"
	case "interrupted":
		return "INCOMPLETE (interrupted)"
	case "ingesting":
		return "INGESTING (or crashed)"
	case "failed":
		return "FAILED"
	}
	return s
}

// firstLines is the first n lines of s, each after the first indented by
// indent, so a joined error's later lines stay under its first (and a
// long list of them ends in "…").
func firstLines(s string, n int, indent string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n"+indent)
}
