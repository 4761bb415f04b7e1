package main

import (
	"compress/bzip2"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/foothold/foothold/timeline"
)

// DemoOptions are the flags of `foothold demo`.
type DemoOptions struct {
	Case  string
	Image string
}

func (a *App) demoCmd() *cobra.Command {
	o := &DemoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Ingest the bundled sample image into a case and show what Foothold finds",
		Long: `Demo unpacks the committed sample disk image (testdata/images/host1.raw.bz2, run from the
repository root), ingests it into a new case and prints the case summary and the
key events: the downloaded installer's Zone.Identifier, the timestomped DLL, and the
USN journal's view of the intrusion.`,
		Example: `  go run -tags sqlite_fts5 ./cmd/foothold demo
  foothold demo -c /tmp/demo.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runDemo(cmd.Context(), o) },
	}
	cmd.Flags().StringVarP(&o.Case, "case", "c", "", "case file to create (default: a new temporary folder)")
	cmd.Flags().StringVar(&o.Image, "image", filepath.Join("testdata", "images", "host1.raw.bz2"), "sample image (.raw or .raw.bz2)")
	return cmd
}

func (a *App) runDemo(ctx context.Context, o *DemoOptions) error {
	dir, err := os.MkdirTemp("", "foothold-demo-")
	if err != nil {
		return err
	}
	img := o.Image
	if strings.HasSuffix(img, ".bz2") {
		raw := filepath.Join(dir, strings.TrimSuffix(filepath.Base(img), ".bz2"))
		if err := bunzip(img, raw); err != nil {
			return fmt.Errorf("demo image %s: %w (run from the repository root, or pass --image)", img, err)
		}
		img = raw
	}
	if o.Case == "" {
		o.Case = filepath.Join(dir, "demo.db")
	}
	fmt.Fprintf(a.Out, "Foothold demo: ingesting %s into %s\n\n", o.Image, o.Case)
	if err := a.runIngest(ctx, &IngestOptions{Case: o.Case, Host: "WS-TRADER01", Evidence: []string{img}, Quiet: true}); err != nil {
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
	printSummary(a.Out, s)
	for _, q := range []struct {
		title string
		f     timeline.Filter
	}{
		{"Downloads (Zone.Identifier)", timeline.Filter{Artifacts: []string{"mft"}, Types: []string{"zone"}}},
		{"Timestomp indicators", timeline.Filter{Artifacts: []string{"mft"}, Types: []string{"timestomp"}}},
		{"USN journal", timeline.Filter{Artifacts: []string{"usn"}, Limit: 40}},
	} {
		fmt.Fprintf(a.Out, "\n%s\n", q.title)
		err := c.Events(ctx, q.f, func(r *timeline.Row) error {
			fmt.Fprintf(a.Out, "  %s  %-4s %s\n", r.Time, r.MACB, r.Message)
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(a.Out, "\nNext: foothold export -c %s -f csv -o timeline.csv\n", o.Case)
	return nil
}

func bunzip(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, bzip2.NewReader(in)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
