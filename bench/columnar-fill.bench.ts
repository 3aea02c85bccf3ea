/**
 * How fast the columnar copy takes in events (DuckdbEventTable.append, what
 * the copy's rounds and an upgrade's fill run), and what the typed columns of
 * other collections cost it. The copy keeps every collection's typed columns
 * in one table, so a server with many tenants has many columns, and each
 * appended row carries all of them. The same events (the engine bench's
 * collection, ~20 properties) are appended in the copy's windows (2,500 rows;
 * BENCH_FILL_WINDOW to change it) into a fresh
 * in-memory table that holds, besides, the columns of another project's
 * collection with `other` properties; `other` = 0 is the baseline, measured in
 * the same run, rounds alternating.
 *
 * Run: `npm run bench -- columnar-fill` (figures in docs/benchmarks.md).
 * Knobs: BENCH_FILL_EVENTS (100000), BENCH_ROUNDS (3), BENCH_FILL_OTHER
 * (0,500,1500), BENCH_FILL_WINDOW. BENCH_COMPARE_DIST: the dist/ directory of another build
 * (e.g. a worktree of an earlier commit), measured in the same rounds as
 * "before".
 */
import * as path from 'node:path';
import { StoredEvent } from '@app/events';
import { DuckdbEventTable } from '@app/storage/duckdb';
import { FEED_WINDOW } from '@app/storage/sqlite';
import { bakeoffEvent } from './support/bakeoff-events';
import { median } from './support/load';
import { fmt, rate, timed } from './support/timing';

const EVENTS = Number(process.env.BENCH_FILL_EVENTS || 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const OTHER = (process.env.BENCH_FILL_OTHER || '0,500,1500').split(',').map(Number);
const COMPARE_DIST = process.env.BENCH_COMPARE_DIST;
/** The copy's window: the change feed's row bound. */
const WINDOW = Number(process.env.BENCH_FILL_WINDOW || FEED_WINDOW.rows);

type Table = Pick<DuckdbEventTable, 'append' | 'close'>;
type Open = () => Promise<Table>;

interface Build {
  name: string;
  open: Open;
}

function builds(): Build[] {
  const list: Build[] = [{ name: 'tally', open: () => DuckdbEventTable.open({}) }];
  if (COMPARE_DIST) {
    const before = require(path.join(COMPARE_DIST, 'libs/storage/src/duckdb/event-table.js')) as {
      DuckdbEventTable: typeof DuckdbEventTable;
    };
    list.push({ name: 'before', open: () => before.DuckdbEventTable.open({}) });
  }
  return list;
}

function generate(): { events: StoredEvent[]; sources: { rid: number; body: string }[] } {
  const events: StoredEvent[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const e = bakeoffEvent(7, i, EVENTS);
    const iso = new Date(e.ts).toISOString();
    const body = { ...e.body, keen: { id: e.id, timestamp: iso, created_at: iso } };
    events.push({ id: e.id, timestamp: e.ts, event: body as never });
  }
  const sources = events.map((e, i) => ({ rid: i + 1, body: JSON.stringify(e.event) }));
  return { events, sources };
}

/** Events/s appending every event into a fresh table beside `other` foreign columns. */
async function fillRate(
  open: Open,
  other: number,
  data: ReturnType<typeof generate>,
): Promise<number> {
  const table = await open();
  try {
    if (other > 0) {
      const wide: Record<string, number> = {};
      for (let k = 0; k < other; k++) wide[`p${k}`] = k;
      await table.append('other-project', 'wide', [{ id: 'w1', timestamp: 0, event: wide }]);
    }
    const ms = await timed(async () => {
      for (let i = 0; i < EVENTS; i += WINDOW) {
        await table.append(
          'p',
          'events',
          data.events.slice(i, i + WINDOW),
          data.sources.slice(i, i + WINDOW),
        );
      }
    });
    return rate(EVENTS, ms);
  } finally {
    await table.close();
  }
}

async function main(): Promise<void> {
  const data = generate();
  const contenders = builds();
  const results = new Map<string, number[]>();
  const key = (b: string, other: number) => `${b}/${other}`;
  for (let round = 0; round < ROUNDS; round++) {
    for (const other of OTHER) {
      for (const b of contenders) {
        const list = results.get(key(b.name, other)) ?? [];
        list.push(await fillRate(b.open, other, data));
        results.set(key(b.name, other), list);
      }
    }
  }
  const lines = [
    `columnar copy fill: ${fmt(EVENTS)} events in windows of ${fmt(WINDOW)}, ${ROUNDS} rounds, medians (events/s)`,
    '',
    `| other columns | ${contenders.map((b) => `${b.name} events/s | ${b.name} vs 0 other`).join(' | ')}${COMPARE_DIST ? ' | tally/before' : ''} |`,
    `|---|${contenders.map(() => '---|---|').join('')}${COMPARE_DIST ? '---|' : ''}`,
  ];
  for (const other of OTHER) {
    const cells = contenders.map((b) => {
      const m = median(results.get(key(b.name, other))!);
      const base = median(results.get(key(b.name, OTHER[0]))!);
      return `${fmt(m)} | ${(m / base).toFixed(2)}`;
    });
    const ratio = COMPARE_DIST
      ? ` | ${(median(results.get(key('tally', other))!) / median(results.get(key('before', other))!)).toFixed(2)}`
      : '';
    lines.push(`| ${fmt(other)} | ${cells.join(' | ')}${ratio} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
