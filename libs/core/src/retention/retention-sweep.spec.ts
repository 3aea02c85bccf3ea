import { DeleteJob } from '@app/storage';
import { SILENT_LOG } from '../log.port';
import { DAY_MS, retentionCutoff, retentionJobId, RetentionSweep } from './retention-sweep';

const HOUR = 3_600_000;

/** The stores the sweep reads, over Maps: two sweeping processes share one job store. */
function stores(eventsOf: Record<string, number[]>, retention: Record<string, number>) {
  const jobs = new Map<string, DeleteJob>();
  const jobStore = {
    jobs,
    creates: 0,
    async get(projectId: string, id: string) {
      const job = jobs.get(id);
      return job && job.projectId === projectId ? job : null;
    },
    async create(job: DeleteJob) {
      jobStore.creates++;
      if (jobs.has(job.id)) throw new Error('duplicate key');
      jobs.set(job.id, job);
    },
  };
  return {
    jobStore,
    stores: {
      metadata: {
        listRetentions: async () =>
          Object.entries(retention).map(([projectId, days]) => ({ projectId, days })),
        getSchema: async (projectId: string) =>
          Object.keys(eventsOf)
            .filter((k) => k.startsWith(`${projectId}|`))
            .map((k) => ({ collection: k.split('|')[1], path: 'n', type: 'num', count: 1 })),
      },
      events: {
        // The scan isLargeDelete reads: the collection's timestamps within the request's range.
        async *scan(request: {
          projectId: string;
          collection: string;
          start?: number;
          end?: number;
        }) {
          const ts = (eventsOf[`${request.projectId}|${request.collection}`] ?? []).filter(
            (t) => t >= (request.start ?? -Infinity) && t < (request.end ?? Infinity),
          );
          if (ts.length > 0) yield ts.map((t) => ({ id: String(t), timestamp: t, event: {} }));
        },
      },
      deleteJobs: jobStore,
    } as any,
  };
}

describe('RetentionSweep', () => {
  const now = Date.UTC(2026, 10, 29, 10, 30);

  it('queues one unleased delete job per collection with events past the TTL, named by what it deletes', async () => {
    const { stores: s, jobStore } = stores(
      {
        'p|old': [now - 40 * DAY_MS, now - DAY_MS],
        'p|young': [now - DAY_MS],
        'q|old': [now - 40 * DAY_MS],
      },
      { p: 30 },
    );
    const queued = await new RetentionSweep(s, SILENT_LOG).run(now);
    const cutoff = retentionCutoff(now, 30);
    expect(cutoff).toBe(Date.UTC(2026, 9, 30));
    expect(queued).toEqual([
      { projectId: 'p', collection: 'old', jobId: retentionJobId('p', 'old', cutoff), cutoff },
    ]);
    const job = jobStore.jobs.get(queued[0].jobId)!;
    expect(job).toMatchObject({
      projectId: 'p',
      collection: 'old',
      state: 'queued',
      leaseUntil: 0,
      eventsDeleted: 0,
    });
    expect(job.owner).toBeUndefined();
    expect(job.selection.timeframe).toMatchObject({ kind: 'absolute', end: cutoff });
    expect(job.selection.filters).toEqual([]);
  });

  it('two processes sweeping on the same day agree on one job; the next day queues the next', async () => {
    const { stores: s, jobStore } = stores({ 'p|c': [now - 40 * DAY_MS] }, { p: 30 });
    const a = new RetentionSweep(s, SILENT_LOG);
    const b = new RetentionSweep(s, SILENT_LOG);
    const [ra, rb] = await Promise.all([a.run(now), b.run(now + HOUR)]);
    expect(ra.length + rb.length).toBe(1);
    expect(jobStore.jobs.size).toBe(1);
    expect(await a.run(now + DAY_MS)).toHaveLength(1);
    expect(jobStore.jobs.size).toBe(2);
    expect((await a.latestJobs('p', 30, now + DAY_MS)).map((j) => j.id)).toEqual([
      retentionJobId('p', 'c', retentionCutoff(now + DAY_MS, 30)),
    ]);
  });

  it('a create that loses the race to another process is not an error', async () => {
    const { stores: s, jobStore } = stores({ 'p|c': [now - 40 * DAY_MS] }, { p: 30 });
    const sweep = new RetentionSweep(s, SILENT_LOG);
    const get = jobStore.get;
    let calls = 0;
    // The other process creates the job between this one's look-up and its create.
    jobStore.get = async (projectId, id) => (++calls === 1 ? null : get(projectId, id));
    jobStore.jobs.set(retentionJobId('p', 'c', retentionCutoff(now, 30)), {} as DeleteJob);
    jobStore.jobs.get(retentionJobId('p', 'c', retentionCutoff(now, 30)))!.projectId = 'p';
    expect(await sweep.run(now)).toEqual([]);
    expect(jobStore.creates).toBe(1);
  });

  it('stops between collections once aborted', async () => {
    const { stores: s } = stores(
      { 'p|a': [now - 40 * DAY_MS], 'p|b': [now - 40 * DAY_MS] },
      { p: 30 },
    );
    const stop = new AbortController();
    stop.abort();
    expect(await new RetentionSweep(s, SILENT_LOG).run(now, stop.signal)).toEqual([]);
  });
});
