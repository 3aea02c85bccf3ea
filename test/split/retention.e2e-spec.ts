/**
 * Per-project retention on the split deployment: set through nginx with the
 * master key, swept by both query processes at once, the events past the TTL
 * deleted by one delete job per collection (the processes agree on its id),
 * younger events untouched field for field, and the schema counters equal a
 * recount of what is left.
 */
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http } from '../support/http';
import { ProjectKeys, SplitStack, STACK_START_TIMEOUT_MS, waitFor } from '../support/split-stack';

jest.setTimeout(150_000);

const DAY = 86_400_000;

describe('split deployment: per-project retention', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;
  let other: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start({
      env: {
        RETENTION_SWEEP_INTERVAL_MS: '1000',
        DELETE_JOB_LEASE_MS: '2000',
        DELETE_JOB_BATCH_SIZE: '2',
      },
    });
    keys = await stack.createProject('retention');
    other = await stack.createProject('retention-other');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  const byId = <T extends { _id: string }>(docs: T[]) =>
    docs.sort((a, b) => (a._id < b._id ? -1 : 1));

  it('deletes exactly the events past the TTL through one delete job per collection, counters exact', async () => {
    const now = Date.now();
    const at = (days: number) => new Date(now - days * DAY).toISOString();
    const ages = [60, 45, 31, 29, 3, 0];
    const orders = ages.map((d, i) => ({
      i,
      ...(d > 30 ? { legacy: { v: 1 } } : { sku: `s-${i}` }),
      keen: { timestamp: at(d) },
    }));
    const views = [
      { page: '/old', keen: { timestamp: at(40) } },
      { page: '/new', keen: { timestamp: at(1) } },
    ];
    for (const [project, key] of [
      [keys.id, keys.write_key],
      [other.id, other.write_key],
    ]) {
      const res = await http('POST', stack.url(project, '/events'), {
        key,
        body: { orders, views },
      });
      expect(res.status).toBe(200);
    }
    let all: Awaited<ReturnType<SplitStack['storedEvents']>> = [];
    let otherCount = 0;
    await waitFor(async () => {
      all = [
        ...(await stack.storedEvents(keys.id, 'orders')),
        ...(await stack.storedEvents(keys.id, 'views')),
      ];
      otherCount =
        (await stack.storedCount(other.id, 'orders')) +
        (await stack.storedCount(other.id, 'views'));
      return all.length === 8 && otherCount === 8;
    }, 30_000);
    expect({ stored: all.length, other: otherCount }).toEqual({ stored: 8, other: 8 });
    const young = byId(all.filter((d) => Date.parse(d.e.keen.timestamp) > now - 30 * DAY));
    expect(young).toHaveLength(4);

    const set = await http('PUT', stack.url(keys.id, '/retention'), {
      key: keys.master_key,
      body: { days: 30 },
    });
    expect([set.status, set.body.days]).toEqual([200, 30]);
    expect(
      (
        await http('PUT', stack.url(keys.id, '/retention'), {
          key: keys.read_key,
          body: { days: 30 },
        })
      ).status,
    ).toBe(403);

    const view = await waitFor(async () => {
      const res = await http('GET', stack.url(keys.id, '/retention'), { key: keys.master_key });
      const jobs = res.body.jobs ?? [];
      return jobs.length === 2 && jobs.every((j: any) => j.state === 'done') ? res.body : null;
    }, 60_000);
    expect(view).not.toBeNull();
    // One job per collection though both query processes sweep every second.
    expect(
      view.jobs.map((j: any) => [j.collection, j.events_deleted, j.events_scanned]).sort(),
    ).toEqual([
      ['orders', 3, 3],
      ['views', 1, 1],
    ]);

    const left = byId([
      ...(await stack.storedEvents(keys.id, 'orders')),
      ...(await stack.storedEvents(keys.id, 'views')),
    ]);
    expect(left.map((d) => [d._id, d.e, d.t.getTime()])).toEqual(
      young.map((d) => [d._id, d.e, d.t.getTime()]),
    );
    for (const c of ['orders', 'views'])
      expect(nonZeroCounters((await stack.counterDoc(keys.id, c))?.counts)).toEqual(
        recountCounters(left.filter((d) => d.c === c)),
      );
    // The project without a retention keeps everything.
    expect(
      (await stack.storedCount(other.id, 'orders')) + (await stack.storedCount(other.id, 'views')),
    ).toBe(8);
  });
});
