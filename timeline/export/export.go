// Package export writes a case's timeline (or a filtered part of it) in the
// formats other tools read. Every writer streams: rows come from
// timeline.Case.Events one at a time and go out through a bufio.Writer, so
// exporting millions of events needs memory for one row (plus, for
// timesketch-csv, the set of field names).
//
// Formats (Formats lists the names):
//
//   - csv: our native format. One header, then one row per event, columns
//     in this order (a stable contract; new columns only ever go at the end):
//     datetime (ISO-8601 UTC, 7 fractional digits), timestamp_desc, macb,
//     host, artifact, type, user, path, message, fields (the event's JSON
//     object as stored), evidence, volume_offset (-1: no volume),
//     artifact_path, record, offset (-1: none), event_id.
//   - l2tcsv: Plaso's legacy 17 columns (see writeL2TCSV). date/time are
//     whole seconds; extra always holds "datetime: <100 ns time>".
//   - timesketch-csv: Timesketch's CSV import: message, datetime,
//     timestamp (µs since 1970), timestamp_desc, macb, host, artifact, type,
//     user, path, evidence, artifact_path, volume_offset, record, offset,
//     event_id, then one column per event field name (sorted). Timesketch
//     drops events dated before 1700.
//   - jsonl: one object per line with the same base keys and the event's
//     fields merged at top level; Timesketch's JSONL import reads it.
//
// For Timesketch (timesketch-csv and jsonl) the fields of a namespace,
// such as an event log's "data.<EventData name>", are one field named
// after the namespace holding their JSON object as text, so the number of
// field names stays within Timesketch's default mapping limit.
//   - bodyfile: The Sleuth Kit's mactime input (see writeBodyfile).
//
// In timesketch-csv and jsonl an event field whose name is a base key, or
// one Timesketch treats specially ("tag", "_id", "_index", ...), is written
// as field_<name>. In all three CSV formats, cells a spreadsheet would run
// as a formula are neutralised (see Neutralize), and invalid UTF-8 becomes
// U+FFFD in every format.
package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/timeline"
)

// Format names accepted by Write.
const (
	CSV           = "csv"
	L2TCSV        = "l2tcsv"
	TimesketchCSV = "timesketch-csv"
	JSONL         = "jsonl"
	Bodyfile      = "bodyfile"
)

// Formats lists the format names Write accepts.
func Formats() []string {
	return []string{CSV, L2TCSV, TimesketchCSV, JSONL, Bodyfile}
}

// Write exports the events selected by f in the given format to w and
// returns how many data rows (lines, not counting a header) it wrote.
// Bodyfile output reads events grouped by MFT entry (Filter.ByRecord is set
// for it); every other format keeps the filter's order (time order unless
// the caller set ByRecord).
func Write(ctx context.Context, c *timeline.Case, f timeline.Filter, format string, w io.Writer) (rows int64, err error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	switch format {
	case CSV:
		rows, err = writeCSV(ctx, c, f, bw)
	case L2TCSV:
		rows, err = writeL2TCSV(ctx, c, f, bw)
	case TimesketchCSV:
		rows, err = writeTimesketchCSV(ctx, c, f, bw)
	case JSONL:
		rows, err = writeJSONL(ctx, c, f, bw)
	case Bodyfile:
		rows, err = writeBodyfile(ctx, c, f, bw)
	default:
		return 0, fmt.Errorf("export: unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	// Flush what was written even after an error: a partial export of an
	// interrupted run is still useful, and the error says it is partial.
	if ferr := bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("export %s: %w", format, ferr)
	}
	return rows, err
}

// each runs fn for every matching row, checking for cancellation between
// rows and naming the event in errors.
func each(ctx context.Context, c *timeline.Case, f timeline.Filter, format string, fn func(*timeline.Row) error) error {
	var n int
	err := c.Events(ctx, f, func(r *timeline.Row) error {
		if n++; n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(r); err != nil {
			return fmt.Errorf("event %d (%s %s): %w", r.ID, r.Artifact, r.Evidence, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export %s: %w", format, err)
	}
	return nil
}

// ticksTo1970 is the number of 100 ns ticks between 1601-01-01 and the
// Unix epoch.
const ticksTo1970 = 116444736000000000

// unixMicros is the time as microseconds since the Unix epoch (Timesketch's
// "timestamp"), rounded down so that it never sorts after the real time.
func unixMicros(t event.FileTime) int64 {
	d := t.Ticks() - ticksTo1970
	q := d / 10
	if d%10 < 0 {
		q--
	}
	return q
}

// unixSeconds renders the time as seconds since the Unix epoch with the
// full 100 ns fraction ("1677661800.1234567"); unset is "0" as in fls.
// Times before 1970 are negative: "-1.5000000" is 1969-12-31T23:59:58.5Z.
func unixSeconds(t event.FileTime) string {
	if t == 0 {
		return "0"
	}
	d := t.Ticks() - ticksTo1970
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%d.%07d", sign, d/10_000_000, d%10_000_000)
}

// parseTime reads back a time the store wrote as a field value: the
// ISO-8601 string of event.FileTime.String, its "FILETIME:n" form for dates
// past 9999, or "" for unset.
func parseTime(s string) event.FileTime {
	if s == "" {
		return 0
	}
	if rest, ok := strings.CutPrefix(s, "FILETIME:"); ok {
		v, err := strconv.ParseUint(rest, 10, 64)
		if err != nil {
			return 0
		}
		return event.FileTime(v)
	}
	t, err := event.Parse(s)
	if err != nil {
		return 0
	}
	return t
}

// clean makes s valid UTF-8: names from damaged records can carry stray
// bytes, and spreadsheet and JSON consumers reject invalid UTF-8 outright.
func clean(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	// One U+FFFD per bad byte, as the store's JSON encoder does, so the
	// same value reads the same in every format.
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// field is one event field with its value as raw JSON text.
type field struct {
	key string
	raw string
}

// parseFields splits the stored JSON object into its fields in order. A
// key that repeats keeps its first value (as event.Event.Get does). A value
// that is not a JSON object (a damaged case) becomes one field
// "fields_unparsed" holding the text, so an export never stops on it.
//
// This runs once per exported row, so it validates with json.Valid and
// then cuts the object apart by hand instead of using a json.Decoder,
// which was 40% of an export's CPU time.
func parseFields(s string, out []field) []field {
	out = out[:0]
	if s == "" || s == "{}" || s == "null" {
		return out
	}
	fail := func() []field {
		return append(out[:0], field{"fields_unparsed", string(timeline.AppendJSONString(nil, s))})
	}
	if !json.Valid([]byte(s)) {
		return fail()
	}
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return fail()
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return out
	}
	for i < len(s) {
		end := scanValue(s, i) // the key: a string
		if end <= i || s[i] != '"' {
			return fail()
		}
		key := unquote(s[i:end])
		i = skipSpace(s, end)
		if i >= len(s) || s[i] != ':' {
			return fail()
		}
		i = skipSpace(s, i+1)
		end = scanValue(s, i)
		if end <= i {
			return fail()
		}
		if !hasField(out, key) {
			out = append(out, field{key, tidy(s[i:end])})
		}
		i = skipSpace(s, end)
		if i < len(s) && s[i] == ',' {
			i = skipSpace(s, i+1)
			continue
		}
		if i < len(s) && s[i] == '}' {
			return out
		}
		return fail()
	}
	return fail()
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanValue returns the end of the JSON value starting at s[i], in text
// already checked by json.Valid.
func scanValue(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '"':
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(s)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = scanValue(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i
	for j < len(s) && !strings.ContainsRune(",}] \t\n\r", rune(s[j])) {
		j++
	}
	return j
}

// unquote decodes a JSON string literal.
func unquote(q string) string {
	if len(q) >= 2 && !strings.ContainsRune(q, '\\') && utf8.ValidString(q) {
		return q[1 : len(q)-1]
	}
	var v string
	if json.Unmarshal([]byte(q), &v) != nil {
		return clean(q)
	}
	return v
}

// tidy keeps a raw value safe to embed in one JSONL line: whitespace
// outside strings (only a foreign writer puts it there) is removed and
// invalid UTF-8 inside strings becomes U+FFFD.
func tidy(raw string) string {
	if strings.ContainsAny(raw, "\n\r\t ") && (raw[0] == '{' || raw[0] == '[') {
		var b bytes.Buffer
		if json.Compact(&b, []byte(raw)) == nil {
			raw = b.String()
		}
	}
	if !utf8.ValidString(raw) {
		var v any
		if json.Unmarshal([]byte(raw), &v) == nil {
			if b, err := json.Marshal(v); err == nil {
				raw = string(b)
			}
		}
	}
	return raw
}

// text renders a raw JSON value for a text cell: strings unquoted, null
// empty, numbers and booleans as written, lists and objects as compact JSON.
func text(raw string) string {
	if raw == "" || raw == "null" {
		return ""
	}
	if raw[0] == '"' {
		return unquote(raw)
	}
	return raw
}

// fieldValue returns the text of the first field named key.
func fieldValue(fs []field, key string) (string, bool) {
	for _, f := range fs {
		if f.key == key {
			return text(f.raw), true
		}
	}
	return "", false
}

func hasField(fs []field, key string) bool {
	for _, f := range fs {
		if f.key == key {
			return true
		}
	}
	return false
}

// rename gives an event field a name that does not collide with a column
// the exporter writes itself (or a name Timesketch treats specially):
// "host" becomes "field_host", and if an event field already has that name,
// "field_field_host". base says which names the exporter owns; taken says
// which names event fields already use.
func rename(key string, base, taken func(string) bool) string {
	if !base(key) {
		return key
	}
	name := "field_" + key
	for base(name) || taken(name) {
		name = "field_" + name
	}
	return name
}
