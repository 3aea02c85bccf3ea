import { StoredEvent } from '@app/events';
import { ColumnKind } from './column-layout';
import { DuckdbEventTable } from './event-table';

/**
 * The typed columns one collection's rows do not have are written NULL whole
 * (null-column.ts). Read back through DuckDB: every such cell is NULL (not an
 * empty string, a 0, false or an empty list), and the cells the rows do have
 * hold their values, for every column type, whichever collection added the
 * column first, and across chunk boundaries (2,048 rows).
 */
describe('columns a collection does not have are NULL', () => {
  let table: DuckdbEventTable;
  beforeEach(async () => {
    table = await DuckdbEventTable.open({});
  });
  afterEach(async () => {
    await table.close();
  });

  const T0 = Date.parse('2026-01-01T00:00:00Z');
  /** Appends `n` events made by `body` to collection `collection` of project `p`. */
  const append = (collection: string, n: number, body: (i: number) => object) =>
    table.append(
      'p',
      collection,
      Array.from({ length: n }, (_, i) => ({
        id: `${collection}-${i}`,
        timestamp: T0 + i,
        event: body(i) as StoredEvent['event'],
      })),
    );

  /** Every kind of column: a number, a string, a time, a bool, null, an array, an object. */
  const wide = (i: number) => ({
    price: i + 0.5,
    name: `n${i}`,
    at: '2026-01-01T00:00:00.000Z',
    ok: i % 2 === 0,
    gone: null,
    tags: ['a', i],
    user: { id: `u${i}` },
  });

  async function cells(collection: string, path: string, kind: ColumnKind): Promise<unknown[]> {
    const name = table.columns.nameOf(path, kind);
    if (name === undefined) throw new Error(`no ${kind} column for ${path}`);
    return table.reading(async (rows) =>
      (
        await rows(`SELECT ${name}::VARCHAR FROM events WHERE collection = $1 ORDER BY ts, id`, [
          collection,
        ])
      ).map((r) => r[0]),
    );
  }

  const kinds: [string, ColumnKind][] = [
    ['price', 'n'],
    ['name', 's'],
    ['at', 't'],
    ['ok', 'b'],
    ['gone', 'z'],
    ['tags', 'a'],
    ['tags', 'e'],
    ['user', 'o'],
    ['user.id', 's'],
  ];

  it('holds NULL in every other collection column, and each row its own values', async () => {
    // `wide` adds its columns first; `narrow` then appends over 2 chunks without them.
    await append('wide', 3, wide);
    await append('narrow', 4100, (i) => ({ count: i }));
    await append('wide2', 5, wide);

    for (const [path, kind] of kinds) {
      const narrow = await cells('narrow', path, kind);
      expect(narrow).toHaveLength(4100);
      expect(narrow.filter((v) => v !== null)).toEqual([]);
    }
    const counts = await cells('narrow', 'count', 'n');
    expect(counts.map(Number)).toEqual(Array.from({ length: 4100 }, (_, i) => i));
    // The wide rows appended after the narrow ones: their own values, and NULL in `count`.
    expect(await cells('wide2', 'count', 'n')).toEqual([null, null, null, null, null]);
    expect(await cells('wide2', 'price', 'n')).toEqual(['0.5', '1.5', '2.5', '3.5', '4.5']);
    expect(await cells('wide2', 'name', 's')).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(await cells('wide2', 'ok', 'b')).toEqual(['true', 'false', 'true', 'false', 'true']);
    expect(await cells('wide2', 'gone', 'z')).toEqual(['true', 'true', 'true', 'true', 'true']);
    expect(await cells('wide2', 'user.id', 's')).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
    const elements = await cells('wide2', 'tags', 'e');
    expect(elements).toEqual(
      Array.from(
        { length: 5 },
        (_, i) =>
          `[{'n': NULL, 's': a, 'ns': NULL, 't': NULL, 'b': NULL, 'z': NULL, 'o': NULL}, ` +
          `{'n': ${i}.0, 's': NULL, 'ns': NULL, 't': NULL, 'b': NULL, 'z': NULL, 'o': NULL}]`,
      ),
    );
  });

  it('answers a compiled-style count of missing values over the NULL cells', async () => {
    await append('wide', 10, wide);
    await append('narrow', 50, (i) => ({ count: i }));
    const price = table.columns.nameOf('price', 'n')!;
    const tags = table.columns.nameOf('tags', 'e')!;
    const [[missing, emptyLists]] = await table.reading((rows) =>
      rows(
        `SELECT count(*) FILTER (WHERE ${price} IS NULL),
                count(*) FILTER (WHERE len(${tags}) = 0)
           FROM events WHERE collection = 'narrow'`,
        [],
      ),
    );
    expect(missing).toBe(50);
    expect(emptyLists).toBe(0);
  });
});
