package timeline

import (
	"context"
	"encoding/json"
)

// Summary is what `foothold info` reports: what the case holds and what is
// incomplete or failed.
type Summary struct {
	Path      string            `json:"path"`
	Schema    int               `json:"schema_version"`
	Events    int64             `json:"events"`
	Evidence  []EvidenceInfo    `json:"evidence"`
	Hosts     []HostInfo        `json:"hosts"`
	Artifacts []Count           `json:"artifacts"`
	Sources   []Count           `json:"sources_by_status"`
	Errors    []SourceInfo      `json:"errors"`
	Skipped   []VolumeInfo      `json:"skipped_volumes"`
	Meta      map[string]string `json:"-"`
}

type EvidenceInfo struct {
	ID       int64        `json:"id"`
	Path     string       `json:"path"`
	Format   string       `json:"format"`
	Size     int64        `json:"size"`
	SHA256   string       `json:"sha256"`
	MD5      string       `json:"stored_md5,omitempty"`
	SHA1     string       `json:"stored_sha1,omitempty"`
	Verified string       `json:"verified,omitempty"`
	Host     string       `json:"host"`
	Status   string       `json:"status"`
	Error    string       `json:"error,omitempty"`
	Events   int64        `json:"events"`
	Started  string       `json:"started"`
	Finished string       `json:"finished"`
	Files    []string     `json:"files"`
	Volumes  []VolumeInfo `json:"volumes"`
}

type VolumeInfo struct {
	Evidence string `json:"evidence,omitempty"`
	Index    int    `json:"index"`
	Scheme   string `json:"scheme"`
	Offset   int64  `json:"offset"`
	Size     int64  `json:"size"`
	FS       string `json:"fs"`
	Serial   string `json:"serial,omitempty"`
	Label    string `json:"label,omitempty"`
	Skipped  string `json:"skipped,omitempty"`
}

type HostInfo struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Domain string `json:"domain,omitempty"`
	OS     string `json:"os,omitempty"`
	TZ     string `json:"tz,omitempty"`
	Origin string `json:"origin"`
	Events int64  `json:"events"`
	// Duplicate is set when another host of the case claims the same name:
	// two images are never merged silently.
	Duplicate bool `json:"duplicate_name,omitempty"`
}

type SourceInfo struct {
	Evidence string `json:"evidence"`
	Path     string `json:"path"`
	Parser   string `json:"parser"`
	Artifact string `json:"artifact"`
	Status   string `json:"status"`
	Records  int64  `json:"records"`
	Events   int64  `json:"events"`
	Errors   int64  `json:"errors"`
	Error    string `json:"error,omitempty"`
}

type Count struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Summarize reads the whole summary; it uses only indexed or small tables.
func (c *Case) Summarize(ctx context.Context) (*Summary, error) {
	s := &Summary{Path: c.Path}
	var err error
	if s.Schema, err = c.SchemaVersion(); err != nil {
		return nil, err
	}
	if err := c.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&s.Events); err != nil {
		return nil, err
	}
	rows, err := c.DB.QueryContext(ctx, `SELECT e.id, e.path, e.format, e.size, e.sha256, e.stored_md5, e.stored_sha1,
		e.verified, COALESCE(h.name, ''), e.status, e.error, e.events, e.started, e.finished, e.files
		FROM evidence e LEFT JOIN hosts h ON h.id = e.host_id ORDER BY e.id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var e EvidenceInfo
		var files string
		if err := rows.Scan(&e.ID, &e.Path, &e.Format, &e.Size, &e.SHA256, &e.MD5, &e.SHA1, &e.Verified, &e.Host,
			&e.Status, &e.Error, &e.Events, &e.Started, &e.Finished, &files); err != nil {
			rows.Close()
			return nil, err
		}
		_ = json.Unmarshal([]byte(files), &e.Files)
		s.Evidence = append(s.Evidence, e)
	}
	rows.Close()
	for i := range s.Evidence {
		vr, err := c.DB.QueryContext(ctx, `SELECT idx, scheme, offset, size, fs, serial, label, skipped FROM volumes
			WHERE evidence_id = ? ORDER BY offset`, s.Evidence[i].ID)
		if err != nil {
			return nil, err
		}
		for vr.Next() {
			var v VolumeInfo
			if err := vr.Scan(&v.Index, &v.Scheme, &v.Offset, &v.Size, &v.FS, &v.Serial, &v.Label, &v.Skipped); err != nil {
				vr.Close()
				return nil, err
			}
			s.Evidence[i].Volumes = append(s.Evidence[i].Volumes, v)
			if v.Skipped != "" {
				v.Evidence = s.Evidence[i].Path
				s.Skipped = append(s.Skipped, v)
			}
		}
		vr.Close()
	}
	hr, err := c.DB.QueryContext(ctx, `SELECT h.id, h.name, h.domain, h.os, h.tz, h.origin,
		(SELECT COUNT(*) FROM events e WHERE e.host_id = h.id),
		(SELECT COUNT(*) FROM hosts o WHERE lower(o.name) = lower(h.name) AND o.id != h.id)
		FROM hosts h ORDER BY h.id`)
	if err != nil {
		return nil, err
	}
	for hr.Next() {
		var h HostInfo
		var dups int
		if err := hr.Scan(&h.ID, &h.Name, &h.Domain, &h.OS, &h.TZ, &h.Origin, &h.Events, &dups); err != nil {
			hr.Close()
			return nil, err
		}
		h.Duplicate = dups > 0
		s.Hosts = append(s.Hosts, h)
	}
	hr.Close()
	// Counted from events, not sources: one hive gives registry, shimcache,
	// amcache... events. The (artifact, ts) index makes this a scan of the
	// index only.
	if s.Artifacts, err = c.counts(ctx, `SELECT artifact, COUNT(*) FROM events GROUP BY artifact ORDER BY artifact`); err != nil {
		return nil, err
	}
	if s.Sources, err = c.counts(ctx, `SELECT status, COUNT(*) FROM sources GROUP BY status ORDER BY status`); err != nil {
		return nil, err
	}
	er, err := c.DB.QueryContext(ctx, `SELECT ev.path, s.path, s.parser, s.artifact, s.status, s.records, s.events,
		s.errors, s.error FROM sources s JOIN evidence ev ON ev.id = s.evidence_id
		WHERE s.status != 'ok' OR s.errors > 0 ORDER BY s.id`)
	if err != nil {
		return nil, err
	}
	for er.Next() {
		var si SourceInfo
		if err := er.Scan(&si.Evidence, &si.Path, &si.Parser, &si.Artifact, &si.Status, &si.Records, &si.Events,
			&si.Errors, &si.Error); err != nil {
			er.Close()
			return nil, err
		}
		s.Errors = append(s.Errors, si)
	}
	er.Close()
	return s, nil
}

func (c *Case) counts(ctx context.Context, q string) ([]Count, error) {
	rows, err := c.DB.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var k Count
		if err := rows.Scan(&k.Name, &k.Count); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
