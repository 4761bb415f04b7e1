package export

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/foothold/foothold/timeline"
)

// csvHeader is the native CSV's column order; it is part of the format
// and must only ever grow at the end.
var csvHeader = []string{
	"datetime", "timestamp_desc", "macb", "host", "artifact", "type", "user", "path", "message",
	"fields", "evidence", "volume_offset", "artifact_path", "record", "offset", "event_id",
}

// writeCSV writes the native format: one row per event, every column of
// the store, fields as the JSON object stored.
func writeCSV(ctx context.Context, c *timeline.Case, f timeline.Filter, w io.Writer) (int64, error) {
	cw := newCSV(w)
	if err := cw.write(csvHeader); err != nil {
		return 0, err
	}
	var rows int64
	rec := make([]string, len(csvHeader))
	err := each(ctx, c, f, CSV, func(r *timeline.Row) error {
		rec = append(rec[:0],
			r.Time.String(), r.TimeDesc, r.MACB, r.Host, r.Artifact, r.Type, r.User, r.Path, r.Message,
			r.Fields, r.Evidence, strconv.FormatInt(r.VolumeOffset, 10), r.ArtifactPath,
			strconv.FormatInt(r.Record, 10), strconv.FormatInt(r.Offset, 10), strconv.FormatInt(r.ID, 10))
		if err := cw.write(rec); err != nil {
			return err
		}
		rows++
		return nil
	})
	if ferr := cw.flush(); err == nil {
		err = ferr
	}
	return rows, err
}

// l2tHeader is Plaso's l2tcsv header, exactly.
var l2tHeader = []string{
	"date", "time", "timezone", "MACB", "source", "sourcetype", "type", "user", "host", "short", "desc",
	"version", "filename", "inode", "notes", "format", "extra",
}

// writeL2TCSV writes Plaso's legacy 17-column format. Following Plaso
// (output/l2t_csv.py, shared_dsv.py): commas inside values become spaces
// so that naive comma splitters keep working, missing values are "-",
// version is 2, extra is "key: value" pairs sorted and joined by "; " with
// newlines as "-". Date and time are whole seconds, so extra always carries
// "datetime: <full 100 ns ISO time>".
func writeL2TCSV(ctx context.Context, c *timeline.Case, f timeline.Filter, w io.Writer) (int64, error) {
	cw := newCSV(w)
	if err := cw.write(l2tHeader); err != nil {
		return 0, err
	}
	var (
		rows   int64
		rec    = make([]string, 0, len(l2tHeader))
		fs     []field
		extras []string
	)
	isDatetime := func(k string) bool { return k == "datetime" }
	err := each(ctx, c, f, L2TCSV, func(r *timeline.Row) error {
		date, clock := "00/00/0000", "--:--:--"
		if r.Time != 0 {
			t := r.Time.Time()
			date = fmt.Sprintf("%02d/%02d/%04d", t.Month(), t.Day(), t.Year())
			clock = fmt.Sprintf("%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
		}
		macb := r.MACB
		if len(macb) != 4 {
			macb = "...."
		}
		short, long := l2tSource(r)
		fs = parseFields(r.Fields, fs)
		extras = extras[:0]
		extras = append(extras, "datetime: "+r.Time.String())
		taken := func(k string) bool { return hasField(fs, k) }
		for _, fl := range fs {
			extras = append(extras, rename(fl.key, isDatetime, taken)+": "+text(fl.raw))
		}
		sort.Strings(extras)
		extra := strings.Join(extras, "; ")
		extra = strings.ReplaceAll(strings.ReplaceAll(extra, "\n", "-"), "\r", "")
		inode := "-"
		if r.Record >= 0 {
			inode = strconv.FormatInt(r.Record, 10)
		}
		filename := r.Evidence
		if r.ArtifactPath != "" {
			filename += ":" + r.ArtifactPath
		}
		rec = append(rec[:0], date, clock, "UTC", macb, short, long, dash(r.TimeDesc), dash(r.User), dash(r.Host),
			dash(shortMessage(r.Message)), dash(r.Message), "2", dash(filename), inode, "-", dash(r.Parser), extra)
		for i := range rec {
			rec[i] = l2tValue(rec[i])
		}
		if err := cw.write(rec); err != nil {
			return err
		}
		rows++
		return nil
	})
	if ferr := cw.flush(); err == nil {
		err = ferr
	}
	return rows, err
}

// l2tValue applies Plaso's delimiter rule (comma to space) and keeps each
// record on one line, which is what line-based l2tcsv readers assume.
func l2tValue(s string) string {
	if strings.ContainsAny(s, ",\r\n") {
		s = strings.ReplaceAll(s, ",", " ")
		s = strings.ReplaceAll(s, "\r", "")
		s = strings.ReplaceAll(s, "\n", " ")
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortMessage is Plaso's short description: the message cut to 80
// characters, the last three being "...".
func shortMessage(m string) string {
	m = clean(m)
	if utf8.RuneCountInString(m) <= 80 {
		return m
	}
	n := 0
	for i := range m {
		if n == 77 {
			return m[:i] + "..."
		}
		n++
	}
	return m
}

// l2tSource maps an artifact to Plaso's short source (the TLN type: FILE,
// REG, EVT, WEBHIST, ...) and its longer source type, taking both from
// Plaso's formatter definitions (plaso/data/formatters/*.yaml) for the
// data type that parses the same artifact.
func l2tSource(r *timeline.Row) (short, long string) {
	switch r.Artifact {
	case "mft":
		return "FILE", "NTFS file stat"
	case "usn":
		return "FILE", "NTFS USN change"
	case "evtx":
		return "EVT", "WinEVTX"
	case "registry":
		return "REG", "Registry Key"
	case "shimcache":
		return "REG", "AppCompatCache Registry Key"
	case "amcache":
		return "AMCACHE", "Amcache Registry Entry"
	case "bam":
		return "REG", "Background Activity Moderator Registry Key"
	case "userassist":
		return "REG", "UserAssist Registry Key"
	case "prefetch":
		return "LOG", "WinPrefetch"
	case "lnk":
		return "LNK", "Windows Shortcut"
	case "jumplist":
		// Custom destinations are concatenated LNK files; automatic
		// destinations are OLE compound files with a DestList.
		if strings.Contains(strings.ToLower(r.ArtifactPath), "customdestinations") {
			return "LNK", "Windows Shortcut"
		}
		return "OLECF", "OLECF Dest list entry"
	case "task":
		// Plaso's name for .job files; XML tasks have no Plaso formatter.
		return "JOB", "Windows Scheduled Task Job"
	case "pe":
		return "PE", "PE/COFF file"
	case "browser":
		p := strings.ToLower(r.Parser + " " + r.ArtifactPath)
		switch {
		case strings.Contains(p, "firefox") || strings.Contains(p, "places.sqlite"):
			return "WEBHIST", "Firefox History"
		case strings.Contains(p, "chrom") || strings.Contains(p, "edge"):
			// Chromium-based Edge is read by Plaso's Chrome parser too.
			return "WEBHIST", "Chrome History"
		}
		return "WEBHIST", "Web History"
	case "srum":
		return "LOG", "System Resource Usage Monitor"
	}
	// Plaso writes N/A when it has no mapping; the artifact name is more
	// use to a reader than that.
	return "N/A", dash(r.Artifact)
}

// Timesketch: base columns the exporter writes, and names its importer
// treats specially (timesketch/lib/utils.py: "tag" is parsed as a label
// list, FIELDS_TO_REMOVE are dropped). An event field with one of these
// names is written as field_<name>.
var (
	tsBase = []string{
		"message", "datetime", "timestamp", "timestamp_desc", "macb", "host", "artifact", "type", "user", "path",
		"evidence", "artifact_path", "volume_offset", "record", "offset", "event_id",
	}
	tsSpecial = []string{"tag", "_id", "_type", "_index", "_source", "__ts_timeline_id"}
	tsNames   = func() map[string]bool {
		m := map[string]bool{"": true}
		for _, n := range append(append([]string{}, tsBase...), tsSpecial...) {
			m[n] = true
		}
		return m
	}()
)

func tsReserved(k string) bool { return tsNames[k] }

// isIdent: a namespace is a lower-case identifier, as our parsers name
// them; a field named "-3.5" or "example.com" is a name, not a namespace.
func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// tsGroup folds an event's namespaced fields into one field per namespace
// for Timesketch: "data.TargetUserName", "data.IpAddress", … (an event
// log's EventData, whose names every provider picks) become one field
// "data" whose value is the JSON text of {"TargetUserName": …, …}. Each
// distinct name is a field in Timesketch's OpenSearch index, which by
// default refuses a timeline past about 450 names
// (OPENSEARCH_MAPPING_UPPER_LIMIT 1000, two mappings per name plus 10%),
// and a real case's event logs alone carry thousands. Our own field names
// have no dot and stay fields. The group sits where its first field was.
func tsGroup(fs, out []field, objs map[string][]byte) []field {
	out = out[:0]
	for k := range objs {
		objs[k] = objs[k][:0]
	}
	plain := 0
	for _, f := range fs {
		ns, name, ok := strings.Cut(f.key, ".")
		if !ok || !isIdent(ns) || name == "" {
			out = append(out, f)
			plain++
			continue
		}
		b := objs[ns]
		if len(b) == 0 {
			out = append(out, field{key: ns}) // raw set below: a group
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = timeline.AppendJSONString(b, name)
		b = append(b, ':')
		b = append(b, f.raw...)
		objs[ns] = b
	}
	if plain == len(out) {
		return out
	}
	isGroup := func(k string) bool { return len(objs[k]) > 0 }
	for i := range out {
		switch {
		case !isGroup(out[i].key):
		case out[i].raw == "":
			out[i].raw = string(timeline.AppendJSONString(nil, string(append(objs[out[i].key], '}'))))
		default:
			// A plain field named like a group ("data" beside
			// "data.X") is renamed as base-key collisions are.
			out[i].key = rename(out[i].key, isGroup, func(n string) bool { return hasField(out, n) })
		}
	}
	return out
}

// writeTimesketchCSV writes Timesketch's CSV import format: message,
// datetime (ISO 8601) and timestamp_desc are required; timestamp is
// microseconds since the epoch; every event field is a column. A CSV has
// one header, so a first pass collects the union of field names of the
// filtered events; columns follow in byte order of their names.
func writeTimesketchCSV(ctx context.Context, c *timeline.Case, f timeline.Filter, w io.Writer) (int64, error) {
	keys := map[string]bool{}
	var fs, grouped []field
	objs := map[string][]byte{}
	err := each(ctx, c, f, TimesketchCSV, func(r *timeline.Row) error {
		fs = parseFields(r.Fields, fs)
		grouped = tsGroup(fs, grouped, objs)
		for _, fl := range grouped {
			if !keys[fl.key] {
				keys[fl.key] = true
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	header := append([]string{}, tsBase...)
	col := make(map[string]int, len(sorted))
	taken := func(n string) bool { return keys[n] }
	for _, k := range sorted {
		col[k] = len(header)
		header = append(header, rename(k, tsReserved, taken))
	}

	cw := newCSV(w)
	if err := cw.write(header); err != nil {
		return 0, err
	}
	var rows int64
	rec := make([]string, len(header))
	err = each(ctx, c, f, TimesketchCSV, func(r *timeline.Row) error {
		clear(rec)
		copy(rec, []string{
			dash(r.Message), r.Time.String(), strconv.FormatInt(unixMicros(r.Time), 10), dash(r.TimeDesc), r.MACB,
			r.Host, r.Artifact, r.Type, r.User, r.Path, r.Evidence, r.ArtifactPath,
			strconv.FormatInt(r.VolumeOffset, 10), strconv.FormatInt(r.Record, 10), strconv.FormatInt(r.Offset, 10),
			strconv.FormatInt(r.ID, 10),
		})
		fs = parseFields(r.Fields, fs)
		grouped = tsGroup(fs, grouped, objs)
		for _, fl := range grouped {
			// A field first seen after the first pass (an ingest running
			// meanwhile) has no column and is left out.
			if i, ok := col[fl.key]; ok {
				rec[i] = text(fl.raw)
			}
		}
		if err := cw.write(rec); err != nil {
			return err
		}
		rows++
		return nil
	})
	if ferr := cw.flush(); err == nil {
		err = ferr
	}
	return rows, err
}

// csvWriter is encoding/csv (RFC 4180 quoting) plus the cell rules every
// CSV export shares: valid UTF-8 and no cell a spreadsheet runs as a
// formula.
type csvWriter struct {
	w   *csv.Writer
	buf []string
}

func newCSV(w io.Writer) *csvWriter { return &csvWriter{w: csv.NewWriter(w)} }

func (c *csvWriter) write(rec []string) error {
	c.buf = c.buf[:0]
	for _, s := range rec {
		c.buf = append(c.buf, Neutralize(clean(s)))
	}
	return c.w.Write(c.buf)
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// Neutralize defuses CSV formula injection (OWASP "CSV Injection"): a cell
// starting with '=', '+', '-', '@', tab or carriage return gets a leading
// single quote, so Excel, LibreOffice and Sheets show it as text instead of
// evaluating it. Plain numbers ("-1", "+2.5", "-3e4") are left alone so
// that they stay numbers, as are Plaso's placeholders "-" and "--:--:--",
// which no spreadsheet evaluates.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
	default:
		return s
	}
	if s == "-" || s == "--:--:--" || isNumber(s) {
		return s
	}
	return "'" + s
}

// isNumber reports whether s is a plain decimal number: optional sign,
// digits with an optional fraction, optional exponent.
func isNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
