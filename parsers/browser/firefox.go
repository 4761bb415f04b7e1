package browser

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Firefox visit types (nsINavHistoryService TRANSITION_*).
var firefoxVisitTypes = map[int64]string{1: "link", 2: "typed", 3: "bookmark", 4: "embed", 5: "redirect_permanent",
	6: "redirect_temporary", 7: "download", 8: "framed_link", 9: "reload"}

// Firefox download metaData states (DownloadHistory METADATA_STATE_*).
var firefoxStates = map[int64]string{0: "in_progress", 1: "complete", 2: "failed", 3: "cancelled", 4: "paused",
	6: "blocked_parental", 7: "blocked_policy", 8: "dirty"}

func (p *parser) firefox(ctx context.Context) error {
	if err := p.firefoxVisits(ctx); err != nil {
		return err
	}
	return p.firefoxDownloads(ctx)
}

func (p *parser) firefoxVisits(ctx context.Context) error {
	rows, err := p.db.QueryContext(ctx, `SELECT v.id, v.visit_date, v.from_visit, v.visit_type, p.url, p.title, fp.url
	FROM moz_historyvisits v LEFT JOIN moz_places p ON p.id = v.place_id
	LEFT JOIN moz_historyvisits fv ON v.from_visit > 0 AND fv.id = v.from_visit
	LEFT JOIN moz_places fp ON fp.id = fv.place_id
	ORDER BY v.id`)
	if err != nil {
		return fmt.Errorf("%s: moz_historyvisits: %w", p.where(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, date, from, typ sql.NullInt64
		var u, title, ref sql.NullString
		if err := rows.Scan(&id, &date, &from, &typ, &u, &title, &ref); err != nil {
			p.errs.Add(fmt.Errorf("%s: moz_historyvisits row after id %d: %w", p.where(), id.Int64, err))
			continue
		}
		how, ok := firefoxVisitTypes[typ.Int64]
		if !ok {
			how = strconv.FormatInt(typ.Int64, 10)
		}
		e := &event.Event{Time: prTime(date.Int64), TimeDesc: "Visited", Artifact: event.Browser, Type: "visit",
			Path: u.String, Record: id.Int64, Offset: -1}
		e.Add("browser", p.browser)
		e.Add("url", u.String)
		e.Add("title", title.String)
		e.Add("referrer", ref.String)
		e.Add("from_visit", from.Int64)
		e.Add("transition", how)
		e.Message = visitMessage(p.browser, u.String, title.String, ref.String, how)
		if err := p.emit(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		p.errs.Add(fmt.Errorf("%s: moz_historyvisits: %w", p.where(), err))
	}
	return ctx.Err()
}

// firefoxMeta is the downloads/metaData annotation (JSON).
type firefoxMeta struct {
	State    *int64 `json:"state"`
	EndTime  int64  `json:"endTime"` // ms since 1970
	FileSize int64  `json:"fileSize"`
	Deleted  bool   `json:"deleted"`
	// reputationCheckVerdict: "MALWARE", "UNCOMMON", "POTENTIALLY_UNWANTED", "INSECURE" ...
	Verdict string `json:"reputationCheckVerdict"`
}

// firefoxDownloads reads downloads from page annotations (Firefox 26 and
// later; older versions kept them in downloads.sqlite). Each downloaded
// URL's moz_places row carries downloads/destinationFileURI (its
// dateAdded is the start) and downloads/metaData (state, end, size).
func (p *parser) firefoxDownloads(ctx context.Context) error {
	tables, err := tableNames(ctx, p.db)
	if err != nil {
		return fmt.Errorf("%s: %w", p.where(), err)
	}
	if !tables["moz_annos"] || !tables["moz_anno_attributes"] {
		return nil
	}
	rows, err := p.db.QueryContext(ctx, `SELECT a.place_id, n.name, a.content, a.dateAdded, p.url
	FROM moz_annos a JOIN moz_anno_attributes n ON n.id = a.anno_attribute_id
	LEFT JOIN moz_places p ON p.id = a.place_id
	WHERE n.name IN ('downloads/destinationFileURI', 'downloads/destinationFileName', 'downloads/metaData')
	ORDER BY a.place_id, a.id`)
	if err != nil {
		return fmt.Errorf("%s: moz_annos: %w", p.where(), err)
	}
	defer rows.Close()
	type dl struct {
		id                 int64
		url, uri, fileName string
		start              event.FileTime
		meta               firefoxMeta
		metaErr            error
	}
	var list []*dl
	byID := map[int64]*dl{}
	for rows.Next() {
		var place, added sql.NullInt64
		var name, content, u sql.NullString
		if err := rows.Scan(&place, &name, &content, &added, &u); err != nil {
			p.errs.Add(fmt.Errorf("%s: moz_annos row: %w", p.where(), err))
			continue
		}
		d := byID[place.Int64]
		if d == nil {
			d = &dl{id: place.Int64, url: u.String}
			byID[place.Int64] = d
			list = append(list, d)
		}
		switch name.String {
		case "downloads/destinationFileURI":
			d.uri = content.String
			d.start = prTime(added.Int64)
		case "downloads/destinationFileName":
			d.fileName = content.String
			if d.start == 0 {
				d.start = prTime(added.Int64)
			}
		case "downloads/metaData":
			if err := json.Unmarshal([]byte(content.String), &d.meta); err != nil {
				d.metaErr = err
			}
		}
	}
	if err := rows.Err(); err != nil {
		p.errs.Add(fmt.Errorf("%s: moz_annos: %w", p.where(), err))
	}
	rows.Close()
	for _, d := range list {
		if d.uri == "" && d.fileName == "" {
			continue // metaData alone names no file
		}
		if d.metaErr != nil {
			p.errs.Add(fmt.Errorf("%s: download of place %d: metaData: %w", p.where(), d.id, d.metaErr))
		}
		target := FileURIPath(d.uri)
		if target == "" {
			target = d.fileName
		}
		x := download{browser: p.browser, id: d.id, url: d.url, chain: []string{d.url}, target: target,
			start: d.start, received: d.meta.FileSize, total: d.meta.FileSize}
		if d.meta.EndTime > 0 && d.meta.EndTime < 1<<53 {
			x.end = prTime(d.meta.EndTime * 1000)
		}
		if d.meta.State != nil {
			s, ok := firefoxStates[*d.meta.State]
			if !ok {
				s = strconv.FormatInt(*d.meta.State, 10)
			}
			x.state = s
		}
		if d.meta.Verdict != "" {
			x.danger = d.meta.Verdict
		}
		if err := p.emitDownload(&x); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// FileURIPath turns file:///C:/Users/a/Downloads/x%20y.exe into
// C:\Users\a\Downloads\x y.exe (and file://host/share/x into
// \\host\share\x); other strings come back unchanged.
func FileURIPath(s string) string {
	if !strings.HasPrefix(strings.ToLower(s), "file:") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	p := u.Path
	if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
		return `\\` + u.Host + strings.ReplaceAll(p, "/", `\`)
	}
	if len(p) >= 3 && p[0] == '/' && p[2] == ':' {
		return strings.ReplaceAll(p[1:], "/", `\`)
	}
	return p
}
