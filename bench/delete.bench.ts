/**
 * Deletes on a large collection (SQLite): by keen.id and by filter+timeframe,
 * through Tally's delete use case (which also decrements schema counters)
 * next to SQLite deleting the same rows natively. Run: `npm run bench -- delete`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CollectionEvent } from '@app/events';
import { parseEventSelection } from '@app/query-engine';
import { schemaDeltas } from '@app/schema';
import { EventDeleter } from '@app/core';
import { SqliteDatabase, SqliteEventStore, SqliteMetadataStore, SqliteUnitOfWork } from '@app/storage/sqlite';
import { median } from './support/load';
import { tempDir } from './support/processes';

const TOTAL = Number(process.env.BENCH_EVENTS || 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS || 5);
const T0 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const idOf = (i: number) => i.toString(16).padStart(24, '0');

async function main(): Promise<void> {
  const dir = tempDir('tally-bench-delete-');
  const db = new SqliteDatabase(path.join(dir, 'tally.db'));
  const events = new SqliteEventStore(db);
  const metadata = new SqliteMetadataStore(db);
  const deleter = new EventDeleter(events, metadata, new SqliteUnitOfWork(db), {
    kind: 'transactional',
  });
  for (let i = 0; i < TOTAL; i += 20_000) {
    const chunk: CollectionEvent[] = Array.from({ length: Math.min(20_000, TOTAL - i) }, (_, k) => {
      const n = i + k;
      const id = idOf(n);
      const timestamp = T0 + n * MINUTE;
      return { collection: 'big', id, timestamp, event: { n, even: n % 2 === 0, keen: { id, timestamp: new Date(timestamp).toISOString() } } };
    });
    await events.insert('p', chunk);
    await metadata.applySchemaDeltas('p', schemaDeltas(chunk));
  }
  const nativeDelete = db.writer.prepare('DELETE FROM events WHERE project = ? AND id = ?');
  const nativeRange = db.writer.prepare(
    "DELETE FROM events WHERE project = ? AND collection = ? AND ts >= ? AND ts < ? AND json_extract(body, '$.even') = 1",
  );
  const time = async (fn: () => Promise<unknown> | unknown) => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const rows: string[] = [];
  const idTally: number[] = [];
  const idNative: number[] = [];
  const dayTally: number[] = [];
  const dayNative: number[] = [];
  let scannedIds = 0;
  let scannedDay = 0;
  for (let r = 0; r < RUNS; r++) {
    const ids = Array.from({ length: 10 }, (_, k) => idOf(r * 1000 + k * 97 + 13));
    const selection = parseEventSelection({ filters: JSON.stringify([{ property_name: 'keen.id', operator: 'in', property_value: ids }]) });
    idTally.push(await time(async () => (scannedIds = (await deleter.delete('p', 'big', selection)).scanned)));
    const nativeIds = Array.from({ length: 10 }, (_, k) => idOf(500_000 + r * 1000 + k * 97 + 13));
    idNative.push(await time(() => db.writer.transaction(() => nativeIds.forEach((id) => nativeDelete.run('p', id)))()));
    const day = (d: number) => ({ start: T0 + d * 86_400_000, end: T0 + (d + 1) * 86_400_000 });
    const tallyDay = day(10 + r);
    const daySelection = parseEventSelection({
      timeframe: JSON.stringify({ start: new Date(tallyDay.start).toISOString(), end: new Date(tallyDay.end).toISOString() }),
      filters: JSON.stringify([{ property_name: 'even', operator: 'eq', property_value: true }]),
    });
    dayTally.push(await time(async () => (scannedDay = (await deleter.delete('p', 'big', daySelection)).scanned)));
    const nativeDay = day(400 + r);
    dayNative.push(await time(() => nativeRange.run('p', 'big', nativeDay.start, nativeDay.end)));
  }
  rows.push(`| 10 ids by keen.id (in) | ${scannedIds} | ${median(idTally).toFixed(2)} | ${median(idNative).toFixed(2)} | ${(median(idTally) / median(idNative)).toFixed(1)} |`);
  rows.push(`| 1 day, even = true (720 of 1,440) | ${scannedDay} | ${median(dayTally).toFixed(2)} | ${median(dayNative).toFixed(2)} | ${(median(dayTally) / median(dayNative)).toFixed(1)} |`);
  process.stdout.write(
    `Deletes on a ${TOTAL.toLocaleString('en-US')}-event SQLite collection, median of ${RUNS}\n\n` +
      '| delete | events scanned | tally ms (incl. counters) | SQLite native ms | tally/native |\n|---|---|---|---|---|\n' +
      `${rows.join('\n')}\n`,
  );
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
