/** Every CQL statement of the store (tables: see cassandra-migrations.ts). */
export const CQL = {
  bucket: 'INSERT INTO event_buckets (project, collection, bucket) VALUES (?, ?, ?)',
  row: 'INSERT INTO events (project, collection, bucket, ts, id, body) VALUES (?, ?, ?, ?, ?, ?)',
  // Rows of uniqueness-token events: the first copy written stays (see CassandraEventWriter).
  rowIfAbsent:
    'INSERT INTO events (project, collection, bucket, ts, id, body) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS',
  // Claims of one partition go in one conditional batch: one Paxos round.
  claim:
    'INSERT INTO event_claims (project, part, id, collection, bucket, ts, claim) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS',
  lookup:
    'SELECT id, collection, bucket, ts, claim FROM event_claims WHERE project = ? AND part = ? AND id IN ?',
  deleteClaim: 'DELETE FROM event_claims WHERE project = ? AND part = ? AND id = ?',
  // events_by_id: claims made before event_claims (migration 3), read and deleted, never written.
  legacyAny: 'SELECT id FROM events_by_id LIMIT 1',
  legacyLookup:
    'SELECT id, collection, bucket, ts, claim FROM events_by_id WHERE project = ? AND id IN ?',
  legacyDelete: 'DELETE FROM events_by_id WHERE project = ? AND id = ?',
  point:
    'SELECT id, ts, body FROM events WHERE project = ? AND collection = ? AND bucket = ? AND ts = ? AND id = ?',
  // LWT compare-and-set: never recreates a row deleted meanwhile (the condition fails on it).
  replaceBody:
    'UPDATE events SET body = ? WHERE project = ? AND collection = ? AND bucket = ? AND ts = ? AND id = ? IF body = ?',
  deleteRow:
    'DELETE FROM events WHERE project = ? AND collection = ? AND bucket = ? AND ts = ? AND id = ?',
  /**
   * A delivery's stray row, through Paxos like the `rowIfAbsent` that may
   * have written it: a plain DELETE could be overtaken by a timed-out
   * `rowIfAbsent` that another LWT on the partition completes later with a
   * newer ballot timestamp, and the row would come back.
   */
  deleteStrayRow:
    'DELETE FROM events WHERE project = ? AND collection = ? AND bucket = ? AND ts = ? AND id = ? IF EXISTS',
  deletePartition: 'DELETE FROM events WHERE project = ? AND collection = ? AND bucket = ?',
  deleteBuckets: 'DELETE FROM event_buckets WHERE project = ? AND collection = ?',
  idsOfPartition: 'SELECT ts, id FROM events WHERE project = ? AND collection = ? AND bucket = ?',
  markerEvent: 'INSERT INTO marker_events (project, marker, id) VALUES (?, ?, ?)',
  markerEvents: 'SELECT id FROM marker_events WHERE project = ? AND marker = ?',
  forgetMarker: 'DELETE FROM marker_events WHERE project = ? AND marker = ?',
  countPartition:
    'SELECT count(*) AS n FROM events WHERE project = ? AND collection = ? AND bucket = ?',
};
