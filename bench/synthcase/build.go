package synthcase

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	fevtx "github.com/foothold/foothold/forge/evtx"
	"github.com/foothold/foothold/forge/scenario"
	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/evtx"
	"github.com/foothold/foothold/parsers/registry"
	"github.com/foothold/foothold/timeline"
)

// Options size the case.
type Options struct {
	Events   int64     // at least this many events in all; default 10,000,000
	Density  float64   // the forge's background density (0..5); default 5
	Progress io.Writer // one line per host; nil for none
}

// Info describes a built case.
type Info struct {
	Version    int
	Hosts      int   // collected hosts (one evidence each)
	Events     int64 // events in the case
	EVTXEvents int64 // of which from the forged event logs
	Seconds    float64
	Truth      *scenario.Truth
}

// Build writes the synthetic case to path (a new case file) through the
// case writer, one evidence per collected host.
func Build(ctx context.Context, path string, opts Options) (*Info, error) {
	start := time.Now()
	if opts.Events <= 0 {
		opts.Events = 10_000_000
	}
	if opts.Density <= 0 {
		opts.Density = 5
	}
	s := Scenario(opts.Density)
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("synthcase: scenario: %w", err)
	}
	res, err := scenario.Generate(s)
	if err != nil {
		return nil, fmt.Errorf("synthcase: forge: %w", err)
	}
	var records int64
	collected := 0
	for _, hr := range res.Hosts {
		if !hr.Host.Collected {
			continue
		}
		collected++
		for _, recs := range hr.Logs {
			records += int64(len(recs))
		}
	}
	filler := (opts.Events - records + int64(collected) - 1) / int64(collected)
	if filler < 0 {
		filler = 0
	}
	c, err := timeline.Open(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	info := &Info{Version: Version, Truth: res.Truth}
	for _, hr := range res.Hosts {
		if !hr.Host.Collected {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		n, ne, err := ingestHost(ctx, c, s, hr, filler)
		if err != nil {
			return nil, fmt.Errorf("synthcase: host %s: %w", hr.Host.Name, err)
		}
		hr.Logs = nil // the forge's records are the bulk of the memory
		hr.Spec = nil
		info.Hosts++
		info.EVTXEvents += ne
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "synthcase: %s: %d events (%d evtx) in %.1fs\n", hr.Host.Name, n, ne, time.Since(t0).Seconds())
		}
	}
	if err := c.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&info.Events); err != nil {
		return nil, err
	}
	info.Seconds = time.Since(start).Seconds()
	return info, nil
}

// counter counts what a parser emits into a source.
type counter struct {
	event.Sink
	n int64
}

func (c *counter) Emit(e *event.Event) error { c.n++; return c.Sink.Emit(e) }

func ingestHost(ctx context.Context, c *timeline.Case, s *scenario.Scenario, hr *scenario.HostResult, filler int64) (total, evtxEvents int64, err error) {
	h := hr.Host
	sum := sha256.Sum256([]byte(fmt.Sprintf("synthcase v%d %s", Version, h.Name)))
	in, err := c.BeginIngest(ctx, &timeline.Evidence{Path: "synthcase/" + h.Name + ".raw", Format: "synthetic",
		SHA256: hex.EncodeToString(sum[:]), Host: h.Name, Origin: "cli"})
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if ferr := in.Finish(err); err == nil {
			err = ferr
		}
	}()
	fqdn := s.FQDN(h)
	offset := time.Duration(h.ClockOffset)
	last := h.Addresses[len(h.Addresses)-1]
	itf := registry.Interface{GUID: "{4d36e972-e325-11ce-bfc1-08002be10318}", IP: last.IP, Mask: "255.255.0.0", DHCP: !last.Static, Domain: s.Organisation.DNS}
	if !last.Static {
		obtained := s.Start.Add(-24 * time.Hour)
		if len(h.Addresses) > 1 {
			obtained = h.Addresses[len(h.Addresses)-2].Until
		}
		itf.LeaseObtained = event.FromTime(obtained.Add(offset))
		itf.LeaseExpires = event.FromTime(obtained.Add(offset + 8*24*time.Hour))
	}
	var nrec int64
	for _, recs := range hr.Logs {
		nrec += int64(len(recs))
	}
	in.SetHost(event.Host{Name: h.Name, Domain: s.Organisation.Domain, OS: strings.TrimSpace(h.OS.Product + " " + h.OS.Version),
		TZ: h.TimeZone, Origin: "registry", Details: map[string]any{
			"hostname": h.Name, "interfaces": []registry.Interface{itf},
			"computers_in_event_logs": map[string]int64{fqdn: nrec},
		}})

	channels := make([]string, 0, len(hr.Logs))
	for ch := range hr.Logs {
		channels = append(channels, ch)
	}
	sort.Strings(channels)
	var buf bytes.Buffer
	for _, ch := range channels {
		name := scenario.ChannelFile(ch)
		if name == "" {
			name = strings.ReplaceAll(ch, "/", "%4") + ".evtx"
		}
		buf.Reset()
		if err := fevtx.Write(&buf, hr.Logs[ch]); err != nil {
			return 0, 0, fmt.Errorf("writing %s: %w", name, err)
		}
		full := `\Windows\System32\winevt\Logs\` + name
		src := in.BeginSource(0, full, "evtx", event.EVTX)
		cnt := &counter{Sink: src}
		st, perr := evtx.ParseFile(ctx, name, bytes.NewReader(buf.Bytes()), int64(buf.Len()), cnt)
		src.Done(st.Records, st.Errors, perr)
		if perr != nil {
			return 0, 0, fmt.Errorf("parsing %s: %w", name, perr)
		}
		evtxEvents += cnt.n
	}
	n, err := emitFiller(in, s, h, filler)
	return evtxEvents + n, evtxEvents, err
}

// hostRand is the host's filler generator: fixed per version and host.
func hostRand(h *scenario.Host) *rand.Rand {
	f := fnv.New64a()
	fmt.Fprintf(f, "synthcase v%d filler %s", Version, h.Name)
	return rand.New(rand.NewPCG(f.Sum64(), uint64(Version)))
}
