package browser

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/foothold/foothold/parsers/event"
)

// Chrome page transition core types (ui::PageTransition & 0xFF).
var transitionNames = []string{"link", "typed", "auto_bookmark", "auto_subframe", "manual_subframe",
	"generated", "auto_toplevel", "form_submit", "reload", "keyword", "keyword_generated"}

// Transition qualifier bits, highest first as chrome://history shows them.
var transitionQualifiers = []struct {
	bit  uint32
	name string
}{
	{0x00800000, "blocked"},
	{0x01000000, "forward_back"},
	{0x02000000, "from_address_bar"},
	{0x04000000, "home_page"},
	{0x08000000, "from_api"},
	{0x10000000, "chain_start"},
	{0x20000000, "chain_end"},
	{0x40000000, "client_redirect"},
	{0x80000000, "server_redirect"},
}

// TransitionName renders a visits.transition value: "typed",
// "link|chain_start|chain_end".
func TransitionName(t uint32) string {
	core := t & 0xFF
	s := strconv.Itoa(int(core))
	if int(core) < len(transitionNames) {
		s = transitionNames[core]
	}
	for _, q := range transitionQualifiers {
		if t&q.bit != 0 {
			s += "|" + q.name
		}
	}
	return s
}

// Download danger types (download::DownloadDangerType).
var dangerNames = []string{"NOT_DANGEROUS", "DANGEROUS_FILE", "DANGEROUS_URL", "DANGEROUS_CONTENT",
	"MAYBE_DANGEROUS_CONTENT", "UNCOMMON_CONTENT", "USER_VALIDATED", "DANGEROUS_HOST", "POTENTIALLY_UNWANTED",
	"ALLOWLISTED_BY_POLICY", "ASYNC_SCANNING", "BLOCKED_PASSWORD_PROTECTED", "BLOCKED_TOO_LARGE",
	"SENSITIVE_CONTENT_WARNING", "SENSITIVE_CONTENT_BLOCK", "DEEP_SCANNED_SAFE", "DEEP_SCANNED_OPENED_DANGEROUS",
	"PROMPT_FOR_SCANNING", "BLOCKED_UNSUPPORTED_FILETYPE", "DANGEROUS_ACCOUNT_COMPROMISE"}

// DangerName renders downloads.danger_type.
func DangerName(d int64) string {
	if d >= 0 && d < int64(len(dangerNames)) {
		return dangerNames[d]
	}
	return strconv.FormatInt(d, 10)
}

// StateName renders downloads.state (download::DownloadItem::DownloadState
// as History stores it).
func StateName(s int64) string {
	switch s {
	case 0:
		return "in_progress"
	case 1:
		return "complete"
	case 2:
		return "cancelled"
	case 3:
		return "removing" // schemas before Chrome 26 only
	case 4:
		return "interrupted"
	}
	return strconv.FormatInt(s, 10)
}

// col returns "t.c" when the column exists, else a NULL placeholder, so
// one query serves every schema version.
func col(cols map[string]bool, alias, name string) string {
	if cols[name] {
		return alias + "." + name
	}
	return "NULL"
}

func (p *parser) chrome(ctx context.Context) error {
	if err := p.chromeVisits(ctx); err != nil {
		return err
	}
	return p.chromeDownloads(ctx)
}

func (p *parser) chromeVisits(ctx context.Context) error {
	vc, err := columns(ctx, p.db, "visits")
	if err != nil {
		return fmt.Errorf("%s: visits: %w", p.where(), err)
	}
	// The referrer is the URL of the visit named by from_visit; schemas
	// without the column have none.
	fromJoin := "0"
	if vc["from_visit"] {
		fromJoin = "v.from_visit > 0 AND fv.id = v.from_visit"
	}
	q := `SELECT v.id, v.visit_time, ` + col(vc, "v", "from_visit") + `, ` + col(vc, "v", "transition") + `, ` +
		col(vc, "v", "visit_duration") + `, u.url, u.title, fu.url
	FROM visits v LEFT JOIN urls u ON u.id = v.url
	LEFT JOIN visits fv ON ` + fromJoin + `
	LEFT JOIN urls fu ON fu.id = fv.url
	ORDER BY v.id`
	rows, err := p.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: visits: %w", p.where(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, vt, from, trans, dur sql.NullInt64
		var u, title, ref sql.NullString
		if err := rows.Scan(&id, &vt, &from, &trans, &dur, &u, &title, &ref); err != nil {
			p.errs.Add(fmt.Errorf("%s: visits row after id %d: %w", p.where(), id.Int64, err))
			continue
		}
		e := &event.Event{
			Time:     chromeTime(vt.Int64),
			TimeDesc: "Visited",
			Artifact: event.Browser,
			Type:     "visit",
			Path:     u.String,
			Record:   id.Int64,
			Offset:   -1,
		}
		tn := TransitionName(uint32(trans.Int64))
		e.Add("browser", p.browser)
		e.Add("url", u.String)
		e.Add("title", title.String)
		e.Add("referrer", ref.String)
		e.Add("from_visit", from.Int64)
		e.Add("transition", tn)
		if dur.Valid {
			e.Add("visit_duration_us", dur.Int64)
		}
		e.Message = visitMessage(p.browser, u.String, title.String, ref.String, tn)
		if err := p.emit(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		p.errs.Add(fmt.Errorf("%s: visits: %w", p.where(), err))
	}
	return ctx.Err()
}

func visitMessage(browser, u, title, ref, how string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s visit to %s", browser, u)
	if title != "" {
		fmt.Fprintf(&b, " (%q)", title)
	}
	if how != "" {
		fmt.Fprintf(&b, " by %s", how)
	}
	if ref != "" {
		fmt.Fprintf(&b, " from %s", ref)
	}
	return b.String()
}

func (p *parser) chromeDownloads(ctx context.Context) error {
	tables, err := tableNames(ctx, p.db)
	if err != nil {
		return fmt.Errorf("%s: %w", p.where(), err)
	}
	if !tables["downloads"] {
		return nil
	}
	chains := map[int64][]string{}
	if tables["downloads_url_chains"] {
		rows, err := p.db.QueryContext(ctx, `SELECT id, url FROM downloads_url_chains ORDER BY id, chain_index`)
		if err != nil {
			p.errs.Add(fmt.Errorf("%s: downloads_url_chains: %w", p.where(), err))
		} else {
			for rows.Next() {
				var id sql.NullInt64
				var u sql.NullString
				if err := rows.Scan(&id, &u); err != nil {
					p.errs.Add(fmt.Errorf("%s: downloads_url_chains row: %w", p.where(), err))
					continue
				}
				chains[id.Int64] = append(chains[id.Int64], u.String)
			}
			if err := rows.Err(); err != nil {
				p.errs.Add(fmt.Errorf("%s: downloads_url_chains: %w", p.where(), err))
			}
			rows.Close()
		}
	}
	dc, err := columns(ctx, p.db, "downloads")
	if err != nil {
		return fmt.Errorf("%s: downloads: %w", p.where(), err)
	}
	target := col(dc, "d", "target_path")
	if !dc["target_path"] {
		target = col(dc, "d", "full_path")
	}
	names := []string{"id", "guid", "current_path", "url", "start_time", "end_time", "received_bytes", "total_bytes",
		"state", "danger_type", "interrupt_reason", "referrer", "tab_url", "tab_referrer_url", "site_url", "mime_type",
		"hash", "opened", "last_access_time", "by_ext_name"}
	sel := []string{target}
	for _, n := range names {
		sel = append(sel, col(dc, "d", n))
	}
	rows, err := p.db.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM downloads d ORDER BY d.id`)
	if err != nil {
		return fmt.Errorf("%s: downloads: %w", p.where(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var tgt, guid, cur, u sql.NullString
		var id, start, end, recv, total, state, danger, interrupt sql.NullInt64
		var ref, tab, tabRef, site, mime sql.NullString
		var hash []byte
		var opened, lastAccess sql.NullInt64
		var byExt sql.NullString
		if err := rows.Scan(&tgt, &id, &guid, &cur, &u, &start, &end, &recv, &total, &state, &danger, &interrupt,
			&ref, &tab, &tabRef, &site, &mime, &hash, &opened, &lastAccess, &byExt); err != nil {
			p.errs.Add(fmt.Errorf("%s: downloads row after id %d: %w", p.where(), id.Int64, err))
			continue
		}
		chain := chains[id.Int64]
		if len(chain) == 0 && u.String != "" {
			chain = []string{u.String}
		}
		first := u.String
		if first == "" && len(chain) > 0 {
			first = chain[0]
		}
		d := download{
			browser: p.browser, id: id.Int64, url: first, chain: chain, referrer: ref.String, tabURL: tab.String,
			tabReferrer: tabRef.String, siteURL: site.String, target: tgt.String, current: cur.String,
			start: chromeTime(start.Int64), end: chromeTime(end.Int64), received: recv.Int64, total: total.Int64,
			state: StateName(state.Int64), mime: mime.String, guid: guid.String, byExt: byExt.String,
			opened: opened.Valid && opened.Int64 != 0, lastAccess: chromeTime(lastAccess.Int64),
		}
		if danger.Valid {
			d.danger = DangerName(danger.Int64)
		}
		if interrupt.Valid && interrupt.Int64 != 0 {
			d.interrupt = interrupt.Int64
		}
		if len(hash) == 32 {
			d.sha256 = hex.EncodeToString(hash)
		}
		if err := p.emitDownload(&d); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		p.errs.Add(fmt.Errorf("%s: downloads: %w", p.where(), err))
	}
	return ctx.Err()
}

// download is one download in either browser's terms.
type download struct {
	browser                                string
	id                                     int64
	url                                    string
	chain                                  []string
	referrer, tabURL, tabReferrer, siteURL string
	target, current                        string
	start, end, lastAccess                 event.FileTime
	received, total                        int64
	state, danger, mime, guid, byExt       string
	interrupt                              int64
	opened                                 bool
	sha256                                 string
}

// emitDownload emits the start and, when known, the end of a download.
func (p *parser) emitDownload(d *download) error {
	base := func(t event.FileTime, desc string) *event.Event {
		e := &event.Event{Time: t, TimeDesc: desc, Artifact: event.Browser, Type: "download", Path: d.target,
			Record: d.id, Offset: -1}
		e.Add("browser", p.browser)
		e.Add("url", d.url)
		e.Add("url_chain", strings.Join(d.chain, "\n"))
		e.Add("referrer", d.referrer)
		e.Add("tab_url", d.tabURL)
		if d.tabReferrer != "" {
			e.Add("tab_referrer_url", d.tabReferrer)
		}
		if d.siteURL != "" {
			e.Add("site_url", d.siteURL)
		}
		e.Add("target_path", d.target)
		if d.current != "" && d.current != d.target {
			e.Add("current_path", d.current)
		}
		e.Add("start_time", d.start)
		e.Add("end_time", d.end)
		e.Add("bytes", d.received)
		e.Add("total_bytes", d.total)
		e.Add("state", d.state)
		if d.danger != "" {
			e.Add("danger_type", d.danger)
		}
		if d.interrupt != 0 {
			e.Add("interrupt_reason", d.interrupt)
		}
		if d.mime != "" {
			e.Add("mime_type", d.mime)
		}
		if d.sha256 != "" {
			e.Add("sha256", d.sha256)
		}
		if d.guid != "" {
			e.Add("guid", d.guid)
		}
		if d.byExt != "" {
			e.Add("by_extension", d.byExt)
		}
		if d.opened {
			e.Add("opened", true)
		}
		final := d.url
		if len(d.chain) > 0 {
			final = d.chain[len(d.chain)-1]
		}
		verb := "started"
		if desc != "Download started" {
			verb = "finished"
		}
		var m strings.Builder
		fmt.Fprintf(&m, "%s download of %s to %s %s", p.browser, final, d.target, verb)
		if d.state != "" {
			fmt.Fprintf(&m, " (%s, %d of %d bytes", d.state, d.received, d.total)
			if d.danger != "" && d.danger != "NOT_DANGEROUS" {
				fmt.Fprintf(&m, ", %s", d.danger)
			}
			m.WriteString(")")
		}
		if d.referrer != "" {
			fmt.Fprintf(&m, " from page %s", d.referrer)
		}
		e.Message = m.String()
		return e
	}
	if err := p.emit(base(d.start, "Download started")); err != nil {
		return err
	}
	if d.end != 0 {
		return p.emit(base(d.end, "Download finished"))
	}
	return nil
}
