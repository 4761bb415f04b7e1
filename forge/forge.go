// Package forge builds a forged case: from a scenario file, one disk image
// per collected host (in the host's container format) and truth.json.
package forge

import (
	"crypto/x509/pkix"
	"os/exec"
	"time"

	"context"
	"encoding/json"
	"fmt"
	"github.com/foothold/foothold/forge/artifacts"
	"io"
	"os"
	"path/filepath"
	"strings"

	fdisk "github.com/foothold/foothold/forge/disk"
	"github.com/foothold/foothold/forge/scenario"
)

// Options tune Run.
type Options struct {
	// TruthOnly writes truth.json (and the logs, if LogsDir is set) without
	// building images, so it runs without root, FUSE or the disk tools.
	TruthOnly bool
	// Hosts limits the images built to these host names (all when empty).
	Hosts []string
	// Progress receives one line per step; nil is quiet.
	Progress io.Writer
	// Pack leaves each host's images as images/HOST.tar.bz2 plus
	// images/SHA256SUMS, the form committed under testdata/cases.
	Pack bool
}

// Run forges the scenario at scenarioPath into outDir: outDir/truth.json
// and outDir/images/HOST/... per collected host.
func Run(ctx context.Context, scenarioPath, outDir string, opts Options) error {
	s, err := scenario.Load(scenarioPath)
	if err != nil {
		return err
	}
	if !opts.TruthOnly {
		if err := fdisk.Available(); err != nil {
			return fmt.Errorf("forge: cannot build images here: %w (use truth-only to write the truth without images)", err)
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("forge: %w", err)
	}
	var gopts scenario.Options
	if !opts.TruthOnly {
		sign, cleanup, err := testCASigner(outDir, s.Start)
		if err != nil {
			return err
		}
		defer cleanup()
		gopts.Sign = sign
	}
	res, err := scenario.GenerateWith(s, gopts)
	if err != nil {
		return fmt.Errorf("forge %s: %w", scenarioPath, err)
	}
	say := func(format string, a ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", a...)
		}
	}
	want := func(name string) bool {
		if len(opts.Hosts) == 0 {
			return true
		}
		for _, h := range opts.Hosts {
			if strings.EqualFold(h, name) {
				return true
			}
		}
		return false
	}
	res.Truth.Images = map[string][]string{}
	for _, hr := range res.Hosts {
		if hr.Spec == nil || opts.TruthOnly || !want(hr.Host.Name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := filepath.Join(outDir, "images", hr.Host.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("forge: %w", err)
		}
		tmp, err := os.MkdirTemp(outDir, ".build-")
		if err != nil {
			return fmt.Errorf("forge: %w", err)
		}
		raw := filepath.Join(tmp, hr.Host.Name+".raw")
		say("%s: building %d-operation %s disk", hr.Host.Name, len(hr.Spec.Ops), hr.Spec.Scheme)
		if err := fdisk.Build(ctx, *hr.Spec, raw); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("forge host %s: %w", hr.Host.Name, err)
		}
		files, err := fdisk.Convert(ctx, raw, hr.Host.Image.Container, dir)
		os.RemoveAll(tmp)
		if err != nil {
			return fmt.Errorf("forge host %s: container %s: %w", hr.Host.Name, hr.Host.Image.Container, err)
		}
		for _, f := range files {
			rel, _ := filepath.Rel(outDir, f)
			res.Truth.Images[hr.Host.Name] = append(res.Truth.Images[hr.Host.Name], filepath.ToSlash(rel))
		}
		say("%s: %s", hr.Host.Name, strings.Join(res.Truth.Images[hr.Host.Name], ", "))
	}
	if opts.Pack && !opts.TruthOnly {
		if err := pack(outDir, res.Truth.Images, s.CollectedAt); err != nil {
			return err
		}
		say("packed: %s", filepath.Join(outDir, "images", "*.tar.bz2"))
	}
	b, err := json.MarshalIndent(res.Truth, "", "  ")
	if err != nil {
		return fmt.Errorf("forge: truth: %w", err)
	}
	if err := os.WriteFile(filepath.Join(outDir, "truth.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("forge: %w", err)
	}
	say("truth: %d edges, %d key events", len(res.Truth.Edges), len(res.Truth.KeyEvents))
	return nil
}

// testCASigner makes a throw-away code-signing CA for the case (in a
// temporary directory under outDir, removed by cleanup) and returns a
// signer that issues one certificate per publisher.
func testCASigner(outDir string, start time.Time) (func([]byte, string, time.Time) ([]byte, error), func(), error) {
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		return nil, nil, fmt.Errorf("forge: osslsigncode not installed (needed to sign the case's PE files)")
	}
	dir, err := os.MkdirTemp(outDir, ".ca-")
	if err != nil {
		return nil, nil, fmt.Errorf("forge: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	ca, err := artifacts.NewTestCA(dir, start.AddDate(-2, 0, 0))
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("forge: test CA: %w", err)
	}
	signers := map[string]*artifacts.Signer{}
	sign := func(img []byte, publisher string, at time.Time) ([]byte, error) {
		sg := signers[publisher]
		if sg == nil {
			file := strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
					return r
				}
				return '-'
			}, publisher)
			var err error
			if sg, err = ca.Issue(fmt.Sprintf("signer%d-%s", len(signers), file), pkix.Name{CommonName: publisher, Organization: []string{publisher}, Country: []string{"US"}}); err != nil {
				return nil, err
			}
			signers[publisher] = sg
		}
		return artifacts.Sign(img, sg, at)
	}
	return sign, cleanup, nil
}
