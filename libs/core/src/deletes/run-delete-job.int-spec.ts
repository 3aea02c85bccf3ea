import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CollectionEvent } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { UnitOfWorkEventPersister } from '../persist/unit-of-work.persister';
import {
  SqliteDatabase,
  SqliteEventStore,
  SqliteMetadataStore,
  SqliteUnitOfWork,
  SqliteDeleteJobStore,
} from '@app/storage/sqlite';
import { DeleteJob } from '@app/storage';
import { DeleteJobRunner } from './run-delete-job';

const T0 = Date.UTC(2024, 0, 1);
const events: CollectionEvent[] = Array.from({ length: 100 }, (_, n) => {
  const id = `e${String(n).padStart(3, '0')}`;
  const body = { n, kind: n % 4 === 0 ? 'keep' : 'drop', ...(n % 3 === 0 ? { extra: n } : {}) };
  return {
    id,
    collection: 'c',
    timestamp: T0 + n,
    event: { ...body, keen: { id, timestamp: new Date(T0 + n).toISOString() } },
  };
});

/** Against a real SQLite file: a stopped run releases its lease and another runner finishes it exactly; a lost lease stops a run before it deletes. */
describe('DeleteJobRunner on SQLite', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-runner-'));
  const db = new SqliteDatabase(path.join(dir, 'tally.db'));
  const stores = {
    events: new SqliteEventStore(db),
    metadata: new SqliteMetadataStore(db),
    unitOfWork: new SqliteUnitOfWork(db),
    jobs: new SqliteDeleteJobStore(db),
    writes: { kind: 'transactional' } as const,
  };
  const runner = (owner: string) =>
    new DeleteJobRunner(stores, { owner, leaseMs: 5000, batchSize: 7, batchPauseMs: 0 });
  const job = (id: string, owner: string, leaseUntil: number): DeleteJob => ({
    id,
    projectId: 'p',
    collection: 'c',
    selection: {
      filters: [{ property_name: 'kind', operator: 'eq', property_value: 'drop' }],
      timezone: 'UTC',
    },
    resolveAt: Date.now(),
    state: 'queued',
    eventsScanned: 0,
    eventsDeleted: 0,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    owner,
    leaseUntil,
  });

  /** The collection's schema counters equal an exact recount of the events that should be left. */
  async function expectCountersOf(collection: string, left: CollectionEvent[]): Promise<void> {
    const order = (x: { path: string; type: string }, y: { path: string; type: string }) =>
      x.path.localeCompare(y.path) || x.type.localeCompare(y.type);
    const recount = schemaDeltas(left).map((d) => ({
      collection: d.collection,
      path: d.path,
      type: d.type,
      count: d.delta,
    }));
    const counters = await stores.metadata.getSchema('p', collection);
    expect([...counters].sort(order)).toEqual(recount.sort(order));
  }

  beforeAll(async () => {
    await new UnitOfWorkEventPersister(stores.events, stores.metadata, stores.unitOfWork).persist(
      'p',
      events,
    );
  });
  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stops at a batch boundary when asked, releases the lease, and is finished exactly by another runner', async () => {
    await stores.jobs.create(job('j1', 'A', Date.now() + 5000));
    const stop = new AbortController();
    let batches = 0;
    const original = stores.metadata.applySchemaDeltas.bind(stores.metadata);
    stores.metadata.applySchemaDeltas = async (...args) => {
      if (++batches === 3) stop.abort();
      return original(...args);
    };
    expect(await runner('A').run((await stores.jobs.get('p', 'j1'))!, stop.signal)).toBe('stopped');
    stores.metadata.applySchemaDeltas = original;
    const stopped = (await stores.jobs.get('p', 'j1'))!;
    expect(stopped).toMatchObject({ state: 'running', eventsDeleted: 21, leaseUntil: 0 });
    expect(stopped.owner).toBeUndefined();
    expect(await stores.events.countCollection('p', 'c')).toBe(79);

    const claimed = await stores.jobs.claim('B', Date.now(), 5000, []);
    expect(claimed?.id).toBe('j1');
    expect(await runner('B').run(claimed!)).toBe('done');
    expect(await stores.jobs.get('p', 'j1')).toMatchObject({ state: 'done', eventsDeleted: 75 });
    const left = events.filter((e) => e.event.kind === 'keep');
    await expectCountersOf('c', left);
    expect(await stores.events.countCollection('p', 'c')).toBe(25);
  });

  it('keeps its checkpoint through a store outage: interrupted, released, then finished exactly', async () => {
    const other = events.map((e) => ({ ...e, id: `o-${e.id}`, collection: 'c2' }));
    await new UnitOfWorkEventPersister(stores.events, stores.metadata, stores.unitOfWork).persist(
      'p',
      other,
    );
    await stores.jobs.create({ ...job('j3', 'A', Date.now() + 5000), collection: 'c2' });
    const original = stores.events.deleteByIds.bind(stores.events);
    let calls = 0;
    stores.events.deleteByIds = async (...args) => {
      if (++calls === 3) {
        // What the MongoDB driver raises when a busy server misses its heartbeat.
        const error = new Error('connection interrupted due to server monitor timeout');
        error.name = 'MongoNetworkTimeoutError';
        throw error;
      }
      return original(...args);
    };
    expect(await runner('A').run((await stores.jobs.get('p', 'j3'))!)).toBe('interrupted');
    stores.events.deleteByIds = original;
    const interrupted = (await stores.jobs.get('p', 'j3'))!;
    expect(interrupted).toMatchObject({ state: 'running', eventsDeleted: 14, leaseUntil: 0 });
    expect(interrupted.owner).toBeUndefined();
    expect(interrupted.error).toBeUndefined();
    expect(await stores.events.countCollection('p', 'c2')).toBe(86);

    const claimed = await stores.jobs.claim('B', Date.now(), 5000, []);
    expect(claimed?.id).toBe('j3');
    expect(await runner('B').run(claimed!)).toBe('done');
    expect(await stores.jobs.get('p', 'j3')).toMatchObject({ state: 'done', eventsDeleted: 75 });
    const left = other.filter((e) => e.event.kind === 'keep');
    expect(await stores.events.countCollection('p', 'c2')).toBe(left.length);
    await expectCountersOf('c2', left);
  });

  it('runs a property job the same way: stopped at a batch boundary, resumed elsewhere, every event rewritten exactly', async () => {
    const sent = events.map((e) => ({ ...e, id: `q-${e.id}`, collection: 'c3' }));
    await new UnitOfWorkEventPersister(stores.events, stores.metadata, stores.unitOfWork).persist(
      'p',
      sent,
    );
    await stores.jobs.create({
      ...job('j5', 'A', Date.now() + 5000),
      collection: 'c3',
      selection: { filters: [], timezone: 'UTC' },
      property: 'extra',
    });
    const stop = new AbortController();
    let batches = 0;
    const original = stores.metadata.applySchemaDeltas.bind(stores.metadata);
    stores.metadata.applySchemaDeltas = async (...args) => {
      if (++batches === 2) stop.abort();
      return original(...args);
    };
    expect(await runner('A').run((await stores.jobs.get('p', 'j5'))!, stop.signal)).toBe('stopped');
    stores.metadata.applySchemaDeltas = original;
    expect(await stores.jobs.get('p', 'j5')).toMatchObject({ eventsDeleted: 14, leaseUntil: 0 });

    const claimed = await stores.jobs.claim('B', Date.now(), 5000, []);
    expect(claimed).toMatchObject({ id: 'j5', property: 'extra' });
    expect(await runner('B').run(claimed!)).toBe('done');
    const carriers = sent.filter((e) => 'extra' in e.event).length;
    expect(await stores.jobs.get('p', 'j5')).toMatchObject({
      state: 'done',
      eventsDeleted: carriers,
    });
    const expected = sent.map((e) => {
      const { extra: _extra, ...event } = e.event;
      return { ...e, event };
    });
    const stored: CollectionEvent[] = [];
    for await (const page of stores.events.scan({ projectId: 'p', collection: 'c3' }))
      stored.push(...page.map((e) => ({ ...e, collection: 'c3' })));
    expect(stored.map((e) => [e.id, e.event])).toEqual(expected.map((e) => [e.id, e.event]));
    await expectCountersOf('c3', expected);
  });

  it('fails a job whose delete the store refuses for a reason of its own', async () => {
    await stores.jobs.create({ ...job('j4', 'A', Date.now() + 5000), collection: 'c' });
    const original = stores.events.scan.bind(stores.events);
    stores.events.scan = () => {
      throw new Error('no such column');
    };
    expect(await runner('A').run((await stores.jobs.get('p', 'j4'))!)).toBe('failed');
    stores.events.scan = original;
    expect(await stores.jobs.get('p', 'j4')).toMatchObject({
      state: 'failed',
      error: 'no such column',
    });
  });

  it('gives up before deleting anything when another process holds the job', async () => {
    await stores.jobs.create(job('j2', 'A', 0));
    const taken = await stores.jobs.claim('B', Date.now(), 5000, []);
    expect(taken?.id).toBe('j2');
    const before = await stores.events.countCollection('p', 'c');
    expect(await runner('A').run(taken!)).toBe('lost');
    expect(await stores.events.countCollection('p', 'c')).toBe(before);
    expect(await stores.jobs.get('p', 'j2')).toMatchObject({ owner: 'B', state: 'queued' });
  });
});
