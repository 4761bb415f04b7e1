package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/timeline"
	"github.com/foothold/foothold/tui"
)

func (a *App) tuiCmd() *cobra.Command {
	var casePath, query string
	cmd := &cobra.Command{
		Use:   "tui -c CASE.db | tui CASE.db",
		Short: "Investigate a case in the terminal: timeline, filters, pivots, bookmarks",
		Long: `Tui opens the case's timeline in the terminal. Press ? inside for every key.
Bookmarks, tags, notes and saved filters are stored in the case. NO_COLOR turns colour off.`,
		Example: `  foothold tui -c case.db
  foothold tui case.db --filter 'host:DC01 event:4624'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if casePath != "" && casePath != args[0] {
					return errors.New("tui: give the case once, as -c CASE.db or as the argument")
				}
				casePath = args[0]
			}
			if casePath == "" {
				return errors.New("tui: which case? foothold tui -c CASE.db")
			}
			c, err := timeline.OpenExisting(casePath)
			if err != nil {
				return err
			}
			defer c.Close()
			return tui.Run(cmd.Context(), c, tui.Options{Query: query})
		},
	}
	cmd.Flags().StringVarP(&casePath, "case", "c", "", "case file")
	cmd.Flags().StringVar(&query, "filter", "", "initial filter (the / language)")
	return cmd
}
