/**
 * The CLI's dead-letter commands on the split deployment: entries set aside
 * in the MongoDB dead-letter store are listed, shown, requeued through the
 * write path (stored by keen.id with their bodies, counters exact, the entry
 * gone) and purged, acting on the stack through its stack file.
 */
import type { CollectionEvent } from '@app/events';
import type { DeadLetterEntry } from '@app/storage';
import { MongoDeadLetterStore } from '@app/storage/mongo';
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http } from '../support/http';
import {
  CliResult,
  ProjectKeys,
  SplitStack,
  STACK_START_TIMEOUT_MS,
  waitFor,
} from '../support/split-stack';

jest.setTimeout(180_000);

describe('split deployment: dead letters from the CLI', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;
  let letters: MongoDeadLetterStore;

  const cli = (...args: string[]): Promise<CliResult> => stack.cli(...args);

  async function json(...args: string[]): Promise<any> {
    const result = await cli(...args, '--json');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout.endsWith('\n') && !result.stdout.slice(0, -1).includes('\n')).toBe(true);
    return JSON.parse(result.stdout);
  }

  /** An event as the ingest pool prepared it (keen fields set), which the worker then could not store. */
  function poisoned(projectId: string, n: number, body: Record<string, unknown>): DeadLetterEntry {
    const timestamp = Date.UTC(2024, 4, 1, 12, n);
    const id = `${Math.floor(timestamp / 1000).toString(16)}${String(n).padStart(16, '0')}`;
    const event: CollectionEvent = {
      collection: 'orders',
      id,
      timestamp,
      event: {
        ...body,
        keen: {
          timestamp: new Date(timestamp).toISOString(),
          created_at: new Date(timestamp + 1500).toISOString(),
          id,
        },
      },
    };
    return { projectId, event, reason: `refused by the store (case ${n})`, batchId: `batch-${n}` };
  }

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('dead-letters');
    letters = new MongoDeadLetterStore({
      url: stack.env.MONGO_URL,
      database: stack.env.MONGO_DATABASE,
    });
    await letters.init();
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await letters?.close();
    await stack?.stop();
  });

  it('lists, shows, requeues and purges dead letters; requeued events are stored with exact counters', async () => {
    const p = keys.id;
    const entries = [
      poisoned(p, 1, { sku: 'a-1', qty: 2, price: 9.5, tags: ['x'] }),
      poisoned(p, 2, { sku: 'b-2', qty: 1, buyer: { id: 'u1', vip: true } }),
      poisoned(p, 3, { sku: 'c-3', note: 'to purge' }),
      poisoned(p, 4, { sku: 'd-4', qty: 7, buyer: { id: 'u2', vip: false } }),
      poisoned('other-project', 5, { sku: 'e-5' }),
    ];
    // Setup: what the worker's IngestJobProcessor would have set aside.
    await letters.add(entries);
    const ids = entries.map((e) => `${e.projectId}/${e.event.id}`);

    // The installation is named on stderr, without credentials.
    const text = await cli('dead-letters', 'list', '--project', p);
    expect(text.code).toBe(0);
    expect(text.stderr).toBe(
      `tally: acting on the running stack in ${stack.stateDir}: STORE=${stack.store === 'cassandra' ? 'cassandra at ' : 'mongo at '}` +
        (stack.store === 'cassandra'
          ? `${stack.env.CASSANDRA_CONTACT_POINTS} (keyspace ${stack.env.CASSANDRA_KEYSPACE}), metadata at ${stack.env.MONGO_URL}\n`
          : `${stack.env.MONGO_URL} (database ${stack.env.MONGO_DATABASE})\n`),
    );
    expect(
      text.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    ).toEqual(ids.slice(0, 4));

    const listed = await json('dead-letters', 'list', '--project', p);
    expect(listed).toEqual(
      entries.slice(0, 4).map((e, i) => ({
        id: ids[i],
        project: p,
        collection: 'orders',
        keen_id: e.event.id,
        failed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        reason: e.reason,
      })),
    );
    expect((await json('dead-letters', 'list', '--limit', '2')).map((l: any) => l.id)).toEqual(
      [...ids].sort().slice(0, 2),
    );

    const shown = await json('dead-letters', 'show', ids[1]);
    expect(shown).toEqual({
      ...entries[1],
      id: ids[1],
      failedAt: listed[1].failed_at,
    });
    const missing = await cli('dead-letters', 'show', `${p}/ffffffffffffffffffffffff`);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n').pop()).toBe(
      `Error: no dead letter with id ${p}/ffffffffffffffffffffffff`,
    );

    // Requeue two by id: stored through the persister, their entries removed.
    expect(await json('dead-letters', 'requeue', ids[0], ids[1])).toEqual({
      inserted: 2,
      duplicates: 0,
      stillRejected: 0,
      skipped: 0,
    });
    const storedOrders = async () =>
      (await stack.storedEvents(p, 'orders')).sort((a, b) => (a._id < b._id ? -1 : 1));
    let stored = await storedOrders();
    expect(stored.map((d) => [d._id, d.e, d.t.getTime(), d.m])).toEqual(
      entries.slice(0, 2).map((e) => [e.event.id, e.event.event, e.event.timestamp, undefined]),
    );
    expect((await json('dead-letters', 'list')).map((l: any) => l.id)).toEqual(
      [ids[2], ids[3], ids[4]].sort(),
    );

    // Purge needs --yes; then exactly the one named goes.
    const unconfirmed = await cli('dead-letters', 'purge', ids[2]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr.trim().split('\n').pop()).toBe(
      'Error: purge deletes dead letters and their events for good: add --yes',
    );
    expect(await json('dead-letters', 'purge', ids[2], '--yes')).toEqual({ removed: 1 });
    expect((await json('dead-letters', 'list')).map((l: any) => l.id)).toEqual(
      [ids[3], ids[4]].sort(),
    );

    // Requeue what is left of the project (no ids): the other project's entry stays.
    expect(await json('dead-letters', 'requeue', '--project', p)).toEqual({
      inserted: 1,
      duplicates: 0,
      stillRejected: 0,
      skipped: 0,
    });
    stored = await storedOrders();
    expect(stored.map((d) => [d._id, d.e, d.t.getTime(), d.m])).toEqual(
      [entries[0], entries[1], entries[3]].map((e) => [
        e.event.id,
        e.event.event,
        e.event.timestamp,
        undefined,
      ]),
    );
    expect(await stack.storedCount(p, 'orders')).toBe(3);
    expect(nonZeroCounters((await stack.counterDoc(p, 'orders'))?.counts)).toEqual(
      recountCounters(stored),
    );
    expect((await json('dead-letters', 'list')).map((l: any) => l.id)).toEqual([ids[4]]);

    // Requeued again (the entry is gone): nothing to do.
    expect(await json('dead-letters', 'requeue', ids[0])).toEqual({
      inserted: 0,
      duplicates: 0,
      stillRejected: 0,
      skipped: 0,
    });

    // The query pool answers with them through nginx.
    const extraction = await waitFor(async () => {
      const res = await http('GET', stack.url(p, '/queries/extraction?event_collection=orders'), {
        key: keys.read_key,
      });
      return res.status === 200 && res.body.result.length === 3 ? res.body.result : null;
    }, 15_000);
    expect(
      (extraction as Array<Record<string, any>>).sort((a, b) => (a.keen.id < b.keen.id ? -1 : 1)),
    ).toEqual([entries[0], entries[1], entries[3]].map((e) => e.event.event));

    expect(await json('dead-letters', 'purge', '--project', 'other-project', '--yes')).toEqual({
      removed: 1,
    });
    expect(await json('dead-letters', 'list')).toEqual([]);
    expect(await letters.list({})).toEqual([]);
  });
});
