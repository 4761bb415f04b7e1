package timeline

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
)

// eventInsert writes event rows through the driver's own statements on the
// writer's connection. database/sql converts and checks every argument of
// every statement, 3.3 million for the corpus $MFT's events, which was a
// tenth of the writer's time; go-sqlite3 takes them as they are, and binds
// and steps each statement in one cgo call (see run).
type eventInsert struct {
	conn      *sql.Conn
	one, many driver.StmtQueryContext
	closers   []driver.Stmt
	args      []driver.NamedValue
}

const insertCols = `INSERT INTO events(ts, ts_desc, macb, host_id, source_id, artifact, type, user, path, message, fields, same_fields, record, offset) VALUES `

// rowCols is how many values a row binds (insertCols, row.values).
const rowCols = 14

// prepare readies the statements on conn, which must stay open until close.
func (e *eventInsert) prepare(conn *sql.Conn) error {
	e.conn = conn
	if e.args == nil {
		e.args = make([]driver.NamedValue, multiRows*rowCols)
		for i := range e.args {
			e.args[i].Ordinal = i + 1
		}
	}
	ph := "(" + strings.TrimSuffix(strings.Repeat("?,", rowCols), ",") + ")"
	return conn.Raw(func(dc any) error {
		prep := func(q string) (driver.StmtQueryContext, error) {
			st, err := dc.(driver.Conn).Prepare(q)
			if err != nil {
				return nil, err
			}
			e.closers = append(e.closers, st)
			sq, ok := st.(driver.StmtQueryContext)
			if !ok {
				return nil, fmt.Errorf("driver statement %T cannot query with context", st)
			}
			return sq, nil
		}
		var err error
		if e.one, err = prep(insertCols + ph); err != nil {
			return err
		}
		e.many, err = prep(insertCols + strings.TrimSuffix(strings.Repeat(ph+",", multiRows), ","))
		return err
	})
}

// insert writes rows in order, multiRows to a statement: their ids are
// consecutive, which same_fields relies on.
func (e *eventInsert) insert(rows []row) error {
	return e.conn.Raw(func(any) error {
		for len(rows) > 0 {
			st, n := e.many, multiRows
			if len(rows) < multiRows {
				st, n = e.one, 1
			}
			for i := range rows[:n] {
				rows[i].values(e.args[i*rowCols : (i+1)*rowCols])
			}
			if err := step(st, e.args[:n*rowCols]); err != nil {
				return err
			}
			rows = rows[n:]
		}
		return nil
	})
}

// step runs an INSERT to its end.
func step(st driver.StmtQueryContext, args []driver.NamedValue) error {
	r, err := st.QueryContext(context.Background(), args)
	if err != nil {
		return err
	}
	for {
		if err := r.Next(nil); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			r.Close()
			return err
		}
	}
	return r.Close()
}

// close releases the statements; the connection stays open.
func (e *eventInsert) close() error {
	if e.conn == nil {
		return nil
	}
	var errs []error
	err := e.conn.Raw(func(any) error {
		for _, st := range e.closers {
			errs = append(errs, st.Close())
		}
		return nil
	})
	e.conn, e.one, e.many, e.closers = nil, nil, nil, e.closers[:0]
	return errors.Join(append(errs, err)...)
}

func (r *row) values(v []driver.NamedValue) {
	v[0].Value, v[1].Value, v[2].Value, v[3].Value = r.ts, r.tsDesc, r.macb, r.host
	v[4].Value, v[5].Value, v[6].Value, v[7].Value = r.source, r.artifact, r.typ, r.user
	v[8].Value, v[9].Value, v[10].Value, v[11].Value = r.path, r.message, r.fields, r.same
	v[12].Value, v[13].Value = r.record, r.offset
}
