// Command foothold builds forensic timelines of Windows hosts from disk
// images and collected files into one SQLite case.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// App carries what every command needs, injected so tests can replace the
// streams and the clock.
type App struct {
	Out, Err io.Writer
	Now      func() time.Time
	IsTTY    func() bool // is stderr a terminal (progress bars)
	// begun, if set, runs once an evidence item is registered in the case;
	// tests use it to interrupt an ingest at a known point.
	begun func()
}

// exitError carries a process exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &App{Out: os.Stdout, Err: os.Stderr, Now: time.Now, IsTTY: stderrIsTerminal}
	root := app.rootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "foothold:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

func (a *App) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "foothold",
		Short: "Forensic timelines of Windows hosts, from disk images to one SQLite case",
		Long: `Foothold ingests disk images (raw, split raw, E01, VMDK, VHDX), standalone artifacts and
collected folders into one SQLite case file, and exports the timeline for other tools.
All times are UTC with 100 ns precision.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.Out)
	root.SetErr(a.Err)
	root.AddCommand(a.ingestCmd(), a.exportCmd(), a.infoCmd(), a.demoCmd(), a.forgeCmd())
	root.AddCommand(a.fileCmd())
	root.AddCommand(a.tuiCmd())
	root.AddCommand(a.hostsCmd(), a.edgesCmd(), a.traceCmd())
	return root
}
