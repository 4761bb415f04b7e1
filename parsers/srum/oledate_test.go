package srum

import (
	"bufio"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foothold/foothold/internal/testimg"

	"github.com/Velocidex/ordereddict"
	"github.com/foothold/foothold/parsers/event"
)

// TestOLEDate: values worked out by hand (exact fractions, checked with
// Python's fractions module), from the OLE rules: day 0 is 1899-12-30, a
// negative date's fraction counts forward from its day's midnight.
func TestOLEDate(t *testing.T) {
	const day0 = 94353120000000000 // 1899-12-30T00:00:00: 109205 days * 864e9
	for _, c := range []struct {
		days float64
		want event.FileTime
		iso  string
	}{
		{0, day0, "1899-12-30T00:00:00.0000000Z"},
		{1, day0 + ticksPerDay, "1899-12-31T00:00:00.0000000Z"},
		{2, day0 + 2*ticksPerDay, "1900-01-01T00:00:00.0000000Z"},
		{2.5, day0 + 2*ticksPerDay + ticksPerDay/2, "1900-01-01T12:00:00.0000000Z"},
		{0.25, day0 + ticksPerDay/4, "1899-12-30T06:00:00.0000000Z"},
		// Negative: -1.25 is one day back, then +6 h; -0.5 is the same
		// instant as 0.5.
		{-1.25, day0 - ticksPerDay + ticksPerDay/4, "1899-12-29T06:00:00.0000000Z"},
		{-0.5, day0 + ticksPerDay/2, "1899-12-30T12:00:00.0000000Z"},
		{-2.75, day0 - 2*ticksPerDay + 3*ticksPerDay/4, "1899-12-28T18:00:00.0000000Z"},
		// 1/3 as a double is (2^54-1)/(3*2^54): 288e9 - 1.6e-5 ticks,
		// which rounds to 08:00 exactly.
		{1.0 / 3, day0 + 288_000_000_000, "1899-12-30T08:00:00.0000000Z"},
		// The go-ese sample's network row 6: 2021-10-07 08:54 is OLE day
		// 44476 + 534/1440, stored as 0x40E5B78BDDDDDDDE, which is
		// 83.8 ns after 08:54 (esedbexport prints .000000083): nearest
		// tick is +1. go-ese gave 08:53:59.
		{math.Float64frombits(0x40E5B78BDDDDDDDE), 132780704400000001, "2021-10-07T08:54:00.0000001Z"},
		// One ulp above 2021-10-07 00:00 (OLE day 44476) is 2^-37 day,
		// 6.29 ticks: 6.
		{44476 + math.Ldexp(1, -37), 132780384000000006, "2021-10-07T00:00:00.0000006Z"},
		// Range ends: 1601-01-01 12:00 (day -109205, +0.5) and
		// 9999-12-31 (day 2958465).
		{-109205.5, ticksPerDay / 2, "1601-01-01T12:00:00.0000000Z"},
		{2958465, (2958465 + 109205) * ticksPerDay, "9999-12-31T00:00:00.0000000Z"},
		// The last double before day 2958466: 2958465 + (1-2^-31),
		// 863999999597.67 ticks into the day.
		{math.Nextafter(2958466, 0), 2650467743999999598, "9999-12-31T23:59:59.9999598Z"},
		// A FILETIME misread as a double is a tiny number: 1899-12-30.
		{math.Float64frombits(0x01d7bb4f4a0c9e40), day0, "1899-12-30T00:00:00.0000000Z"},
	} {
		got, err := OLEDate(c.days)
		if err != nil || got != c.want || got.String() != c.iso {
			t.Errorf("OLEDate(%v) = %d %s, %v; want %d %s", c.days, got, got, err, c.want, c.iso)
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -109206, -1e300, 2958466, 1e300} {
		if got, err := OLEDate(bad); err == nil || got != 0 {
			t.Errorf("OLEDate(%v) = %d, %v; want 0 and an error", bad, got, err)
		}
	}
}

// TestFracTicksExact checks the integer rounding against math/big on
// random and edge fractions: f*864e9 rounded half to even.
func TestFracTicksExact(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	fs := []float64{0, math.SmallestNonzeroFloat64, 0.5, math.Nextafter(1, 0), math.Nextafter(0.5, 0), 1.0 / 3,
		1.0 / (1 << 14), 3.0 / (1 << 15), math.Ldexp(1, -40), math.Ldexp(1, -41), math.Ldexp(3, -41)}
	for i := 0; i < 200000; i++ {
		switch i % 3 {
		case 0:
			fs = append(fs, r.Float64())
		case 1: // fractions of real SRUM-like dates
			d := 40000 + r.Float64()*20000
			fs = append(fs, d-math.Trunc(d))
		default: // small exponents, down to subnormals
			fs = append(fs, math.Ldexp(r.Float64(), -r.Intn(1075)))
		}
	}
	for _, f := range fs {
		if got, want := fracTicks(f), bigFracTicks(f); got != want {
			t.Fatalf("fracTicks(%v = %#x) = %d, want %d", f, math.Float64bits(f), got, want)
		}
	}
}

// bigFracTicks is fracTicks done with math/big: f*864e9 rounded half to
// even.
func bigFracTicks(f float64) uint64 {
	exact := new(big.Rat).Mul(new(big.Rat).SetFloat64(f), new(big.Rat).SetInt64(ticksPerDay))
	q := new(big.Int).Quo(exact.Num(), exact.Denom())
	rem := new(big.Rat).Sub(exact, new(big.Rat).SetInt(q))
	switch c := rem.Cmp(big.NewRat(1, 2)); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		q.Add(q, big.NewInt(1))
	}
	return q.Uint64()
}

// FuzzOLEDate: any 8 bytes give either an error and 0, or the big.Rat
// value of OLE semantics, never a panic.
func FuzzOLEDate(f *testing.F) {
	for _, b := range []uint64{0x40E5B78BDDDDDDDE, 0x40e5b8517d27d27d, 0, 0x7ff8000000000001, 0xbff4000000000000} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b uint64) {
		d := math.Float64frombits(b)
		got, err := OLEDate(d)
		if err != nil {
			if got != 0 {
				t.Fatalf("%v: %d with error %v", d, got, err)
			}
			return
		}
		whole := math.Trunc(d)
		if whole < -oleEpochDays || whole > oleMaxDays {
			t.Fatalf("%v accepted: %d", d, got)
		}
		frac := bigFracTicks(math.Abs(d - whole))
		if want := uint64(int64(whole)+oleEpochDays)*ticksPerDay + frac; uint64(got) != want {
			t.Fatalf("%v: %d, want %d", d, got, want)
		}
	})
}

// TestDateValueFlags: column flag 1 is a FILETIME, kept at 100 ns.
func TestDateValueFlags(t *testing.T) {
	if got, err := dateValue(132780704400001234, 1); err != nil || got != 132780704400001234 {
		t.Errorf("FILETIME column: %d, %v", got, err)
	}
	if got, err := dateValue(0x40E5B78BDDDDDDDE, 0); err != nil || got != 132780704400000001 {
		t.Errorf("OLE column: %d, %v", got, err)
	}
	if got, err := dateValue(0x7ff8000000000001, 0); err == nil || got != 0 {
		t.Errorf("NaN: %d, %v", got, err)
	}
}

// TestRowTimes: a row as go-ese hands it over after rawDates. TimeStamp
// and any other DateTime column are decoded from their raw bits, a bad
// one gives time 0 and an error field, and the FILETIME integer columns
// keep 100 ns. Values as in the go-ese sample's network connectivity
// table, row 2 (raw 132780668556499330; esedbexport: ConnectStartTime
// Oct 07, 2021 07:54:15.649933000).
func TestRowTimes(t *testing.T) {
	p := provider{NetworkTable, "network_usage", "network usage"}
	row := func(ts any) *ordereddict.Dict {
		return ordereddict.NewDict().Set("AutoIncId", int32(2)).Set("TimeStamp", ts).
			Set("AppId", int32(1)).Set("UserId", int32(2)).
			Set("ConnectStartTime", uint64(132780668556499330)).
			Set("EndTime", uint64(132780683400001224)).
			Set("Other", uint64(0x40E5B78BDDDDDDDE)).
			Set("BytesSent", uint64(132780668556499330))
	}
	dates := map[string]uint32{"TimeStamp": 0, "Other": 0}
	e, err := rowEvent(p, row(uint64(0x40E5B78BDDDDDDDE)), nil, dates)
	if err != nil {
		t.Fatal(err)
	}
	if e.Time != 132780704400000001 {
		t.Errorf("time %d %s", e.Time, e.Time)
	}
	want := map[string]any{
		"connect_start_time": event.FileTime(132780668556499330),
		"end_time":           event.FileTime(132780683400001224),
		"other":              event.FileTime(132780704400000001),
		"bytes_sent":         uint64(132780668556499330), // not a time
	}
	for k, w := range want {
		if v, _ := e.Get(k); v != w {
			t.Errorf("%s = %#v, want %#v", k, v, w)
		}
	}
	if v, _ := e.Get("connect_start_time"); v.(event.FileTime).String() != "2021-10-07T07:54:15.6499330Z" {
		t.Errorf("connect_start_time %s", v)
	}
	if _, ok := e.Get("time_error"); ok {
		t.Error("time_error on a good row")
	}

	for _, bad := range []any{uint64(0x7ff0000000000000), uint64(0xfff8000000000000), nil, []any{uint64(1), uint64(2)}} {
		e, err := rowEvent(p, row(bad), nil, dates)
		if err != nil {
			t.Fatalf("%v: %v", bad, err)
		}
		if v, ok := e.Get("time_error"); !ok || e.Time != 0 {
			t.Errorf("TimeStamp %#v: time %d, time_error %v", bad, e.Time, v)
		}
	}
}

// TestTimeStampsEsedbexport compares the time of every app_usage and
// network_usage event of every SRUDB.dat in the corpus with the TimeStamp
// esedbexport prints for the row of the same AutoIncId.
//
// Precision: esedbexport (libfdatetime floatingtime) prints date times
// with nine fractional digits, obtained by peeling hours, minutes,
// seconds, milli-, micro- and nanoseconds off the fraction of the day in
// floating point and truncating each: its figure is the exact value of
// the double truncated to the nanosecond (its float error is about
// 0.01 ns). Ours is the exact value rounded to 100 ns, so ours must be
// that figure rounded to 100 ns, i.e. (ns+50)/100 in ticks, except when
// its last two digits are 49 or 50, where truncation hides on which side
// of the half tick the exact value lies and either neighbour is accepted.
//
// Quirk: libfdatetime 20181229 casts the milli-, micro- and nanosecond
// groups to uint8, so each three-digit group is printed modulo 256
// (exact 279 ns prints as 023, 265 as 009, .999999902 as .231231134; we
// checked these values by hand from the raw doubles). Each group is
// restored as the value ≡ it mod 256 below 1000 that lies nearest ours;
// candidates are 256 units apart and ours is within 51 ns of the exact
// value, so only an error of a multiple of 256 in a group could hide.
//
// Exception: Win11/RathbunVM/Dirty, whose header esedbexport rejects
// (see TestEsedbexport).
func TestTimeStampsEsedbexport(t *testing.T) {
	if _, err := exec.LookPath("esedbexport"); err != nil {
		t.Skip("esedbexport not installed")
	}
	root := filepath.Join(testimg.Corpus(t), "srum")
	var rows, exact, boundary, wrapped int64
	var maxDiff int64 // |ours - esedbexport| in ns
	for _, db := range corpusDBs(t) {
		rel, _ := filepath.Rel(root, db)
		rel = filepath.ToSlash(rel)
		if rel == "DFIRArtifactMuseum/Win11/RathbunVM/Dirty/SRUDB.dat" {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			_, evs, _, err := parseDB(t, db)
			if err != nil {
				t.Errorf("Parse: %v", err)
			}
			ours := map[string]event.FileTime{}
			for _, e := range evs {
				table, _ := e.Get("table")
				id, _ := e.Get("auto_inc_id")
				if _, bad := e.Get("time_error"); bad {
					t.Errorf("%s row %v: %v", table, id, e.Fields)
				}
				ours[fmt.Sprintf("%v/%v", table, id)] = e.Time
			}
			dir, err := esedbexportDir(t, db)
			if err != nil {
				t.Fatalf("esedbexport: %v", err)
			}
			theirs := 0
			for _, table := range []string{AppResourceTable, NetworkTable} {
				for id, ts := range exportedTimeStamps(t, dir, table) {
					theirs++
					key := table + "/" + id
					got, ok := ours[key]
					if !ok {
						t.Errorf("%s: no event", key)
						continue
					}
					secs, ns := parseLibfdatetime(t, ts)
					// Ticks past the second esedbexport names; small
					// whenever the two agree.
					off := int64(got) - secs*10_000_000
					if r := unwrap256(ns, off*100); r != ns {
						wrapped++
						ns = r
					}
					diff := off*100 - ns
					if diff < 0 {
						diff = -diff
					}
					if diff > maxDiff {
						maxDiff = diff
					}
					rows++
					want := (ns + 50) / 100
					if r := ns % 100; r == 49 || r == 50 {
						boundary++
						if off != ns/100 && off != ns/100+1 {
							t.Errorf("%s: %s, esedbexport %s", key, got, ts)
						}
						continue
					}
					exact++
					if off != want {
						t.Errorf("%s: %s, esedbexport %s", key, got, ts)
					}
				}
			}
			if theirs != len(ours) {
				t.Errorf("%d events, esedbexport %d rows", len(ours), theirs)
			}
		})
	}
	t.Logf("%d rows compared: %d equal to esedbexport rounded to 100 ns, %d on a half tick (either neighbour); "+
		"%d printed modulo 256; max |difference| %d ns", rows, exact, boundary, wrapped, maxDiff)
	if rows == 0 {
		t.Error("no rows compared")
	}
}

// unwrap256 restores a nanosecond-of-second figure whose milli-, micro-
// and nanosecond groups esedbexport printed modulo 256: of the values
// whose groups are congruent to those printed, the one nearest near.
func unwrap256(printed, near int64) int64 {
	ms, us, ns := printed/1_000_000, printed/1000%1000, printed%1000
	best := printed
	for a := ms; a < 1000; a += 256 {
		for b := us; b < 1000; b += 256 {
			for c := ns; c < 1000; c += 256 {
				v := a*1_000_000 + b*1000 + c
				if abs64(v-near) < abs64(best-near) {
					best = v
				}
			}
		}
	}
	return best
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// exportedTimeStamps reads esedbexport's file for table: AutoIncId to
// TimeStamp text.
func exportedTimeStamps(t *testing.T, dir, table string) map[string]string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, table+".*"))
	if len(m) != 1 {
		return nil // the table is not in this database
	}
	f, err := os.Open(m[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	out := map[string]string{}
	idCol, tsCol := -1, -1
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if idCol < 0 {
			for i, c := range cols {
				switch c {
				case "AutoIncId":
					idCol = i
				case "TimeStamp":
					tsCol = i
				}
			}
			if idCol < 0 || tsCol < 0 {
				t.Fatalf("%s: header %q", m[0], cols)
			}
			continue
		}
		out[cols[idCol]] = cols[tsCol]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// parseLibfdatetime reads "Oct 07, 2021 08:54:00.000000083" into seconds
// since 1601-01-01 and nanoseconds (a nanosecond count since 1601 would
// overflow int64).
func parseLibfdatetime(t *testing.T, s string) (secs, ns int64) {
	t.Helper()
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 || len(s)-dot != 10 {
		t.Fatalf("esedbexport time %q: want nine fractional digits", s)
	}
	tm, err := time.Parse("Jan 02, 2006 15:04:05", s[:dot])
	if err != nil {
		t.Fatalf("esedbexport time %q: %v", s, err)
	}
	ns, err = strconv.ParseInt(s[dot+1:], 10, 64)
	if err != nil {
		t.Fatalf("esedbexport time %q: %v", s, err)
	}
	return tm.Unix() + 11644473600, ns
}
