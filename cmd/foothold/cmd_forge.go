package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/forge"
)

func (a *App) forgeCmd() *cobra.Command {
	var out string
	var opts forge.Options
	cmd := &cobra.Command{
		Use:   "forge SCENARIO -o DIR",
		Short: "Build disk images and a truth file from a scenario",
		Long: `forge turns a scenario file (YAML or JSON, format in forge/scenario/FORMAT.md) into one disk
image per collected host, in the host's container format, and DIR/truth.json with the hosts,
accounts, movement edges, compromise times and key events. Building images needs root, /dev/fuse,
ntfs-3g, libfaketime, sfdisk and the container tools; --truth-only needs none of them.
--pack leaves each host's images as DIR/images/HOST.tar.bz2 with DIR/images/SHA256SUMS, the
form committed under testdata/cases, so one command regenerates a demo case in place.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: 2, err: errors.New("forge: -o DIR is required")}
			}
			opts.Progress = a.Err
			return forge.Run(cmd.Context(), args[0], out, opts)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory")
	cmd.Flags().BoolVar(&opts.TruthOnly, "truth-only", false, "write truth.json only, no images")
	cmd.Flags().StringSliceVar(&opts.Hosts, "host", nil, "build only these hosts' images (repeatable)")
	cmd.Flags().BoolVar(&opts.Pack, "pack", false, "leave images as images/HOST.tar.bz2 and images/SHA256SUMS (the committed demo form)")
	return cmd
}
