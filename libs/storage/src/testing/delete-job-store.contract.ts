import { DeleteJob, DeleteJobStore } from '../ports/delete-job.store.port';

/** Two stores over the same data, each with its own connection, as two query processes have. */
export interface DeleteJobStorePair {
  a: DeleteJobStore;
  b: DeleteJobStore;
}

const LEASE = 10_000;
const T0 = Date.UTC(2024, 5, 1, 12);
let seq = 0;

function newJob(
  projectId: string,
  owner: string,
  at: number,
  overrides: Partial<DeleteJob> = {},
): DeleteJob {
  return {
    id: `job-${process.pid}-${++seq}`,
    projectId,
    collection: 'purchases',
    selection: {
      filters: [
        { property_name: 'price', operator: 'lt', property_value: 3 },
        // Values are arbitrary JSON, including keys MongoDB refuses as field names.
        {
          property_name: 'meta',
          operator: 'eq',
          property_value: { $weird: 1, 'dotted.key': [true, null] },
        },
      ],
      timeframe: { kind: 'relative', raw: 'this_7_days', edge: 'this', count: 7, unit: 'day' },
      timezone: 'Europe/Paris',
    },
    resolveAt: at,
    state: 'queued',
    eventsScanned: 0,
    eventsDeleted: 0,
    createdAt: new Date(at).toISOString(),
    updatedAt: new Date(at).toISOString(),
    owner,
    leaseUntil: at + LEASE,
    ...overrides,
  };
}

/**
 * What every DeleteJobStore adapter must do, checked against the real server:
 * jobs round-trip, a lease is claimed by exactly one of two racing processes,
 * an expired lease is taken over, and the previous owner can then write
 * nothing. `pair()` gives fresh, empty stores for each test.
 */
export function describeDeleteJobStoreContract(
  name: string,
  pair: () => Promise<DeleteJobStorePair>,
): void {
  describe(`${name}: DeleteJobStore contract`, () => {
    let a: DeleteJobStore;
    let b: DeleteJobStore;
    beforeEach(async () => {
      ({ a, b } = await pair());
    });

    it('stores a job and reads it back field for field, scoped by project', async () => {
      const job = newJob('p1', 'A', T0);
      await a.create(job);
      expect(await b.get('p1', job.id)).toEqual(job);
      expect(await b.get('p2', job.id)).toBeNull();
      expect(await b.get('p1', 'no-such-job')).toBeNull();
    });

    it("keeps a property job's property through a claim, and none on an event delete", async () => {
      const job = newJob('p1', 'dead', T0, {
        selection: { filters: [], timezone: 'UTC' },
        property: 'user.address',
      });
      await a.create(job);
      const claimed = await b.claim('B', T0 + LEASE, LEASE, []);
      expect(claimed).toMatchObject({
        id: job.id,
        property: 'user.address',
        selection: job.selection,
      });
      const plain = newJob('p1', 'A', T0);
      await a.create(plain);
      expect(await b.get('p1', plain.id)).not.toHaveProperty('property');
    });

    it('lets exactly one of two racing processes claim an expired lease', async () => {
      const job = newJob('p1', 'dead', T0);
      await a.create(job);
      // A live lease is not claimable.
      expect(await b.claim('B', T0 + LEASE - 1, LEASE, [])).toBeNull();
      const at = T0 + LEASE;
      const claims = await Promise.all([a.claim('A', at, LEASE, []), b.claim('B', at, LEASE, [])]);
      const winners = claims.filter((c) => c !== null);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      expect(winner.id).toBe(job.id);
      expect(winner.owner).toBe(claims[0] ? 'A' : 'B');
      expect(winner.leaseUntil).toBe(at + LEASE);
      expect(await a.get('p1', job.id)).toMatchObject({
        owner: winner.owner,
        leaseUntil: at + LEASE,
      });
      // The previous owner can write nothing any more.
      expect(
        await a.checkpoint(job.id, 'dead', {
          now: at,
          leaseUntil: at + LEASE,
          progress: { eventsScanned: 9, eventsDeleted: 9 },
        }),
      ).toBe(false);
      expect(
        await a.finish(job.id, 'dead', {
          state: 'done',
          progress: { eventsScanned: 9, eventsDeleted: 9 },
          now: at,
        }),
      ).toBe(false);
      expect(await b.get('p1', job.id)).toMatchObject({
        state: 'queued',
        eventsScanned: 0,
        eventsDeleted: 0,
      });
    });

    it('takes a job over from an owner whose lease expired, after which the old owner is fenced off', async () => {
      const job = newJob('p1', 'A', T0);
      await a.create(job);
      const t1 = T0 + 1000;
      expect(
        await a.checkpoint(job.id, 'A', {
          now: t1,
          leaseUntil: t1 + LEASE,
          state: 'running',
          progress: { eventsScanned: 500, eventsDeleted: 200 },
        }),
      ).toBe(true);
      // Renewed: still A's at the original expiry.
      expect(await b.claim('B', T0 + LEASE, LEASE, [])).toBeNull();
      const t2 = t1 + LEASE;
      const taken = await b.claim('B', t2, LEASE, []);
      expect(taken).toMatchObject({
        id: job.id,
        owner: 'B',
        state: 'running',
        eventsScanned: 500,
        eventsDeleted: 200,
      });
      expect(
        await a.checkpoint(job.id, 'A', {
          now: t2,
          leaseUntil: t2 + LEASE,
          progress: { eventsScanned: 999, eventsDeleted: 999 },
        }),
      ).toBe(false);
      expect(
        await b.checkpoint(job.id, 'B', {
          now: t2 + 1,
          leaseUntil: t2 + LEASE,
          progress: { eventsScanned: 800, eventsDeleted: 300 },
        }),
      ).toBe(true);
      expect(
        await b.finish(job.id, 'B', {
          state: 'done',
          progress: { eventsScanned: 900, eventsDeleted: 300 },
          now: t2 + 2,
        }),
      ).toBe(true);
      const done = await a.get('p1', job.id);
      expect(done).toMatchObject({
        state: 'done',
        eventsScanned: 900,
        eventsDeleted: 300,
        leaseUntil: 0,
      });
      expect(done!.owner).toBeUndefined();
      expect(done!.updatedAt).toBe(new Date(t2 + 2).toISOString());
      // Finished jobs are never claimed again.
      expect(await a.claim('A', t2 + 10 * LEASE, LEASE, [])).toBeNull();
    });

    it('claims oldest first, skips busy projects, and hands a released job on at once', async () => {
      const old = newJob('p1', 'A', T0);
      const young = newJob('p2', 'A', T0 + 5);
      await a.create(young);
      await a.create(old);
      const later = T0 + LEASE + 10;
      expect((await b.claim('B', later, LEASE, ['p1']))?.id).toBe(young.id);
      expect((await b.claim('B', later, LEASE, []))?.id).toBe(old.id);
      expect(await a.claim('A', later, LEASE, [])).toBeNull();
      await b.release(old.id, 'B', later + 1);
      const again = await a.claim('A', later + 2, LEASE, []);
      expect(again).toMatchObject({ id: old.id, owner: 'A' });
    });

    it('records a failure with its message', async () => {
      const job = newJob('p1', 'A', T0);
      await a.create(job);
      const outcome = {
        state: 'failed' as const,
        progress: { eventsScanned: 3, eventsDeleted: 1 },
        error: 'store said no',
        now: T0 + 5,
      };
      expect(await a.finish(job.id, 'A', outcome)).toBe(true);
      expect(await b.get('p1', job.id)).toMatchObject({
        state: 'failed',
        error: 'store said no',
        eventsDeleted: 1,
      });
    });
  });
}
