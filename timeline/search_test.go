package timeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/foothold/foothold/parsers/event"
)

// logCase is a case of one event log holding evs, in order: each gets
// the next 100 ns, record number i and no offset.
func logCase(t testing.TB, evs []*event.Event) *Case {
	t.Helper()
	c := newCase(t)
	in, err := c.BeginIngest(context.Background(), &Evidence{Path: "/ev/s", Format: "raw", Size: 1, SHA256: "s", Host: "WS"})
	if err != nil {
		t.Fatal(err)
	}
	src := in.BeginSource(0, "Security.evtx", "evtx", event.EVTX)
	for i, e := range evs {
		e.Time, e.TimeDesc, e.Record, e.Offset = event.FileTime(133_000_000_000_000_000+int64(i)), "d", int64(i), -1
		if err := src.Emit(e); err != nil {
			t.Fatal(err)
		}
	}
	src.Done(int64(len(evs)), 0, nil)
	if err := in.Finish(nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// searchCase holds one event per text (message; path where given after
// " | "), so a search's result is the set of texts it matched.
func searchCase(t testing.TB, texts []string) *Case {
	t.Helper()
	evs := make([]*event.Event, len(texts))
	for i, s := range texts {
		msg, path, _ := strings.Cut(s, " | ")
		evs[i] = &event.Event{Artifact: event.EVTX, Type: "4688", Message: msg, Path: path}
	}
	return logCase(t, evs)
}

func TestSearch(t *testing.T) {
	texts := []string{
		`C:\Users\a.reyes\Downloads\X_TRADER_r7.17.90p608.exe started`,
		`x trader exe, words apart`,
		`wmiprvse.exe -secured -Embedding`,
		`"C:\Windows\system32\mmc.exe" -Embedding`,
		`copy to \\WS-DEV02\C$\ProgramData`,
		`PsExec64.exe -accepteula \\FS01 -s cmd.exe`,
		`file in C:\Program Files\App`,
		`Program and Files, apart`,
		`logon AND logoff literally`,
		`no match in message | \Windows\Temp\lsass.dmp`,
		`units m² and 😀 in 東京タワー, naïve`,
	}
	c := searchCase(t, texts)
	for _, tc := range []struct {
		q    string
		want []int // indexes into texts
	}{
		{`X_TRADER`, []int{0}}, // as typed: not "x trader" words apart
		{`"X_TRADER"`, []int{0}},
		{`x_trad*`, []int{0}},
		{`trad*`, []int{0, 1}},
		{`"-Embedding"`, []int{2, 3}}, // quoted, the - is text
		{`"-Embedding" NOT wmiprvse`, []int{3}},
		{`"-Embedding" -wmiprvse`, []int{3}},
		{`-Embedding`, []int{0, 1, 4, 5, 6, 7, 8, 9, 10}}, // a leading - excludes
		{`-(psexec64.exe OR mmc.exe) "-Embedding"`, []int{2}},
		{`-"Program Files"`, []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 10}},
		{`C$`, []int{4}},
		{`$`, []int{4}}, // no tokens: the substring check alone
		{`psexec64.exe OR mmc.exe`, []int{3, 5}},
		{`(psexec64.exe OR mmc.exe) AND "-Embedding"`, []int{3}},
		{`(psexec64.exe OR mmc.exe) -Embedding`, []int{5}},
		{`"Program Files"`, []int{6}},
		{`Program Files`, []int{6, 7}},
		{`"AND"`, []int{7, 8, 10}}, // a word, in any case, not the operator
		{`lsass.dmp`, []int{9}},    // in the path only
		{`\Windows\Temp`, []int{9}},
		{`NOT .exe`, []int{1, 4, 6, 7, 8, 9, 10}},
		// Text SQLite's tokenizer splits otherwise than Go: found by
		// substring (東京 is inside one CJK token to the index).
		{`m²`, []int{10}},
		{`😀`, []int{10}},
		{`東京`, []int{10}},
		{`naïve`, []int{10}},
		{`"m² and"`, []int{10}},
	} {
		var got []int
		err := c.Events(context.Background(), Filter{Query: tc.q}, func(r *Row) error {
			got = append(got, int(r.Record))
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
			continue
		}
		sort.Ints(got)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: matched %v, want %v", tc.q, got, tc.want)
		}
		if n, err := c.Count(context.Background(), Filter{Query: tc.q}); err != nil || n != int64(len(tc.want)) {
			t.Errorf("%s: count %d (%v), want %d", tc.q, n, err, len(tc.want))
		}
	}
	if n, err := c.Count(context.Background(), Filter{Query: strings.Repeat("-zzz ", 200)}); err != nil || n != int64(len(texts)) {
		t.Errorf("200 exclusions: %d (%v), want every event", n, err)
	}
	for _, tc := range []struct{ q, msg string }{
		{`AND`, "AND needs a term before it"},
		{`a OR`, "a term is missing"},
		{`NOT`, "a term is missing at the end"},
		{`(a`, "unclosed parenthesis"},
		{`a)`, "unexpected )"},
		{`"a`, "unterminated quote"},
		{`()`, "a term is missing"},
		{`-`, "- needs a term after it"},
		{`- a`, "- needs a term after it"},
		{strings.Repeat("a ", 201), "more than 200 words"},
		{strings.Repeat("(", 300), "more than 200 words"},
	} {
		err := c.Events(context.Background(), Filter{Query: tc.q}, func(*Row) error { return nil })
		var se *SearchError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want a SearchError saying %q", tc.q, err, tc.msg)
		}
	}
}

// FuzzSearch: whatever is typed, a search is a SearchError or runs; it
// never reaches SQLite as broken SQL or a broken FTS5 query.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{`X_TRADER`, `"a b" OR (c NOT d*)`, `-Embedding`, `C$`, `((`, `"`, `a AND OR b`, `*`, `é*`, `"" OR ""`} {
		f.Add(s)
	}
	c := searchCase(f, []string{"one", "two | \\path"})
	f.Fuzz(func(t *testing.T, q string) {
		where, args, err := searchSQL(q)
		if err != nil {
			var se *SearchError
			if !errors.As(err, &se) {
				t.Fatalf("%q: %v is not a SearchError", q, err)
			}
			return
		}
		if strings.Count(where, "?") != len(args) {
			t.Fatalf("%q: %d placeholders, %d args", q, strings.Count(where, "?"), len(args))
		}
		if _, err := c.Count(context.Background(), Filter{Query: q}); err != nil {
			t.Fatalf("%q: %v", q, err)
		}
	})
}

// TestTokensAgreeWithFTS5 is the differential test behind indexable: for
// every rune it lets through, SQLite's unicode61 tokenizer (the index's)
// keeps "a<r>b" one token exactly when Go calls r a letter or digit. A
// query of two tokens in quotes is a phrase, which the position-less
// index refuses; so an error means SQLite split there.
func TestTokensAgreeWithFTS5(t *testing.T) {
	c := newCase(t)
	checked := 0
	for r := rune(1); r < 0x500; r++ {
		if r == '"' || !indexable(string(r)) {
			continue
		}
		var n int64
		err := c.DB.QueryRow(`SELECT count(*) FROM events_fts WHERE events_fts MATCH ?`, `"a`+string(r)+`b"`).Scan(&n)
		oneToken := err == nil
		goToken := unicode.IsLetter(r) || unicode.IsDigit(r)
		if oneToken != goToken {
			t.Errorf("U+%04X %q: SQLite one token %v, Go letter or digit %v", r, r, oneToken, goToken)
		}
		checked++
	}
	if checked < 700 {
		t.Errorf("only %d runes checked", checked)
	}
	// Found by running the same check over every rune: Go letters that
	// SQLite splits at. They must never reach FTS5.
	for _, r := range []rune{0x19B0, 0x19C9, 0x1CF2, 0x1CF3} {
		if indexable("a" + string(r) + "b") {
			t.Errorf("U+%04X is indexable", r)
		}
	}
}
