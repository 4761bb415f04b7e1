package bench

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/foothold/foothold/parsers/event"
	"github.com/foothold/foothold/parsers/ntfs"
	"github.com/foothold/foothold/timeline"
)

var (
	sampleOnce   sync.Once
	sampleEvents []event.Event
	sampleRows   [][]any
)

// sampleData is the corpus $MFT's events, captured once: real paths,
// messages and field sets, so both sides insert what an ingest inserts.
func sampleData(b *testing.B) ([]event.Event, [][]any) {
	path := mftPath(b)
	sampleOnce.Do(func() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		_, err = ntfs.ParseMFTFile(context.Background(), f, fi.Size(), event.SinkFunc(func(e *event.Event) error {
			c := *e
			c.Fields = append([]event.Field(nil), e.Fields...)
			sampleEvents = append(sampleEvents, c)
			return nil
		}))
		if err != nil {
			b.Fatal(err)
		}
		// The raw side gets its rows fully built, JSON included: it
		// measures SQLite alone. They are what the case stores, shared
		// fields included (events.same_fields), read back from a case
		// Foothold's writer made of the same events.
		dir, err := os.MkdirTemp("", "foothold-bench-rows")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		casePath := filepath.Join(dir, "rows.db")
		footholdInsert(b, casePath, sampleEvents, int64(len(sampleEvents)))
		c, err := timeline.Open(casePath)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		rows, err := c.DB.Query(`SELECT ts, ts_desc, macb, host_id, source_id, artifact, type, user, path, message,
			fields, same_fields, record, offset FROM events ORDER BY id`)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var ts, host, src, same, rec, off int64
			var desc, macb, art, typ, user, p, msg, fields string
			if err := rows.Scan(&ts, &desc, &macb, &host, &src, &art, &typ, &user, &p, &msg, &fields, &same, &rec, &off); err != nil {
				b.Fatal(err)
			}
			sampleRows = append(sampleRows, []any{ts, desc, macb, host, src, art, typ, user, p, msg, fields, same, rec, off})
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
	})
	return sampleEvents, sampleRows
}

// BenchmarkEventsInsert compares, on the same rows, this machine's plain
// SQLite insert rate into the events table (one prepared single-row
// INSERT, one transaction, the case's journal and synchronous=OFF, no
// indexes, no FTS) with
// Foothold's writer path (Source.Emit → writer goroutine → Finish).
// Both then pay for the same indexes and FTS: the raw side runs the same
// statements after its load, so the totals are comparable too.
func BenchmarkEventsInsert(b *testing.B) {
	events, rows := sampleData(b)
	var rawLoad, rawIdx, fhLoad, fhFin []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		l, x := rawInsert(b, filepath.Join(dir, "raw.db"), rows)
		rawLoad, rawIdx = append(rawLoad, l), append(rawIdx, x)
		l, x = footholdInsert(b, filepath.Join(dir, "foothold.db"), events, int64(len(rows)))
		fhLoad, fhFin = append(fhLoad, l), append(fhFin, x)
	}
	n := float64(len(rows))
	rl, ri, fl, ff := median(rawLoad), median(rawIdx), median(fhLoad), median(fhFin)
	b.ReportMetric(n, "rows")
	b.ReportMetric(n/rl, "raw-load-rows/s")
	b.ReportMetric(n/(rl+ri), "raw-total-rows/s")
	b.ReportMetric(ri, "raw-index+fts-s")
	b.ReportMetric(n/fl, "foothold-load-rows/s")
	b.ReportMetric(n/(fl+ff), "foothold-total-rows/s")
	b.ReportMetric(ff, "foothold-finish-s")
	b.ReportMetric(fl/rl, "load-ratio")
	b.ReportMetric((fl+ff)/(rl+ri), "total-ratio")
	b.ReportMetric(0, "ns/op")
}

func rawInsert(b *testing.B, path string, rows [][]any) (load, index float64) {
	c, err := timeline.Open(path) // same schema, DSN and pragmas as a case
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	t0 := time.Now()
	tx, err := c.DB.Begin()
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO events(ts, ts_desc, macb, host_id, source_id, artifact, type, user, path, message, fields, same_fields, record, offset)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		if _, err := ins.Exec(r...); err != nil {
			b.Fatal(err)
		}
	}
	ins.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	if err := timeline.IndexAll(c.DB); err != nil {
		b.Fatal(err)
	}
	t2 := time.Now()
	checkCount(b, c.DB, int64(len(rows)))
	return t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds()
}

func footholdInsert(b *testing.B, path string, events []event.Event, want int64) (load, finish float64) {
	c, err := timeline.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	t0 := time.Now()
	in, err := c.BeginIngest(context.Background(), &timeline.Evidence{Path: path, Format: "bench", SHA256: "bench",
		Host: "bench", Origin: "cli"})
	if err != nil {
		b.Fatal(err)
	}
	src := in.BeginSource(0, "$MFT", "ntfs.mft", event.MFT)
	for i := range events {
		if err := src.Emit(&events[i]); err != nil {
			b.Fatal(err)
		}
	}
	src.Done(int64(len(events)), 0, nil)
	t1 := time.Now()
	if err := in.Finish(nil); err != nil {
		b.Fatal(err)
	}
	t2 := time.Now()
	checkCount(b, c.DB, want)
	return t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds()
}

// checkCount checks both sides stored every row and indexed it for
// full-text search (the index keeps no row of its own per event, so the
// vocabulary's distinct documents are counted).
func checkCount(b *testing.B, db *sql.DB, want int64) {
	if _, err := db.Exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_words USING fts5vocab(main, events_fts, 'instance')`); err != nil {
		b.Fatal(err)
	}
	var n, fts int64
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(DISTINCT doc) FROM temp.fts_words)`).Scan(&n, &fts); err != nil {
		b.Fatal(err)
	}
	if n != want || fts != want {
		b.Fatalf("%d events and %d FTS rows stored, want %d", n, fts, want)
	}
}
