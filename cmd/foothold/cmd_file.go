package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/timeline"
)

// FileOptions are the flags of `foothold file`.
type FileOptions struct {
	Case  string
	JSON  bool
	Query string
}

func (a *App) fileCmd() *cobra.Command {
	o := &FileOptions{}
	cmd := &cobra.Command{
		Use:   "file -c CASE.db PATH|HASH",
		Short: "Everything the case knows about one file: MFT times, USN history, download origin, runs, hashes, signer",
		Long: `File gathers the story of one file across artifacts and hosts. PATH may be written as any
artifact records it (C:\ProgramData\x.exe, \Device\HarddiskVolume2\..., \VOLUME{...}\...,
%ProgramData%\..., or the volume-relative \ProgramData\x.exe of an $MFT); a bare name
matches that name in any folder. HASH is an MD5, SHA-1 or SHA-256: the story of every
path the hash was seen at.`,
		Example: `  foothold file -c case.db 'C:\ProgramData\TPM\TpmVscMgrSvr.exe'
  foothold file -c case.db --json 0f1c6e0d7a3a1b2c3d4e5f60718293a4b5c6d7e8`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Query = args[0]
			return a.runFile(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Case, "case", "c", "", "case file")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the story as JSON")
	cmd.MarkFlagRequired("case")
	return cmd
}

func (a *App) runFile(ctx context.Context, o *FileOptions) error {
	c, err := timeline.OpenExisting(o.Case)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.File(ctx, o.Query)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStory(a.Out, st)
	if len(st.Events) == 0 {
		return &exitError{1, fmt.Errorf("nothing in the case about %s", o.Query)}
	}
	return nil
}

// printStory groups the events by artifact, in the order an investigator
// reads them: where the file came from, what the filesystem says, what ran.
func printStory(out io.Writer, st *timeline.FileStory) {
	fmt.Fprintf(out, "%s  (key %s)\n", st.Query, st.Key)
	if len(st.Paths) > 0 {
		fmt.Fprintf(out, "  paths: %s\n", strings.Join(st.Paths, ", "))
	}
	var hs []string
	for k, v := range st.Hashes {
		hs = append(hs, k+" "+v)
	}
	sort.Strings(hs)
	if len(hs) > 0 {
		fmt.Fprintf(out, "  hashes: %s\n", strings.Join(hs, ", "))
	}
	order := []string{"browser", "mft", "usn", "pe", "prefetch", "amcache", "shimcache", "userassist", "bam", "lnk", "jumplist", "task", "evtx", "registry", "srum"}
	by := map[string][]timeline.Row{}
	for _, r := range st.Events {
		by[r.Artifact] = append(by[r.Artifact], r)
	}
	for _, a := range order {
		rows := by[a]
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(out, "\n%s (%d)\n", a, len(rows))
		for _, r := range rows {
			host := ""
			if r.Host != "" {
				host = "[" + r.Host + "] "
			}
			fmt.Fprintf(out, "  %s %-4s %s%s\n", r.Time, r.MACB, host, r.Message)
		}
		delete(by, a)
	}
	var rest []string
	for a := range by {
		rest = append(rest, a)
	}
	sort.Strings(rest)
	for _, a := range rest {
		fmt.Fprintf(out, "\n%s (%d)\n", a, len(by[a]))
		for _, r := range by[a] {
			fmt.Fprintf(out, "  %s %-4s [%s] %s\n", r.Time, r.MACB, r.Host, r.Message)
		}
	}
}
