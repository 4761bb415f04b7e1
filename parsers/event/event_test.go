package event

import (
	"math/rand"
	"testing"
	"time"
)

// AppendISO does its own calendar arithmetic for speed; time.Format is the
// independent reference it must agree with everywhere in years 1601-9999.
func TestAppendISOMatchesTimeFormat(t *testing.T) {
	ref := func(f FileTime) string {
		t := f.Time()
		return t.Format("2006-01-02T15:04:05") + "." + pad7(uint64(f)%10_000_000) + "Z"
	}
	max := uint64(FromTime(time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)))
	cases := []FileTime{1, 9_999_999, 10_000_000, 864_000_000_000, FileTime(max),
		FromTime(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)),
		FromTime(time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC)),
		FromTime(time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC)),
		FromTime(time.Date(1700, 2, 28, 12, 0, 0, 0, time.UTC)),
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		cases = append(cases, FileTime(1+r.Uint64()%max))
	}
	for _, f := range cases {
		if got, want := f.String(), ref(f); got != want {
			t.Fatalf("%d: %s, time.Format gives %s", uint64(f), got, want)
		}
	}
	if s := FileTime(max + 10_000_000).String(); s[:9] != "FILETIME:" {
		t.Errorf("year 10000: %s", s)
	}
}

func pad7(v uint64) string {
	s := []byte("0000000")
	for i := 6; i >= 0; i-- {
		s[i] = byte('0' + v%10)
		v /= 10
	}
	return string(s)
}

func BenchmarkAppendISO(b *testing.B) {
	buf := make([]byte, 0, 32)
	for i := 0; i < b.N; i++ {
		buf = FileTime(133_230_096_001_234_567 + uint64(i)).AppendISO(buf[:0])
	}
}

func TestTimes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 times", 1: "1 time", 2: "2 times", 1234: "1234 times"} {
		if got := Times(n); got != want {
			t.Errorf("Times(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Count(1, "logon"); got != "1 logon" {
		t.Errorf("Count(1, logon) = %q", got)
	}
	if got := Count(3, "logon"); got != "3 logons" {
		t.Errorf("Count(3, logon) = %q", got)
	}
}
