package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline/movement"
)

// HostsOptions are the flags of `foothold hosts`.
type HostsOptions struct {
	Case string
	JSON bool
}

func (a *App) hostsCmd() *cobra.Command {
	o := &HostsOptions{}
	cmd := &cobra.Command{
		Use:   "hosts -c CASE.db [--json]",
		Short: "Resolve and list host identities: names and addresses over time (stored in the case)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return a.runHosts(cmd.Context(), o) },
	}
	cmd.Flags().StringVarP(&o.Case, "case", "c", "", "case file")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	cmd.MarkFlagRequired("case")
	return cmd
}

func (a *App) runHosts(ctx context.Context, o *HostsOptions) error {
	res, err := analyzeCase(ctx, o.Case)
	if err != nil {
		return err
	}
	hosts := res.Identity.SortedHosts()
	if o.JSON {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"hosts": hosts, "accounts": res.Identity.Accounts, "clock_offsets": res.Clocks})
	}
	clock := map[string]movement.Offset{}
	for _, o := range res.Clocks {
		clock[o.Host] = o
	}
	for _, h := range hosts {
		kind := "collected"
		if !h.Collected {
			kind = "unknown (no image)"
		}
		fmt.Fprintf(a.Out, "%s  [%s]  names: %s\n", h.Name, kind, strings.Join(h.Names, ", "))
		if o, ok := clock[h.Name]; ok {
			fmt.Fprintf(a.Out, "    clock %+.3f s against %s (%s, spread %.3f s)\n", o.Seconds, o.Reference, event.Count(int64(o.Pairs), "paired event"), o.Spread)
		}
		if h.Note != "" {
			fmt.Fprintf(a.Out, "    %s\n", h.Note)
		}
		for _, b := range h.Addresses {
			last := b.Last.String()
			if b.Open {
				last = "collection (registry lease)"
			}
			fmt.Fprintf(a.Out, "    %-15s %s .. %s  (%s: %s)\n", b.IP, b.First.String(), last, event.Count(int64(b.Count), "observation"), strings.Join(b.Sources, ", "))
		}
	}
	return nil
}
