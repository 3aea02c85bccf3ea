/**
 * Recovery by replay (the 2016 incident: a storage fault lost events that a
 * copy of the traffic kept at the edge brought back). Writes go through nginx
 * in two windows; the second window's events are then removed from the event
 * store behind Tally's back. `tally replay` over that window restores exactly
 * them: the same keen.ids and the same bodies (keen.created_at included), and
 * it counts what it inserts; after the documented `schema recount` the
 * counters equal the original ones. A second replay changes nothing. Runs on
 * either event store.
 */
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http } from '../support/http';
import {
  ProjectKeys,
  sleep,
  SplitStack,
  StoredDoc,
  STACK_START_TIMEOUT_MS,
} from '../support/split-stack';

jest.setTimeout(300_000);

const COLLECTIONS = ['visits', 'buys'];

describe('split deployment: replay of the edge journal', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('replay');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  const url = (rest: string) => `${stack.baseUrl}/3.0/projects/${keys.id}/${rest}`;
  const single = (collection: string, body: object) =>
    http('POST', url(`events/${collection}`), { body, key: keys.write_key });
  const batch = (body: object) => http('POST', url('events'), { body, key: keys.write_key });

  /** One window of writes: singles, batches over two collections, beacons, refused input. */
  async function writeWindow(tag: string): Promise<string[]> {
    const acked: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await single('visits', { marker: `${tag}-s${i}`, n: i, user: { id: `u${i % 4}` } });
      expect(res.status).toBe(201);
      acked.push(`${tag}-s${i}`);
    }
    for (let b = 0; b < 3; b++) {
      const body = {
        visits: Array.from({ length: 8 }, (_, i) => ({ marker: `${tag}-b${b}v${i}`, n: i })),
        buys: Array.from({ length: 5 }, (_, i) => ({
          marker: `${tag}-b${b}p${i}`,
          price: i * 2.5,
          sku: i % 2 ? 'x' : 7,
        })),
      };
      const res = await batch(body);
      expect(res.status).toBe(200);
      acked.push(...body.visits.map((e) => e.marker), ...body.buys.map((e) => e.marker));
    }
    // A batch with one refused event: the others are acknowledged.
    const mixed = await batch({
      buys: [{ marker: `${tag}-m0` }, { marker: `${tag}-m1`, $bad: 1 }, { marker: `${tag}-m2` }],
    });
    expect(mixed.status).toBe(200);
    expect(mixed.body.buys.map((r: { success: boolean }) => r.success)).toEqual([true, false, true]);
    acked.push(`${tag}-m0`, `${tag}-m2`);
    // Beacons (GET with base64 data and the key in the query string).
    for (let i = 0; i < 2; i++) {
      const data = Buffer.from(JSON.stringify({ marker: `${tag}-g${i}`, via: 'beacon' })).toString(
        'base64',
      );
      const res = await http(
        'GET',
        `${url('events/visits')}?api_key=${keys.write_key}&data=${encodeURIComponent(data)}`,
      );
      expect(res.status).toBe(200);
      acked.push(`${tag}-g${i}`);
    }
    // Refused whole: never acknowledged, never replayed.
    expect((await single('visits', { marker: `${tag}-bad`, $bad: true })).status).toBe(400);
    return acked;
  }

  async function snapshot(): Promise<{ docs: Map<string, StoredDoc>; counters: Record<string, unknown> }> {
    const docs = new Map<string, StoredDoc>();
    const counters: Record<string, unknown> = {};
    for (const c of COLLECTIONS) {
      for (const d of await stack.storedEvents(keys.id, c)) docs.set(d._id, d);
      counters[c] = nonZeroCounters((await stack.counterDoc(keys.id, c))?.counts);
    }
    return { docs, counters };
  }

  const replay = (from: number, to: number) => stack.replay(keys.id, from, to);

  it('restores exactly the events lost in a window, and a second replay changes nothing', async () => {
    const early = await writeWindow('A');
    await sleep(1_500);
    const from = Date.now();
    const lostMarkers = await writeWindow('B');
    const to = Date.now() + 1;
    await sleep(1_500);
    const late = await writeWindow('C');

    const all = [...early, ...lostMarkers, ...late];
    for (const c of COLLECTIONS) {
      const wanted = all.filter((m) => (c === 'buys' ? /-(b\dp|m)/.test(m) : !/-(b\dp|m)/.test(m)));
      const docs = await stack.waitForMarkers(keys.id, c, wanted, 120_000);
      expect(docs.map((d) => d.e.marker).sort()).toEqual([...wanted].sort());
    }
    const original = await snapshot();
    for (const c of COLLECTIONS)
      expect(original.counters[c]).toEqual(
        recountCounters([...original.docs.values()].filter((d) => d.c === c)),
      );

    // The storage fault: window B's events vanish from the event store.
    const lost = [...original.docs.values()].filter((d) => d.e.marker.startsWith('B-'));
    expect(lost).toHaveLength(lostMarkers.length);
    for (const c of COLLECTIONS) {
      const ids = lost.filter((d) => d.c === c).map((d) => d._id);
      expect(await stack.loseEvents(keys.id, c, ids)).toBe(ids.length);
    }
    const afterLoss = await snapshot();
    expect(afterLoss.docs.size).toBe(original.docs.size - lost.length);

    // Replay window B: 12 singles + 3 batches + the mixed batch + 2 beacons acknowledged.
    const first = await replay(from, to);
    expect(first).toMatchObject({
      requests: 18,
      inserted: lost.length,
      duplicates: 0,
      refused: 1,
      unreadable: 0,
      dryRun: false,
    });
    const restored = await snapshot();
    // Exactly the lost events are back, field for field (ids, bodies with keen.created_at).
    expect([...restored.docs.keys()].sort()).toEqual([...original.docs.keys()].sort());
    for (const [id, doc] of original.docs) {
      const back = restored.docs.get(id)!;
      expect({ c: back.c, t: back.t, e: back.e }).toEqual({ c: doc.c, t: doc.t, e: doc.e });
    }
    // The replay counted what it inserted: the lost events are counted twice
    // now, since the fault removed them without touching the counters.
    for (const c of COLLECTIONS) {
      const inC = [...restored.docs.values()].filter((d) => d.c === c);
      const twice = recountCounters([...inC, ...lost.filter((d) => d.c === c)]);
      expect(restored.counters[c]).toEqual(twice);
    }
    // The recovery procedure's last step (docs/operations.md): recount.
    for (const c of COLLECTIONS) {
      const result = await stack.cli('schema', 'recount', keys.id, c, '--json');
      expect(result.code).toBe(0);
    }
    const recounted = await snapshot();
    expect(recounted.counters).toEqual(original.counters);

    // Again: everything in the window is already stored; nothing changes.
    const second = await replay(from, to);
    expect(second).toMatchObject({
      requests: 18,
      inserted: 0,
      duplicates: lost.length,
      refused: 1,
    });
    const again = await snapshot();
    expect(again.counters).toEqual(original.counters);
    expect([...again.docs.keys()].sort()).toEqual([...original.docs.keys()].sort());

    // A dry run over everything reads all three windows and writes nothing.
    const dry = await stack.replay(
      keys.id,
      from - 3_600_000,
      Date.now() + 60_000,
      '--dry-run',
    );
    expect(dry).toMatchObject({
      dryRun: true,
      inserted: original.docs.size + (await createProjectProbeEvents()),
    });
  });

  /** Events createProject's readiness probe wrote (collection outside COLLECTIONS), read from the store. */
  async function createProjectProbeEvents(): Promise<number> {
    const all = await stack.storedEvents(keys.id);
    return all.filter((d) => !COLLECTIONS.includes(d.c)).length;
  }
});
