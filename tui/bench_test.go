package tui

import (
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/foothold/foothold/timeline"
)

// The benchmarks share one generated case (FOOTHOLD_TUI_BENCH_EVENTS
// events, default 1,000,000, half on WS1 and half on DC01) written through
// the ingest writer, as ingest would.
var (
	benchOnce sync.Once
	benchPath string
	benchDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchCase(b *testing.B) *timeline.Case {
	benchOnce.Do(func() {
		n := 1_000_000
		if s := os.Getenv("FOOTHOLD_TUI_BENCH_EVENTS"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		dir, err := os.MkdirTemp("", "foothold-tui-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = dir
		benchPath = makeCase(b, dir, n/2)
	})
	return openCase(b, benchPath)
}

// BenchmarkFirstScreen: open the model and load the first page at 80×24.
func BenchmarkFirstScreen(b *testing.B) {
	c := benchCase(b)
	b.ResetTimer()
	for b.Loop() {
		m := newModel(b, c, 80, 24)
		if len(m.Items()) == 0 {
			b.Fatal("empty first screen")
		}
	}
}

// benchFilter measures one filter change: the keystroke that submits it to
// the first page on screen.
func benchFilter(b *testing.B, query string) {
	c := benchCase(b)
	m := newModel(b, c, 80, 24)
	var lat latencies
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		m.input.SetValue(query)
		m.mode = modeFilter
		drive(m, tea.KeyPressMsg{Code: tea.KeyEnter})
		lat.add(t)
		if m.errText != "" {
			b.Fatal(m.errText)
		}
	}
	lat.report(b)
}

// latencies collects each keystroke's time so a benchmark can report the
// 95th percentile the issue asks for, not only the mean.
type latencies []time.Duration

func (l *latencies) add(start time.Time) { *l = append(*l, time.Since(start)) }

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)*95/100].Microseconds())/1000, "p95-ms")
}

func BenchmarkFilterHost(b *testing.B)        { benchFilter(b, "host:DC01") }
func BenchmarkFilterHostEvent(b *testing.B)   { benchFilter(b, "host:DC01 event:4625") }
func BenchmarkFilterFreeText(b *testing.B)    { benchFilter(b, "499999") }
func BenchmarkFilterCommonWord(b *testing.B)  { benchFilter(b, "number") }
func BenchmarkFilterCommonRare(b *testing.B)  { benchFilter(b, "number 499999") }
func BenchmarkFilterUserNegate(b *testing.B)  { benchFilter(b, "user:user3 -host:WS1") }
func BenchmarkFilterLogonPivot(b *testing.B)  { benchFilter(b, "logon:0x1002") }
func BenchmarkFilterTagBookmark(b *testing.B) { benchFilter(b, "tag:bookmark") }

// BenchmarkScrollPage: one pgdown keystroke deep in the case, including
// the keyset page reads it triggers.
func BenchmarkScrollPage(b *testing.B) { benchKey(b, tea.KeyPressMsg{Code: tea.KeyPgDown}) }

// BenchmarkJumpToEnd: G, the last page by a descending keyset read.
func BenchmarkJumpToEnd(b *testing.B) { benchKey(b, tea.KeyPressMsg{Code: 'G', Text: "G"}) }

// benchKey times one keystroke, repeated, on an 80x24 screen.
func benchKey(b *testing.B, key tea.KeyPressMsg) {
	c := benchCase(b)
	m := newModel(b, c, 80, 24)
	var lat latencies
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		drive(m, key)
		lat.add(t)
	}
	lat.report(b)
}

// BenchmarkViewLocalTime: one screen drawn with the time column in host
// local time (zone rules looked up per visible row).
func BenchmarkViewLocalTime(b *testing.B) {
	c := benchCase(b)
	if _, err := c.DB.Exec(`UPDATE hosts SET tz = 'Eastern Standard Time'`); err != nil {
		b.Fatal(err)
	}
	m := newModel(b, c, 200, 60)
	drive(m, tea.KeyPressMsg{Code: 'z', Text: "z"})
	if m.timeMode != timeLocal {
		b.Fatal("not in local time")
	}
	b.ResetTimer()
	for b.Loop() {
		_ = m.View()
	}
}
