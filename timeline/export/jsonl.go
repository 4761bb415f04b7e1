package export

import (
	"context"
	"io"
	"strconv"

	"github.com/foothold/foothold/timeline"
)

// writeJSONL writes one JSON object per line, importable by Timesketch
// (message, datetime and timestamp_desc on every line; timestamp in
// microseconds). The base keys come first in a fixed order, then the
// event's fields at top level in the parser's order with their JSON values
// as stored, namespaced ones folded per namespace (tsGroup); a field named
// like a base key (or a name Timesketch treats specially) is written as
// field_<key>.
func writeJSONL(ctx context.Context, c *timeline.Case, f timeline.Filter, w io.Writer) (int64, error) {
	var (
		rows int64
		b    []byte
		fs   []field
		grp  []field
		objs = map[string][]byte{}
	)
	err := each(ctx, c, f, JSONL, func(r *timeline.Row) error {
		b = b[:0]
		str := func(k, v string) {
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, `":`...)
			b = timeline.AppendJSONString(b, v)
			b = append(b, ',')
		}
		num := func(k string, v int64) {
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, v, 10)
			b = append(b, ',')
		}
		b = append(b, '{')
		// Timesketch refuses an event without a message; "-" stands in as
		// Plaso's exports do.
		str("message", dash(r.Message))
		str("datetime", r.Time.String())
		num("timestamp", unixMicros(r.Time))
		str("timestamp_desc", dash(r.TimeDesc))
		str("macb", r.MACB)
		str("host", r.Host)
		str("artifact", r.Artifact)
		str("type", r.Type)
		str("user", r.User)
		str("path", r.Path)
		str("evidence", r.Evidence)
		str("artifact_path", r.ArtifactPath)
		num("volume_offset", r.VolumeOffset)
		num("record", r.Record)
		num("offset", r.Offset)
		num("event_id", r.ID)
		fs = parseFields(r.Fields, fs)
		grp = tsGroup(fs, grp, objs)
		taken := func(k string) bool { return hasField(grp, k) }
		for _, fl := range grp {
			b = timeline.AppendJSONString(b, rename(fl.key, tsReserved, taken))
			b = append(b, ':')
			b = append(b, fl.raw...)
			b = append(b, ',')
		}
		b[len(b)-1] = '}'
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
		rows++
		return nil
	})
	return rows, err
}
