package tui

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// Query is a parsed filter: an AND of groups, each group an OR of terms.
// "host:DC01 -type:4688 logon OR rdp" is host AND NOT type AND (logon OR rdp).
type Query struct {
	Groups [][]Term
}

// Term is one condition of the query language.
type Term struct {
	Key    string // "" for free text, else one of Keys
	Value  string
	Negate bool
	Time   event.FileTime // after:/before:
	Number int64          // event:, id:, edge:
	IDs    []int64        // ids:
}

// Keys are the field prefixes the filter bar understands. logon, process,
// ip and file are what pivots write, so a pivot's view is an ordinary,
// editable query.
var Keys = []string{"host", "artifact", "type", "user", "path", "event", "after", "before", "tag",
	"logon", "process", "ip", "file", "id", "ids", "edge"}

// QueryError says where a query stops making sense; the filter bar shows it
// inline.
type QueryError struct {
	Pos int // byte offset in the input
	Msg string
}

func (e *QueryError) Error() string { return fmt.Sprintf("at %d: %s", e.Pos+1, e.Msg) }

type token struct {
	text   string
	pos    int
	quoted bool
	raw    string
}

// tokenize splits on spaces outside double quotes; quotes may start a
// token or follow a key ("path:\"Program Files\"").
func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		if unicode.IsSpace(rune(s[i])) {
			i++
			continue
		}
		start := i
		var b strings.Builder
		quoted := false
		for i < len(s) && !unicode.IsSpace(rune(s[i])) {
			if s[i] == '"' {
				quoted = true
				j := strings.IndexByte(s[i+1:], '"')
				if j < 0 {
					return nil, &QueryError{i, "unterminated quote"}
				}
				b.WriteString(s[i+1 : i+1+j])
				i += j + 2
				continue
			}
			b.WriteByte(s[i])
			i++
		}
		out = append(out, token{b.String(), start, quoted, s[start:i]})
	}
	return out, nil
}

// ParseQuery parses the filter language. It never panics; errors are
// *QueryError.
func ParseQuery(s string) (Query, error) {
	toks, err := tokenize(s)
	if err != nil {
		return Query{}, err
	}
	var q Query
	var group []Term
	wantTerm := false // after OR
	for _, t := range toks {
		if t.text == "OR" && !t.quoted {
			if len(group) == 0 || wantTerm {
				return Query{}, &QueryError{t.pos, "OR needs a term on both sides"}
			}
			wantTerm = true
			continue
		}
		term, err := parseTerm(t)
		if err != nil {
			return Query{}, err
		}
		if wantTerm {
			group = append(group, term)
			wantTerm = false
			continue
		}
		if len(group) > 0 {
			q.Groups = append(q.Groups, group)
		}
		group = []Term{term}
	}
	if wantTerm {
		return Query{}, &QueryError{len(s), "OR needs a term on both sides"}
	}
	if len(group) > 0 {
		q.Groups = append(q.Groups, group)
	}
	return q, nil
}

func parseTerm(t token) (Term, error) {
	text := t.text
	var term Term
	// A leading - negates; inside quotes it is text ("-enc" finds the
	// command-line switch).
	if strings.HasPrefix(t.raw, "-") && len(t.raw) > 1 {
		term.Negate = true
		text = text[1:] // the - before any quote is text's first byte
	} else if t.raw == "-" {
		return term, &QueryError{t.pos, "- needs a term after it"}
	}
	key, val, hasKey := strings.Cut(text, ":")
	// A token that starts with a quote is free text, colons and all.
	if hasKey && !strings.HasPrefix(strings.TrimPrefix(t.raw, "-"), `"`) {
		k := strings.ToLower(key)
		known := false
		for _, kk := range Keys {
			if k == kk {
				known = true
			}
		}
		if !known {
			// Windows paths and times contain colons: only a bare word
			// before the colon is a key.
			if isWord(key) {
				return term, &QueryError{t.pos, fmt.Sprintf("unknown field %q (fields: %s)", key, strings.Join(Keys, ", "))}
			}
			term.Value = text
			return term, nil
		}
		if val == "" {
			return term, &QueryError{t.pos, fmt.Sprintf("%s: needs a value", k)}
		}
		term.Key, term.Value = k, val
		switch k {
		case "after", "before":
			ft, err := ParseTime(val)
			if err != nil {
				return term, &QueryError{t.pos, fmt.Sprintf("%s: %v", k, err)}
			}
			term.Time = ft
		case "ids":
			for _, f := range strings.Split(val, ",") {
				n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
				if err != nil {
					return term, &QueryError{t.pos, fmt.Sprintf("ids: %q is not a number", f)}
				}
				term.IDs = append(term.IDs, n)
			}
		case "event", "id", "edge":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return term, &QueryError{t.pos, fmt.Sprintf("%s: %q is not a number", k, val)}
			}
			term.Number = n
		}
		return term, nil
	}
	term.Value = text
	return term, nil
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && r != '_' {
			return false
		}
	}
	return len(s) > 1 // "C:" is a drive, not a key
}

// ParseTime reads a UTC time as typed: a date, a date and time with a T or a
// space, with or without seconds, fraction and Z.
func ParseTime(s string) (event.FileTime, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	t := strings.Replace(s, " ", "T", 1)
	if len(t) == 10 {
		t += "T00:00:00"
	}
	if len(t) == 16 { // 2023-03-10T09:12
		t += ":00"
	}
	if !strings.HasSuffix(t, "Z") {
		t += "Z"
	}
	ft, err := event.Parse(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time (use 2023-03-10, 2023-03-10T09:12 or 2023-03-10T09:12:00.1234567Z)", s)
	}
	return ft, nil
}

// Resolved holds what a query needs looked up before it becomes SQL:
// Files maps a file: value to the event ids timeline.File found for it;
// Hosts maps a host: value (lower case) to its host ids. A host missing
// from Hosts falls back to a subquery.
type Resolved struct {
	Files map[string][]int64
	Hosts map[string][]int64
	// Words maps a free-text term to the events its full-text query
	// matched, when they are few (see Plan).
	Words map[string][]int64
	// Dense marks free-text terms matching so many events that probing
	// the index per row, in time order, beats building their whole set.
	Dense map[string]bool
	// Edges maps an edge: number to its supporting events (edge_events).
	Edges map[int64][]int64
	// Selective says a free-text term matches few events (see Plan).
	Selective bool
}

// Words lists the free-text terms every result must match (alone in their
// AND group, not negated).
func (q Query) Words() []string {
	var out []string
	for _, g := range q.Groups {
		if len(g) == 1 && g[0].Key == "" && !g[0].Negate {
			out = append(out, g[0].Value)
		}
	}
	return out
}

// SQL renders the query as a WHERE condition over events e, with its
// arguments. An empty query is "1".
func (q Query) SQL(res Resolved) (string, []any) {
	if len(q.Groups) == 0 {
		return "1", nil
	}
	var ands []string
	var args []any
	for _, g := range q.Groups {
		var ors []string
		for _, t := range g {
			c, a := t.sql(res)
			if t.Negate {
				c = "NOT (" + c + ")"
			}
			ors = append(ors, c)
			args = append(args, a...)
		}
		if len(ors) == 1 {
			ands = append(ands, ors[0])
		} else {
			ands = append(ands, "("+strings.Join(ors, " OR ")+")")
		}
	}
	return strings.Join(ands, " AND "), args
}

func (t Term) sql(res Resolved) (string, []any) {
	v := t.Value
	contains := func(col string) (string, []any) {
		return "instr(lower(" + col + "), lower(?)) > 0", []any{v}
	}
	field := func(names ...string) (string, []any) {
		var cs []string
		var as []any
		for _, n := range names {
			cs = append(cs, "lower(json_extract("+timeline.FieldsSQL+", '$."+n+"')) = lower(?)")
			as = append(as, v)
		}
		return "(" + strings.Join(cs, " OR ") + ")", as
	}
	switch t.Key {
	case "host":
		// Literal ids let SQLite walk events_host_ts in time order; a
		// subquery makes it collect every match and sort.
		if ids, ok := res.Hosts[strings.ToLower(v)]; ok {
			if len(ids) == 0 {
				return "0", nil
			}
			return "e.host_id IN (" + idList(ids) + ")", nil
		}
		cond, args := timeline.HostMatch(v)
		return "e.host_id IN (SELECT id FROM hosts WHERE " + cond + ")", args
	case "artifact":
		return "e.artifact = lower(?)", []any{v}
	case "type":
		return "e.type = ?", []any{v}
	case "user":
		return contains("e.user")
	case "path":
		return contains("e.path")
	case "event":
		return "json_extract(" + timeline.FieldsSQL + ", '$.event_id') = ?", []any{t.Number}
	case "id":
		return "e.id = ?", []any{t.Number}
	case "ids":
		return "e.id IN (" + idList(t.IDs) + ")", nil
	case "edge":
		ids := res.Edges[t.Number]
		if len(ids) == 0 {
			return "0", nil
		}
		return "e.id IN (" + idList(ids) + ")", nil
	case "after":
		return "e.ts >= ?", []any{t.Time.Ticks()}
	case "before":
		return "e.ts < ?", []any{t.Time.Ticks()}
	case "tag":
		if strings.EqualFold(v, "bookmark") || strings.EqualFold(v, "bookmarked") {
			return "e.id IN (SELECT event_id FROM tui_bookmarks)", nil
		}
		if strings.EqualFold(v, "note") || strings.EqualFold(v, "noted") {
			return "e.id IN (SELECT event_id FROM tui_notes)", nil
		}
		return "e.id IN (SELECT event_id FROM tui_tags WHERE tag = lower(?))", []any{v}
	case "logon":
		return field("logon_id", "target_logon_id")
	case "process":
		return field("process", "parent_process")
	case "ip":
		return field("src_ip", "dst_ip", "ip", "address")
	case "file":
		ids := res.Files[v]
		if len(ids) == 0 {
			return "0", nil
		}
		return "e.id IN (" + idList(ids) + ")", nil
	}
	// The index finds candidates by the text's tokens; the text itself (a
	// quoted phrase whole) must then occur in the message or path. Text
	// with no letters or digits ("$", "\\") has no tokens and is found by
	// the substring check alone.
	var cs []string
	var as []any
	if match := timeline.FTSMatch(v); match != "" {
		cs, as = []string{"e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"}, []any{match}
		if res.Dense[v] && !t.Negate {
			cs[0] = "EXISTS (SELECT 1 FROM events_fts WHERE events_fts MATCH ? AND rowid = e.id)"
		}
		if ids, ok := res.Words[v]; ok && !t.Negate {
			cs, as = []string{"0"}, nil
			if len(ids) > 0 {
				cs = []string{"e.id IN (" + idList(ids) + ")"}
			}
		}
	}
	cs = append(cs, "(instr(lower(e.message), lower(?)) > 0 OR instr(lower(e.path), lower(?)) > 0)")
	as = append(as, v, v)
	return "(" + strings.Join(cs, " AND ") + ")", as
}

func idList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// terms returns every term with the given key, in query order.
func (q Query) terms(key string) []Term {
	var out []Term
	for _, g := range q.Groups {
		for _, t := range g {
			if t.Key == key {
				out = append(out, t)
			}
		}
	}
	return out
}

// Hosts lists the values of host: terms.
func (q Query) Hosts() []string {
	var out []string
	for _, t := range q.terms("host") {
		out = append(out, t.Value)
	}
	return out
}

// EdgeIDs lists the numbers of edge: terms, whose supporting events are
// looked up before the query runs.
func (q Query) EdgeIDs() []int64 {
	var out []int64
	for _, t := range q.terms("edge") {
		out = append(out, t.Number)
	}
	return out
}

// byID reports whether an AND group is a list of event ids (id:, ids:,
// edge:): few rows, found by id and sorted, not by walking the time index.
func (q Query) byID() bool {
	for _, g := range q.Groups {
		if len(g) == 1 && !g[0].Negate && (g[0].Key == "id" || g[0].Key == "ids" || g[0].Key == "edge") {
			return true
		}
	}
	return false
}

// Files lists the values of file: terms, which need timeline.File before
// the query can run.
func (q Query) Files() []string {
	var out []string
	for _, t := range q.terms("file") {
		out = append(out, t.Value)
	}
	return out
}

// Filter returns the timeline.Filter equal to the query, for export, and
// false when the query uses something a Filter cannot say (OR, negation,
// fields other than host, artifact, type, after, before and one free text).
func (q Query) Filter() (timeline.Filter, bool) {
	var f timeline.Filter
	var text []string
	for _, g := range q.Groups {
		if len(g) != 1 || g[0].Negate {
			return f, false
		}
		t := g[0]
		switch t.Key {
		case "host":
			if len(f.Hosts) > 0 {
				return f, false
			}
			f.Hosts = []string{t.Value}
		case "artifact":
			if len(f.Artifacts) > 0 {
				return f, false
			}
			f.Artifacts = []string{strings.ToLower(t.Value)}
		case "type":
			if len(f.Types) > 0 {
				return f, false
			}
			f.Types = []string{t.Value}
		case "after":
			f.After = max(f.After, t.Time)
		case "before":
			if f.Before == 0 || t.Time < f.Before {
				f.Before = t.Time
			}
		case "":
			text = append(text, searchLiteral(t.Value))
		default:
			return f, false
		}
	}
	f.Query = strings.Join(text, " ")
	return f, true
}

// searchLiteral writes free text for timeline's search so that it stays
// one literal term, as the filter bar matched it: a phrase, a parenthesis,
// an operator word or a trailing * (a prefix there) go in quotes.
func searchLiteral(v string) string {
	switch {
	case v == "AND" || v == "OR" || v == "NOT" || strings.ContainsAny(v, " \t()") || strings.HasSuffix(v, "*") || strings.HasPrefix(v, "-"):
		return timeline.Literal(v)
	}
	return v
}

// quoteValue writes a value so that ParseQuery reads it back whole.
func quoteValue(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"") {
		return `"` + strings.ReplaceAll(s, `"`, "") + `"`
	}
	return s
}
