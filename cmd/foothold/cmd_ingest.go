package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/foothold/foothold/parsers/disk"
	"github.com/foothold/foothold/parsers/walk"
	"github.com/foothold/foothold/timeline"
)

// IngestOptions are the flags of `foothold ingest`.
type IngestOptions struct {
	Case     string
	Host     string
	Verify   bool
	Quiet    bool
	JSON     bool
	Limit    time.Duration
	Evidence []string
}

// IngestResult is one evidence item's outcome; --json prints a list of them.
type IngestResult struct {
	Evidence  string   `json:"evidence"`
	Kind      string   `json:"kind"`
	Format    string   `json:"format"`
	Host      string   `json:"host"`
	SHA256    string   `json:"sha256"`
	Status    string   `json:"status"` // complete, duplicate, interrupted, failed
	Verified  string   `json:"verified,omitempty"`
	Artifacts int64    `json:"artifacts"`
	Failed    int64    `json:"artifacts_with_errors"`
	Records   int64    `json:"records"`
	Events    int64    `json:"events"`
	Seconds   float64  `json:"seconds"`
	EventsSec float64  `json:"events_per_second"`
	Warnings  []string `json:"warnings,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func (a *App) ingestCmd() *cobra.Command {
	o := &IngestOptions{}
	cmd := &cobra.Command{
		Use:   "ingest -c CASE.db EVIDENCE...",
		Short: "Parse disk images, artifact files or collected folders into the case",
		Long: `Ingest opens each piece of evidence read-only and writes its timeline into the case.

EVIDENCE may be a disk image (raw/dd, split raw .001, E01/EWF with all segments, VMDK,
VHDX), a standalone artifact ($MFT, $J / $UsnJrnl:$J), or a folder of collected files
(KAPE-style C/Windows/... or any tree; artifacts are found by name, then by signature).
Evidence already in the case (same sha256) is recognised and skipped; evidence whose
earlier ingest was interrupted is ingested again.`,
		Example: `  foothold ingest -c case.db WS-TRADER01.E01 DC01.vmdk
  foothold ingest -c case.db --host WS-TRADER01 --verify WS-TRADER01.E01
  foothold ingest -c case.db --host DC01 'kape/DC01/C'
  foothold ingest -c case.db --json '$MFT' '$J'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Evidence = args
			return a.runIngest(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Case, "case", "c", "", "case file (created if missing)")
	f.StringVar(&o.Host, "host", "", "host name for the evidence when nothing in it names the host")
	f.BoolVar(&o.Verify, "verify", false, "verify stored acquisition hashes (E01 MD5/SHA1) before parsing")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress bar or warnings on stderr")
	f.BoolVar(&o.JSON, "json", false, "print a machine-readable summary on stdout")
	f.DurationVar(&o.Limit, "artifact-timeout", 2*time.Hour, "time cap per artifact; a parser past it is stopped and its source marked as an error")
	cmd.MarkFlagRequired("case")
	return cmd
}

// ingestGCPercent: an ingest allocates fast and keeps little (records
// become rows, handed to SQLite and dropped), so collecting at three times
// the live heap rather than twice costs ~20 MB and saves a third of the
// collector's work. Measured on the corpus $MFT: 193k -> 206k events/s,
// peak RSS 135 -> 155 MB. ingestMemoryLimit makes the collector work
// harder instead once the Go heap nears it, so a large live heap (the
// directory names of a huge volume) cannot triple: with SQLite's 64 MiB
// page cache outside it, the process stays under the 300 MB target.
// GOGC and GOMEMLIMIT in the environment still win.
const (
	ingestGCPercent   = 200
	ingestMemoryLimit = 160 << 20
)

func (a *App) runIngest(ctx context.Context, o *IngestOptions) error {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(ingestGCPercent))
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(ingestMemoryLimit))
	}
	c, err := timeline.Open(o.Case)
	if err != nil {
		return err
	}
	defer c.Close()
	var results []IngestResult
	var failed, interrupted bool
	for _, ev := range o.Evidence {
		res := a.ingestOne(ctx, c, o, ev)
		results = append(results, res)
		switch res.Status {
		case "failed":
			failed = true
		case "interrupted":
			interrupted = true
		}
		if !o.JSON {
			a.printResult(res)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if o.JSON {
		enc := json.NewEncoder(a.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	}
	switch {
	case interrupted:
		return &exitError{130, errors.New("interrupted: the case holds what was written; `foothold info` shows what is incomplete")}
	case failed:
		return &exitError{1, errors.New("some evidence failed; `foothold info` lists the errors")}
	}
	return nil
}

func (a *App) printResult(r IngestResult) {
	switch r.Status {
	case "duplicate":
		fmt.Fprintf(a.Out, "%s: already in the case (sha256 %s), skipped\n", r.Evidence, short(r.SHA256))
		return
	}
	failed := ""
	if r.Failed > 0 {
		failed = fmt.Sprintf(" (%d with errors: see foothold info)", r.Failed)
	}
	what := r.Kind + " " + r.Format
	if r.Format == r.Kind || r.Format == "" {
		what = r.Kind // a folder's format is "folder"
	}
	fmt.Fprintf(a.Out, "%s: %s, host %s: %s, %d artifacts%s, %d records, %d events in %.2fs (%.0f events/s)\n",
		r.Evidence, what, r.Host, r.Status, r.Artifacts, failed, r.Records, r.Events, r.Seconds, r.EventsSec)
	if r.Verified != "" {
		fmt.Fprintf(a.Out, "  verify: %s\n", r.Verified)
	}
	if r.Error != "" {
		fmt.Fprintf(a.Out, "  error: %s\n", r.Error)
	}
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// ingestOne takes one piece of evidence through identification, hashing,
// parsing and the case's bookkeeping. Errors end up in the result, so the
// remaining evidence still gets ingested.
func (a *App) ingestOne(ctx context.Context, c *timeline.Case, o *IngestOptions, path string) (res IngestResult) {
	start := a.Now()
	res = IngestResult{Evidence: path}
	fail := func(err error) IngestResult {
		res.Status, res.Error = "failed", err.Error()
		if ctx.Err() != nil {
			res.Status = "interrupted"
		}
		return res
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fail(err)
	}
	kind, format, err := walk.Classify(abs)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	ev := &timeline.Evidence{Path: abs, Format: format, Host: o.Host, Origin: "cli"}
	if ev.Host == "" {
		ev.Host, ev.Origin = hostFromPath(abs), "evidence-name"
	}
	res.Format, res.Host = format, ev.Host
	var img disk.Image
	switch kind {
	case walk.KindImage:
		res.Kind = "image"
		if img, err = disk.Open(abs); err != nil {
			return fail(fmt.Errorf("%s: %w", path, err))
		}
		defer img.Close()
		ev.Format, ev.Size, ev.Files = img.Format(), img.Size(), img.Files()
		ev.Hashes, ev.Metadata = img.Hashes(), img.Metadata()
		res.Format = ev.Format
	case walk.KindArtifact:
		res.Kind = "artifact"
		fi, err := os.Stat(abs)
		if err != nil {
			return fail(err)
		}
		ev.Size, ev.Files = fi.Size(), []string{abs}
	case walk.KindFolder:
		res.Kind = "folder"
		if ev.Files, ev.Size, err = folderFiles(abs); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("%s: not a disk image, a known artifact or a folder", path))
	}
	if ev.QuickID, err = quickID(kind, abs, ev.Files); err != nil {
		return fail(err)
	}

	// A likely re-ingest (same quick id) is confirmed by the full hash before
	// any parsing; new evidence is hashed while it is parsed.
	var hashWait func() (string, error)
	cands, err := c.FindQuick(ctx, ev.QuickID)
	if err != nil {
		return fail(err)
	}
	if len(cands) > 0 {
		if ev.SHA256, err = evidenceHash(ctx, kind, abs, ev.Files); err != nil {
			return fail(err)
		}
		for _, cand := range cands {
			if cand.Path == abs && strings.HasPrefix(cand.SHA256, pendingPrefix) && cand.Status != "ingesting" {
				// Interrupted before its hash was known: it is this evidence.
				if err := c.SetSHA256(ctx, cand.ID, ev.SHA256); err != nil {
					return fail(err)
				}
			}
		}
	} else {
		ev.SHA256 = fmt.Sprintf("%s%d-%d", pendingPrefix, os.Getpid(), a.Now().UnixNano())
		hashWait = hashInBackground(ctx, kind, abs, ev.Files)
	}
	res.SHA256 = ev.SHA256

	if o.Verify {
		res.Verified = a.verify(ctx, img, o)
		ev.Verified = res.Verified
	}

	in, err := c.BeginIngest(ctx, ev)
	if errors.Is(err, timeline.ErrDuplicate) {
		res.Status, res.Host, res.Events = "duplicate", ev.Host, ev.Events
		return res
	}
	if err != nil {
		return fail(err)
	}
	if a.begun != nil {
		a.begun()
	}
	prog := &walk.Progress{}
	var warnings []string
	var wmu sync.Mutex
	wo := walk.Options{Case: in, Evidence: path, Limit: o.Limit, Progress: prog, Warn: func(m string) {
		wmu.Lock()
		warnings = append(warnings, m)
		wmu.Unlock()
	}}
	if kind != walk.KindImage {
		prog.Total.Store(ev.Size)
	}
	stopBar := a.progressBar(o, path, prog)
	switch kind {
	case walk.KindImage:
		err = walk.Walk(ctx, img, wo)
	case walk.KindArtifact:
		err = walk.File(ctx, abs, wo)
	case walk.KindFolder:
		err = walk.Folder(ctx, abs, wo)
	}
	stopBar()
	if ferr := in.Finish(err); ferr != nil && err == nil {
		err = ferr
	}
	// The hash is awaited only now, so that it runs on the second core
	// while Finish builds the indexes on the first. A hash that fails
	// leaves a complete timeline under its provisional id, which the next
	// ingest of the same file resolves (see the quick-id path above).
	var sha string
	if hashWait != nil {
		var herr error
		if sha, herr = hashWait(); herr != nil && err == nil {
			err = fmt.Errorf("hashing %s: %w", path, herr)
		}
	}
	if sha != "" {
		if serr := c.SetSHA256(ctx, ev.ID, sha); serr != nil {
			err = errors.Join(err, fmt.Errorf("recording sha256: %w (is this evidence already in the case under another name?)", serr))
		} else {
			res.SHA256 = sha
		}
	}
	res.Status = in.Evidence.Status
	if err != nil && res.Status != "interrupted" {
		res.Error = err.Error()
	}
	res.Artifacts, res.Records, res.Events = prog.Sources.Load(), prog.Records.Load(), prog.Events.Load()
	res.Failed = prog.Failed.Load()
	res.Seconds = a.Now().Sub(start).Seconds()
	if res.Seconds > 0 {
		res.EventsSec = float64(res.Events) / res.Seconds
	}
	res.Warnings = warnings
	if !o.Quiet && !o.JSON {
		for _, w := range warnings {
			fmt.Fprintln(a.Err, "warning:", w)
		}
	}
	return res
}

const pendingPrefix = "pending-"

func (a *App) verify(ctx context.Context, img disk.Image, o *IngestOptions) string {
	if img == nil || len(img.Hashes()) == 0 {
		return "no stored hash to verify"
	}
	r, err := disk.Verify(ctx, img, nil)
	if err != nil {
		return "error: " + err.Error()
	}
	return verifyText(r)
}

// verifyText says what was compared, so "ok" can never hide a hash that was
// not checked.
func verifyText(r disk.VerifyResult) string {
	var parts []string
	for _, name := range r.Compared {
		state := "ok"
		for _, m := range r.Mismatch {
			if m == name {
				state = fmt.Sprintf("MISMATCH (stored %s, computed %s)", r.Stored[name], r.Computed[name])
			}
		}
		parts = append(parts, fmt.Sprintf("%s %s", name, state))
	}
	if len(parts) == 0 {
		return "no stored hash to verify"
	}
	verdict := "ok"
	if !r.OK() {
		verdict = "FAILED"
	}
	return fmt.Sprintf("%s: %s over %d bytes", verdict, strings.Join(parts, ", "), r.Bytes)
}

// hostFromPath names a host after its evidence (WS-TRADER01.E01 →
// WS-TRADER01) until the registry says otherwise.
func hostFromPath(p string) string {
	base := filepath.Base(p)
	for {
		ext := filepath.Ext(base)
		if ext == "" || ext == base || len(ext) > 6 {
			break
		}
		base = strings.TrimSuffix(base, ext)
	}
	if base == "" || strings.HasPrefix(base, "$") {
		return "unknown"
	}
	return base
}

// progressBar draws ingest progress on a terminal: bytes read (with rate
// and ETA when the total is known), records and events.
func (a *App) progressBar(o *IngestOptions, name string, p *walk.Progress) func() {
	if o.Quiet || o.JSON || !a.IsTTY() {
		return func() {}
	}
	total := p.Total.Load()
	max := total
	if max <= 0 {
		max = -1 // spinner: an image's reads are not known in advance
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(a.Err),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(150*time.Millisecond),
		progressbar.OptionSetPredictTime(total > 0),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription(filepath.Base(name)))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ev := p.Events.Load()
				rate := float64(ev) / time.Since(start).Seconds()
				bar.Describe(fmt.Sprintf("%s: %d records, %d events (%.0f/s)", filepath.Base(name), p.Records.Load(), ev, rate))
				bar.Set64(p.Bytes.Load())
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		bar.Finish()
	}
}
