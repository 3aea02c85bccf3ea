import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StoredEvent } from '@app/events';
import { DuckdbEventTable } from './event-table';

/**
 * One project's share of the copy's typed columns (EventTableOptions.
 * projectColumns): a tenant with many distinct keys overflows its own
 * collections onto the TypeScript engine, and every other tenant keeps
 * getting columns for its new properties.
 */
describe("a project's share of the typed columns", () => {
  let dir: string;
  let table: DuckdbEventTable | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-columns-'));
  });
  afterEach(async () => {
    await table?.close();
    table = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const open = async (projectColumns: number) => {
    table = await DuckdbEventTable.open({ path: path.join(dir, 'copy.duckdb'), projectColumns });
    return table;
  };
  /** One event with numeric properties `keys` (one `n` column each). */
  const withKeys = (id: string, keys: string[]): StoredEvent => ({
    id,
    timestamp: Date.parse('2026-01-01T00:00:00Z'),
    event: Object.fromEntries(keys.map((k, i) => [k, i])),
  });
  const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const valuesOf = async (t: DuckdbEventTable, collection: string, key: string) => {
    const name = t.columns.nameOf(key, 'n');
    if (name === undefined) return undefined;
    return t.reading((rows) =>
      rows(`SELECT ${name} FROM events WHERE collection = $1 ORDER BY id`, [collection]),
    );
  };

  it("overflows only the project past its share; another project's new properties get columns", async () => {
    const t = await open(5);
    await t.append('greedy', 'wide', [withKeys('g1', keys('g', 8))]);
    expect(t.isComplete('greedy', 'wide')).toBe(false);
    expect(t.columns.projectColumnCount('greedy')).toBe(5);
    // Its rows are still kept, with the values of the columns it was given.
    expect(await valuesOf(t, 'wide', 'g0')).toEqual([[0]]);
    expect(t.columns.nameOf('g5', 'n')).toBeUndefined();

    await t.append('polite', 'narrow', [withKeys('p1', keys('p', 3))]);
    expect(t.isComplete('polite', 'narrow')).toBe(true);
    expect(await valuesOf(t, 'narrow', 'p2')).toEqual([[2]]);
    // The greedy project's next collection, even with keys that already have
    // columns, is past its share too; the polite one may reuse them.
    await t.append('greedy', 'again', [withKeys('g2', ['p0'])]);
    expect(t.isComplete('greedy', 'again')).toBe(false);
    await t.append('polite', 'reuse', [withKeys('p2', ['g0', 'g1'])]);
    expect(t.isComplete('polite', 'reuse')).toBe(true);
    expect(await valuesOf(t, 'reuse', 'g1')).toEqual([[1]]);
    expect(t.columns.projectColumnCount('polite')).toBe(5);
  });

  it('counts columns across the collections of a project, and within its share every collection is complete', async () => {
    const t = await open(6);
    await t.append('p', 'a', [withKeys('a1', keys('x', 4))]);
    await t.append('p', 'b', [withKeys('b1', ['x0', 'x1', 'y0', 'y1'])]);
    expect(t.isComplete('p', 'a')).toBe(true);
    expect(t.isComplete('p', 'b')).toBe(true);
    expect(t.columns.projectColumnCount('p')).toBe(6);
    await t.append('p', 'c', [withKeys('c1', ['x2', 'z0'])]);
    expect(t.isComplete('p', 'c')).toBe(false);
    expect(await valuesOf(t, 'c', 'x2')).toEqual([[0]]);
  });

  it('keeps the count across a reopen of the copy', async () => {
    let t = await open(4);
    await t.append('p', 'a', [withKeys('a1', keys('k', 4))]);
    await t.close();
    t = await open(4);
    expect(t.columns.projectColumnCount('p')).toBe(4);
    await t.append('p', 'b', [withKeys('b1', ['new'])]);
    expect(t.isComplete('p', 'b')).toBe(false);
    expect(t.isComplete('p', 'a')).toBe(true);
  });
});
