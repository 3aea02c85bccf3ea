/**
 * Access keys on the split stack: created through nginx on the query pool,
 * used on the ingest pool (autofill) and the query pool (forced filters), and
 * a revoke or unrevoke takes effect on every process within the key-cache
 * bound: KEY_CACHE_REFRESH_MS plus one read of the metadata store
 * (docs/access-keys.md).
 */
import { http } from '../support/http';
import { ProjectKeys, SplitStack, STACK_START_TIMEOUT_MS } from '../support/split-stack';

jest.setTimeout(180_000);

const REFRESH_MS = 1_000;
/** One refresh interval, plus time for a slow metadata read and a request on a busy 2-core machine. */
const BOUND_MS = REFRESH_MS + 2_000;
/** Consecutive answers that must agree: nginx spreads them over both processes of a pool. */
const AGREEING = 8;

describe('split deployment: access keys', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start({ env: { KEY_CACHE_REFRESH_MS: String(REFRESH_MS) } });
    keys = await stack.createProject('access-keys');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  const url = (rest: string) => stack.url(keys.id, rest);

  /**
   * Ms from now until `AGREEING` answers in a row have the status `want`
   * (measured to the first of them), or fails after 20 s.
   */
  async function msUntil(want: number, request: () => Promise<number>): Promise<number> {
    const start = Date.now();
    let firstOfRun = -1;
    let run = 0;
    while (Date.now() - start < 20_000) {
      const at = Date.now();
      if ((await request()) === want) {
        if (run++ === 0) firstOfRun = at;
        if (run === AGREEING) return firstOfRun - start;
      } else run = 0;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no ${AGREEING} answers of ${want} in a row within 20 s`);
  }

  it('writes carry the autofill, queries see the forced filter, and revoke/unrevoke reach every process within the bound', async () => {
    const created = await http('POST', url('/keys'), {
      key: keys.master_key,
      body: {
        name: 'red',
        permitted: ['writes', 'queries'],
        options: {
          queries: { filters: [{ property_name: 'team', operator: 'eq', property_value: 'red' }] },
          writes: { autofill: { team: 'red', via: { key: 'red' } } },
        },
      },
    });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const stored: string[] = [];
    const write = async () => {
      const marker = `probe-${stored.length}-${Date.now()}`;
      const { status } = await http('POST', url('/events/ak'), {
        key,
        body: { marker, keen: { timestamp: '2024-05-01T00:00:00.000Z' } },
      });
      if (status === 201) stored.push(marker);
      return status;
    };
    const learned = await msUntil(201, write);
    console.log(`new key accepted by every ingest process after ${learned} ms`);
    expect(learned).toBeLessThanOrEqual(BOUND_MS);

    const sent = [
      { marker: 'a', keen: { timestamp: '2024-05-01T01:00:00.000Z' } },
      { marker: 'b', team: 'blue', keen: { timestamp: '2024-05-01T02:00:00.000Z' } },
      { marker: 'c', via: { app: 'ios' }, keen: { timestamp: '2024-05-01T03:00:00.000Z' } },
    ];
    const batch = await http('POST', url('/events'), { key, body: { ak: sent } });
    expect(batch.status).toBe(200);
    const docs = await stack.waitForMarkers(keys.id, 'ak', ['a', 'b', 'c', ...stored], 60_000);
    const byMarker = new Map(docs.map((d) => [d.e.marker, d.e]));
    expect(byMarker.get('a')).toMatchObject({ team: 'red', via: { key: 'red' } });
    expect(byMarker.get('b')).toMatchObject({ team: 'blue', via: { key: 'red' } });
    expect(byMarker.get('c')).toMatchObject({ team: 'red', via: { key: 'red', app: 'ios' } });
    const red = docs.filter((d) => d.e.team === 'red').length;
    expect(red).toBe(docs.length - 1);

    const count = async (k: string) =>
      await http('GET', url('/queries/count?event_collection=ak&timeframe=this_10_years'), {
        key: k,
      });
    // The query process that created the key knew it at once; the other within the bound.
    expect(await msUntil(200, async () => (await count(key)).status)).toBeLessThanOrEqual(BOUND_MS);
    const master = await count(keys.master_key);
    const scoped = await count(key);
    expect(master.body.result).toBe(docs.length);
    expect(scoped.body.result).toBe(red);

    // Revoked through one query process: every ingest and query process refuses it within the bound.
    expect((await http('POST', url(`/keys/${key}/revoke`), { key: keys.master_key })).status).toBe(
      200,
    );
    const revokedAt = Date.now();
    const writesRefused = await msUntil(401, write);
    const queriesRefused = Date.now() - revokedAt;
    await msUntil(401, async () => (await count(key)).status);
    console.log(
      `revoked key refused by every ingest process after ${writesRefused} ms, every query process by ${queriesRefused} ms`,
    );
    expect(writesRefused).toBeLessThanOrEqual(BOUND_MS);

    expect((await http('POST', url(`/keys/${key}/unrevoke`), { key: keys.master_key })).status).toBe(
      200,
    );
    const back = await msUntil(201, write);
    expect(back).toBeLessThanOrEqual(BOUND_MS);
    const after = await stack.waitForMarkers(keys.id, 'ak', ['a', 'b', 'c', ...stored], 60_000);
    expect((await count(key)).body.result).toBe(after.filter((d) => d.e.team === 'red').length);
    expect((await count(keys.master_key)).body.result).toBe(after.length);
  });
});
