package movement

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/foothold/foothold/timeline"
)

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Save replaces the case's identities, address bindings, accounts and
// edges with res, in one transaction.
func Save(ctx context.Context, c *timeline.Case, res *Result) error {
	tx, err := c.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("movement: save: %w", err)
	}
	defer tx.Rollback()
	for _, t := range []string{"edge_events", "edges", "accounts", "host_addresses", "identities", "clock_offsets"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return fmt.Errorf("movement: save %s: %w", t, err)
		}
	}
	for _, h := range res.Identity.SortedHosts() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO identities(name, names, collected, unknown, note) VALUES (?,?,?,?,?)`,
			h.Name, jsonText(h.Names), h.Collected, h.Unknown, h.Note); err != nil {
			return fmt.Errorf("movement: save identity %s: %w", h.Name, err)
		}
		for _, b := range h.Addresses {
			if _, err := tx.ExecContext(ctx, `INSERT INTO host_addresses(ip, host, first, last, open, count, sources) VALUES (?,?,?,?,?,?,?)`,
				b.IP, b.Host, int64(b.First), int64(b.Last), b.Open, b.Count, jsonText(b.Sources)); err != nil {
				return fmt.Errorf("movement: save address %s: %w", b.IP, err)
			}
		}
	}
	for _, o := range res.Clocks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO clock_offsets(host, seconds, pairs, spread, reference) VALUES (?,?,?,?,?)`,
			o.Host, o.Seconds, o.Pairs, o.Spread, o.Reference); err != nil {
			return fmt.Errorf("movement: save clock offset %s: %w", o.Host, err)
		}
	}
	for _, a := range res.Identity.Accounts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts(sid, names) VALUES (?,?)`, a.SID, jsonText(a.Names)); err != nil {
			return fmt.Errorf("movement: save account %s: %w", a.SID, err)
		}
	}
	for _, e := range res.Edges {
		r, err := tx.ExecContext(ctx, `INSERT INTO edges(source, destination, technique, account, authentication, first, last, count, confidence, flags)
VALUES (?,?,?,?,?,?,?,?,?,?)`, e.Source, e.Destination, e.Technique, e.Account, e.Authentication, int64(e.First), int64(e.Last),
			e.Count, e.Confidence, jsonText(e.Flags))
		if err != nil {
			return fmt.Errorf("movement: save edge: %w", err)
		}
		eid, _ := r.LastInsertId()
		for i, o := range e.Occurrences {
			for _, ref := range o.Evidence {
				if _, err := tx.ExecContext(ctx, `INSERT INTO edge_events(edge_id, occurrence, event_id, side, host, type, ts, rule, dest_time, source_time, source_address, confidence)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, eid, i, ref.EventID, ref.Side, ref.Host, ref.Type, int64(ref.Time), ref.Rule,
					int64(o.DestTime), int64(o.SourceTime), o.SourceAddress, o.Confidence); err != nil {
					return fmt.Errorf("movement: save edge event: %w", err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("movement: save: %w", err)
	}
	return nil
}

// SortedHosts lists host entities by name, with their bindings by time.
func (id *Identity) SortedHosts() []*Host {
	var hs []*Host
	for _, h := range id.Hosts {
		sort.Slice(h.Addresses, func(i, j int) bool { return h.Addresses[i].First < h.Addresses[j].First })
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
	return hs
}

// SaveTrace stores a trace (the newest is what readers show).
func SaveTrace(ctx context.Context, c *timeline.Case, from string, tr *Trace) error {
	_, err := c.DB.ExecContext(ctx, `INSERT INTO traces(seed, created, trace) VALUES (?, ?, ?)`,
		from, time.Now().UTC().Format(time.RFC3339), jsonText(tr))
	if err != nil {
		return fmt.Errorf("movement: save trace: %w", err)
	}
	return nil
}
