package timeline

import "database/sql"

// migrations are applied in order; PRAGMA user_version records how many ran.
// Never edit a released migration: append a new one.
var migrations = []string{
	// 1: the case shape every later capability reads.
	`
CREATE TABLE hosts (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,          -- as the evidence or the user names it; not unique: two images may claim one name
	domain  TEXT NOT NULL DEFAULT '',
	os      TEXT NOT NULL DEFAULT '',
	tz      TEXT NOT NULL DEFAULT '',
	origin  TEXT NOT NULL DEFAULT '', -- cli, evidence-name, registry, event
	details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX hosts_name ON hosts(name);

CREATE TABLE evidence (
	id          INTEGER PRIMARY KEY,
	path        TEXT NOT NULL,
	format      TEXT NOT NULL,
	size        INTEGER NOT NULL,
	sha256      TEXT NOT NULL UNIQUE,      -- of the evidence bytes (segments in order; a folder: of its file list and hashes)
	quick_id    TEXT NOT NULL DEFAULT '',  -- size and sampled bytes: finds a re-ingest before hashing everything
	files       TEXT NOT NULL DEFAULT '[]',  -- JSON: every file making up the evidence
	stored_md5  TEXT NOT NULL DEFAULT '',
	stored_sha1 TEXT NOT NULL DEFAULT '',
	verified    TEXT NOT NULL DEFAULT '',    -- '' (not asked), 'ok', or what did not match
	metadata    TEXT NOT NULL DEFAULT '{}',
	host_id     INTEGER REFERENCES hosts(id),
	status      TEXT NOT NULL,               -- ingesting, complete, interrupted, failed
	error       TEXT NOT NULL DEFAULT '',
	pid         INTEGER NOT NULL DEFAULT 0,  -- of the ingesting process, to tell a crash from a live ingest
	started     TEXT NOT NULL DEFAULT '',
	finished    TEXT NOT NULL DEFAULT '',
	events      INTEGER NOT NULL DEFAULT 0,
	first_event INTEGER NOT NULL DEFAULT 0   -- events of one evidence are one id range: cheap cleanup and FTS catch-up
);

CREATE INDEX evidence_quick ON evidence(quick_id);

CREATE TABLE volumes (
	id          INTEGER PRIMARY KEY,
	evidence_id INTEGER NOT NULL REFERENCES evidence(id),
	idx         INTEGER NOT NULL,
	scheme      TEXT NOT NULL,   -- mbr, gpt, none
	offset      INTEGER NOT NULL,
	size        INTEGER NOT NULL,
	type        TEXT NOT NULL DEFAULT '',
	name        TEXT NOT NULL DEFAULT '',
	fs          TEXT NOT NULL DEFAULT '',
	serial      TEXT NOT NULL DEFAULT '',
	label       TEXT NOT NULL DEFAULT '',
	skipped     TEXT NOT NULL DEFAULT ''  -- why the volume was not parsed
);

CREATE TABLE sources (
	id          INTEGER PRIMARY KEY,
	evidence_id INTEGER NOT NULL REFERENCES evidence(id),
	volume_id   INTEGER REFERENCES volumes(id),
	host_id     INTEGER REFERENCES hosts(id),
	path        TEXT NOT NULL,     -- artifact path inside the evidence (or on disk for standalone files)
	parser      TEXT NOT NULL,
	artifact    TEXT NOT NULL,
	status      TEXT NOT NULL,     -- running, ok, partial, error, interrupted
	records     INTEGER NOT NULL DEFAULT 0,
	events      INTEGER NOT NULL DEFAULT 0,
	errors      INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	started     TEXT NOT NULL DEFAULT '',
	finished    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sources_evidence ON sources(evidence_id);

-- ts is a raw FILETIME (100 ns ticks since 1601, UTC); fields is JSON.
-- Provenance: source -> (evidence, volume offset, artifact path) plus record/offset here.
CREATE TABLE events (
	id        INTEGER PRIMARY KEY,
	ts        INTEGER NOT NULL,
	ts_desc   TEXT NOT NULL,
	macb      TEXT NOT NULL,
	host_id   INTEGER,
	source_id INTEGER NOT NULL,
	artifact  TEXT NOT NULL,
	type      TEXT NOT NULL,
	user      TEXT NOT NULL,
	path      TEXT NOT NULL,
	message   TEXT NOT NULL,
	fields    TEXT NOT NULL,
	record    INTEGER NOT NULL,
	offset    INTEGER NOT NULL
);

-- One text per event: its message, plus its path when the message does not
-- already contain it (MFT and USN messages do), which halves the tokens to
-- index. Contentless: queries only need rowids. detail=none: no positions,
-- so a search matches tokens and adds an exact substring check.
CREATE VIRTUAL TABLE events_fts USING fts5(
	text, content='', contentless_delete=1, detail=none,
	tokenize="unicode61 remove_diacritics 2"
);

CREATE VIEW timeline AS
SELECT e.id, e.ts, e.ts_desc, e.macb, COALESCE(h.name, '') AS host, e.artifact, e.type, e.user, e.path,
       e.message, e.fields, e.record, e.offset, e.source_id,
       ev.id AS evidence_id, ev.path AS evidence, COALESCE(v.offset, -1) AS volume_offset, s.path AS artifact_path,
       s.parser AS parser
FROM events e
JOIN sources s ON s.id = e.source_id
JOIN evidence ev ON ev.id = s.evidence_id
LEFT JOIN hosts h ON h.id = e.host_id
LEFT JOIN volumes v ON v.id = s.volume_id;
`,
	// 2: the investigator's own marks from the TUI: bookmarks, tags, notes and
	// saved filters. Keyed by event id; an event removed by a re-ingest
	// leaves its marks behind rather than losing notes.
	`
CREATE TABLE tui_bookmarks (
	event_id INTEGER PRIMARY KEY,
	created  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE tui_tags (
	event_id INTEGER NOT NULL,
	tag      TEXT NOT NULL,
	created  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (event_id, tag)
);
CREATE INDEX tui_tags_tag ON tui_tags(tag);
CREATE TABLE tui_notes (
	id       INTEGER PRIMARY KEY,
	event_id INTEGER NOT NULL,
	text     TEXT NOT NULL,
	created  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tui_notes_event ON tui_notes(event_id);
CREATE TABLE tui_filters (
	name    TEXT PRIMARY KEY,
	query   TEXT NOT NULL,
	created TEXT NOT NULL DEFAULT ''
);
`,
	// 3: movement analysis (timeline/movement): identities, address bindings,
	// accounts and edges, so readers need not recompute them.
	`
CREATE TABLE identities (
	name      TEXT PRIMARY KEY,
	names     TEXT NOT NULL DEFAULT '[]', -- JSON: every spelling seen
	collected INTEGER NOT NULL DEFAULT 0,
	unknown   INTEGER NOT NULL DEFAULT 0,
	note      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE host_addresses (
	ip      TEXT NOT NULL,
	host    TEXT NOT NULL,
	first   INTEGER NOT NULL, -- raw FILETIME
	last    INTEGER NOT NULL,
	open    INTEGER NOT NULL DEFAULT 0,
	count   INTEGER NOT NULL DEFAULT 0,
	sources TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX host_addresses_ip ON host_addresses(ip, first);
CREATE TABLE accounts (
	sid   TEXT PRIMARY KEY,
	names TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE edges (
	id             INTEGER PRIMARY KEY,
	source         TEXT NOT NULL,
	destination    TEXT NOT NULL,
	technique      TEXT NOT NULL,
	account        TEXT NOT NULL,
	authentication TEXT NOT NULL,
	first          INTEGER NOT NULL, -- raw FILETIME, destination clock when observed there
	last           INTEGER NOT NULL,
	count          INTEGER NOT NULL,
	confidence     TEXT NOT NULL,
	flags          TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE edge_events (
	edge_id     INTEGER NOT NULL REFERENCES edges(id),
	occurrence  INTEGER NOT NULL,
	event_id    INTEGER NOT NULL,
	side        TEXT NOT NULL, -- destination, source, dc
	host        TEXT NOT NULL,
	type        TEXT NOT NULL,
	ts          INTEGER NOT NULL, -- raw, on that host's clock
	rule        TEXT NOT NULL,
	dest_time   INTEGER NOT NULL DEFAULT 0,
	source_time INTEGER NOT NULL DEFAULT 0,
	source_address TEXT NOT NULL DEFAULT '',
	confidence  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX edge_events_edge ON edge_events(edge_id);
`,
	// 4: clock offsets estimated from paired events (host clock minus the
	// reference host's); raw times are never rewritten.
	`
CREATE TABLE clock_offsets (
	host      TEXT PRIMARY KEY,
	seconds   REAL NOT NULL,
	pairs     INTEGER NOT NULL,
	spread    REAL NOT NULL,
	reference TEXT NOT NULL
);
`,
	// 5: traces, kept so the TUI and reports read them without rerunning.
	`
CREATE TABLE traces (
	id      INTEGER PRIMARY KEY,
	seed    TEXT NOT NULL,   -- what --from said
	created TEXT NOT NULL,
	trace   TEXT NOT NULL    -- JSON: seed, compromise times, hops, context edges
);
`,
	// 6: the writer full-text indexes events while it loads them; fts_upto
	// is the highest event id indexed, committed with those rows, so a
	// resumed or recovered ingest indexes each event exactly once.
	`
ALTER TABLE evidence ADD COLUMN fts_upto INTEGER NOT NULL DEFAULT 0;
`,
	// 7: events of one record that carry the same fields (an MFT entry's
	// $SI times, a link file's three times) store them once: the others
	// keep fields empty and same_fields = how many ids back the event that
	// holds them is. Readers go through FieldsSQL or the timeline view.
	`
ALTER TABLE events ADD COLUMN same_fields INTEGER NOT NULL DEFAULT 0;
DROP VIEW timeline;
CREATE VIEW timeline AS
SELECT e.id, e.ts, e.ts_desc, e.macb, COALESCE(h.name, '') AS host, e.artifact, e.type, e.user, e.path,
       e.message, ` + FieldsSQL + ` AS fields, e.record, e.offset, e.source_id,
       ev.id AS evidence_id, ev.path AS evidence, COALESCE(v.offset, -1) AS volume_offset, s.path AS artifact_path,
       s.parser AS parser
FROM events e
JOIN sources s ON s.id = e.source_id
JOIN evidence ev ON ev.id = s.evidence_id
LEFT JOIN hosts h ON h.id = e.host_id
LEFT JOIN volumes v ON v.id = s.volume_id;
`,
	// 8: the full-text index stops keeping a token count per event
	// (columnsize=0): nothing ranks matches, and writing that row was a
	// third of the indexing time. contentless_delete cannot go with it, so
	// removing an unfinished evidence deletes its indexed rows with the
	// 'delete' command and the same text (see removeEvidence), and
	// fts_upto, now exact once an evidence is finished, says which rows
	// those are. Every event is indexed afresh.
	`
DROP TABLE events_fts;
CREATE VIRTUAL TABLE events_fts USING fts5(
	text, content='', columnsize=0, detail=none,
	tokenize="unicode61 remove_diacritics 2"
);
INSERT INTO events_fts(rowid, text)
	SELECT id, CASE WHEN path = '' OR instr(message, path) > 0 THEN message ELSE message || ' ' || path END FROM events;
UPDATE evidence SET fts_upto = (SELECT COALESCE(MAX(id), 0) FROM events);
`,
}

// FieldsSQL is an event's fields (JSON) in a query whose events table is
// aliased e; see migration 7. Shared fields are one rowid lookup away.
const FieldsSQL = `CASE e.same_fields WHEN 0 THEN e.fields ELSE (SELECT f.fields FROM events f WHERE f.id = e.id - e.same_fields) END`

// ftsText is what the full-text index holds for an event (see events_fts).
const ftsText = `CASE WHEN path = '' OR instr(message, path) > 0 THEN message ELSE message || ' ' || path END`

// ftsCatchUp indexes an evidence's events from an id on (args: first id,
// evidence id).
const ftsCatchUp = `INSERT INTO events_fts(rowid, text) SELECT id, ` + ftsText + ` FROM events
	WHERE id >= ? AND source_id IN (SELECT id FROM sources WHERE evidence_id = ?)`

// ftsDelete removes an evidence's indexed events from the full-text index
// (args: first and last id, evidence id). A contentless index forgets a
// row only when given the text it indexed for it, and SQLite documents
// deleting anything else as corrupting: the last id is evidence.fts_upto,
// so only rows it indexed are named.
const ftsDelete = `INSERT INTO events_fts(events_fts, rowid, text) SELECT 'delete', id, ` + ftsText + ` FROM events
	WHERE id BETWEEN ? AND ? AND source_id IN (SELECT id FROM sources WHERE evidence_id = ?)`

// indexes are built after a bulk load (building them first halves the
// insert rate) and kept from then on; IF NOT EXISTS makes this idempotent.
const indexes = `
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE INDEX IF NOT EXISTS events_host_ts ON events(host_id, ts);
CREATE INDEX IF NOT EXISTS events_artifact_ts ON events(artifact, ts);
CREATE INDEX IF NOT EXISTS events_type_ts ON events(type, ts);
`

// IndexAll builds the indexes and the full-text rows for every event of a
// case whose events were inserted by other means; the benchmarks' raw
// SQLite baseline uses it to reach the same end state as an ingest.
func IndexAll(db *sql.DB) error {
	if _, err := db.Exec(indexes); err != nil {
		return err
	}
	_, err := db.Exec(`INSERT INTO events_fts(rowid, text) SELECT id, ` + ftsText + ` FROM events`)
	return err
}
