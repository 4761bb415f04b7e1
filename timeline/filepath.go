package timeline

import (
	"context"
	"encoding/json"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// FileStory is everything the case knows about one file.
type FileStory struct {
	Query  string            `json:"query"`
	Key    string            `json:"key"`    // the normalised path, or the hash
	Paths  []string          `json:"paths"`  // every spelling of the path seen
	Hashes map[string]string `json:"hashes"` // sha1/sha256/md5 seen for it
	Events []Row             `json:"events"`
}

// pathFields are the fields parsers use to name the file an event is about.
var pathFields = []string{"target_path", "path", "image_path", "process", "parent_process", "executable", "file_path", "target"}

var hashRE = regexp.MustCompile(`^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)

// File collects the story of one file, named by a path (any of the forms
// NormalizePath understands) or by an MD5, SHA-1 or SHA-256. Candidates
// come from the full-text index by base name (or a scan of fields for a
// hash); each is then matched exactly on its normalised path or hash, so
// "x.exe" in another folder does not join the story.
func (c *Case) File(ctx context.Context, query string) (*FileStory, error) {
	st := &FileStory{Query: query, Hashes: map[string]string{}}
	var rows []Row
	want := map[string]bool{} // the keys of the file's paths
	collect := func(f Filter, match func(r *Row, fields map[string]any) bool) error {
		return c.Events(ctx, f, func(r *Row) error {
			var fields map[string]any
			_ = json.Unmarshal([]byte(r.Fields), &fields)
			if match(r, fields) {
				rows = append(rows, *r)
			}
			return nil
		})
	}
	if hashRE.MatchString(query) {
		h := strings.ToLower(query)
		st.Key = h
		// A hash identifies the file: one scan finds every path it was
		// seen at (event paths and path-naming fields), then the story of
		// each path joins.
		keys := map[string]bool{}
		err := c.scanFields(ctx, h, func(r *Row, fields map[string]any) {
			for _, k := range pathKeys(r, fields) {
				keys[k] = true
			}
		})
		if err != nil {
			return nil, err
		}
		for k := range keys {
			want[k] = true
			if err := collect(Filter{Query: Literal(path.Base(strings.ReplaceAll(k, `\`, "/")))}, func(r *Row, fields map[string]any) bool {
				return matchesKey(r, fields, k) || hasHash(fields, h)
			}); err != nil {
				return nil, err
			}
		}
		if len(keys) == 0 {
			if err := c.scanFields(ctx, h, func(r *Row, fields map[string]any) { rows = append(rows, *r) }); err != nil {
				return nil, err
			}
		}
	} else {
		key := event.NormalizePath(query)
		st.Key = key
		want[key] = true
		base := path.Base(strings.ReplaceAll(key, `\`, "/"))
		if err := collect(Filter{Query: Literal(base)}, func(r *Row, fields map[string]any) bool {
			return matchesKey(r, fields, key)
		}); err != nil {
			return nil, err
		}
	}
	// One row per event, in time order.
	seen := map[int64]bool{}
	paths := map[string]bool{}
	for _, r := range rows {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		st.Events = append(st.Events, r)
		// An event joins the story through any of its path fields (a
		// child process through its parent_process), but only an event
		// whose own path is the file's gives the file a spelling or a
		// hash: the child's hashes are the child's.
		if r.Path == "" || !ownPath(r.Path, want) {
			continue
		}
		paths[r.Path] = true
		var fields map[string]any
		_ = json.Unmarshal([]byte(r.Fields), &fields)
		for _, h := range []string{"sha1", "sha256", "md5"} {
			if v, ok := fields[h].(string); ok && v != "" {
				st.Hashes[h] = strings.ToLower(v)
			}
		}
	}
	sort.SliceStable(st.Events, func(i, j int) bool {
		if st.Events[i].Time != st.Events[j].Time {
			return st.Events[i].Time < st.Events[j].Time
		}
		return st.Events[i].ID < st.Events[j].ID
	})
	for p := range paths {
		st.Paths = append(st.Paths, p)
	}
	sort.Strings(st.Paths)
	return st, nil
}

// ownPath says whether p is a spelling of one of the file's keys (by base
// name for a key without a folder, as matchesKey).
func ownPath(p string, keys map[string]bool) bool {
	k := event.NormalizePath(stripStream(p))
	if keys[k] {
		return true
	}
	base := path.Base(strings.ReplaceAll(k, `\`, "/"))
	return keys[base]
}

// Literal quotes a file name for a search, so that "setup (1).exe" or a
// name ending in * is one literal term (Windows names hold no quotes).
func Literal(name string) string { return `"` + strings.ReplaceAll(name, `"`, "") + `"` }

// scanFields visits events whose fields contain the text: a table scan,
// which a hash lookup can afford.
func (c *Case) scanFields(ctx context.Context, text string, fn func(r *Row, fields map[string]any)) error {
	q := rowSelect + ` WHERE instr(lower(` + FieldsSQL + `), ?) > 0 ORDER BY e.ts, e.id`
	rs, err := c.DB.QueryContext(ctx, q, strings.ToLower(text))
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var r Row
		if err := scanRow(rs, &r); err != nil {
			return err
		}
		var fields map[string]any
		_ = json.Unmarshal([]byte(r.Fields), &fields)
		fn(&r, fields)
	}
	return rs.Err()
}

func pathKeys(r *Row, fields map[string]any) []string {
	var keys []string
	if k := event.NormalizePath(stripStream(r.Path)); k != "" {
		keys = append(keys, k)
	}
	for _, f := range pathFields {
		if v, ok := fields[f].(string); ok {
			if k := event.NormalizePath(v); k != "" {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// matchesKey says whether an event is about the file with this key: its
// path, or a path-naming field, normalises to the key. A key without a
// folder (a bare name) matches by base name.
func matchesKey(r *Row, fields map[string]any, key string) bool {
	bare := !strings.Contains(key, `\`)
	for _, k := range pathKeys(r, fields) {
		if k == key || (bare && path.Base(strings.ReplaceAll(k, `\`, "/")) == key) {
			return true
		}
	}
	return false
}

func hasHash(fields map[string]any, h string) bool {
	for _, k := range []string{"sha1", "sha256", "md5", "file_id"} {
		if v, ok := fields[k].(string); ok {
			v = strings.ToLower(strings.TrimPrefix(v, "0000"))
			if v == h {
				return true
			}
		}
	}
	return false
}

// stripStream drops an alternate data stream name (":Zone.Identifier"), so
// a file's streams join its story.
func stripStream(p string) string {
	if i := strings.LastIndexByte(p, ':'); i > 1 {
		return p[:i]
	}
	return p
}
