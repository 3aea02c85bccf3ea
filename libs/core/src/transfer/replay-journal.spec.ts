import { CollectionEvent, prepareEvent } from '@app/events';
import { PersistOutcome } from '@app/storage';
import { eventsOfWrite, readJournalLine, replayJournal } from './replay-journal';

const SECRET = 's'.repeat(32);
const OPTIONS = { idSecret: SECRET, maxEventBytes: 1_000_000 };
const RID = 'a'.repeat(32);

/** A journal line as nginx writes it (escape=json of every field). */
function line(fields: Partial<Record<string, string>>): string {
  return JSON.stringify({
    request_id: RID,
    msec: '1764400000.123',
    method: 'POST',
    uri: '/3.0/projects/p1/events/clicks',
    args: '',
    remote_addr: '127.0.0.1',
    status: '201',
    body: '',
    ...fields,
  });
}

/** A persister above the port: keeps what it is given, by id, like a store would. */
function memoryPersister() {
  const stored = new Map<string, CollectionEvent>();
  return {
    stored,
    persist: async (_projectId: string, batch: CollectionEvent[]): Promise<PersistOutcome> => {
      let inserted = 0;
      for (const e of batch) {
        if (stored.has(e.id)) continue;
        stored.set(e.id, e);
        inserted++;
      }
      return { inserted, duplicates: batch.length - inserted };
    },
  };
}

async function* lines(texts: string[]): AsyncIterable<string> {
  yield* texts;
}

describe('readJournalLine', () => {
  it('reads a single write as the ingest pool received it', () => {
    const read = readJournalLine(line({ body: '{"n":1,"user":{"id":"u1"}}' }));
    expect(read).toEqual({
      kind: 'write',
      write: {
        projectId: 'p1',
        requestId: RID,
        clientChosenId: false,
        requestStart: 1764400000123,
        collections: new Map([['clicks', [{ n: 1, user: { id: 'u1' } }]]]),
        client: { ip: '127.0.0.1' },
      },
    });
  });

  it('reads a batch per collection and a beacon from its data parameter', () => {
    const batch = readJournalLine(
      line({ uri: '/3.0/projects/p1/events', status: '200', body: '{"a":[{"x":1},{"x":2}],"b":[{}]}' }),
    );
    expect(batch.kind === 'write' && [...batch.write.collections]).toEqual([
      ['a', [{ x: 1 }, { x: 2 }]],
      ['b', [{}]],
    ]);
    const data = Buffer.from('{"via":"beacon","n":3}').toString('base64');
    const beacon = readJournalLine(
      line({ method: 'GET', status: '200', args: `api_key=[cut]&data=${encodeURIComponent(data)}` }),
    );
    expect(beacon.kind === 'write' && [...beacon.write.collections]).toEqual([
      ['clicks', [{ via: 'beacon', n: 3 }]],
    ]);
  });

  it('skips what was not an acknowledged write, and reports what it cannot read', () => {
    expect(readJournalLine(line({ status: '400', body: '{}' }))).toEqual({
      kind: 'skipped',
      reason: 'not-acknowledged',
    });
    expect(readJournalLine(line({ status: '503', body: '{}' }))).toMatchObject({ kind: 'skipped' });
    expect(readJournalLine(line({ method: 'GET', args: '' }))).toEqual({
      kind: 'skipped',
      reason: 'not-a-write',
    });
    expect(readJournalLine(line({ uri: '/3.0/projects/p1/queries/count' }))).toMatchObject({
      kind: 'skipped',
    });
    expect(readJournalLine('{"uri": "/3.0/projects/p1/ev')).toMatchObject({ kind: 'unreadable' });
    expect(readJournalLine(line({ request_id: 'client-chosen' }))).toMatchObject({
      kind: 'unreadable',
    });
    expect(readJournalLine(line({ body: '{"n":' }))).toMatchObject({ kind: 'unreadable' });
  });

  it('refuses a __proto__ key as the ingest pool does (such a write was never acknowledged)', () => {
    // The pool answers 400 to it, so a 2xx line holding one was tampered with.
    const read = readJournalLine(line({ body: '{"__proto__":{"polluted":true},"n":1}' }));
    expect(read).toEqual({
      kind: 'unreadable',
      reason: expect.stringContaining('reserved'),
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('eventsOfWrite', () => {
  it('derives the same keen.id, timestamp and created_at as the ingest pool did', () => {
    const read = readJournalLine(
      line({ uri: '/3.0/projects/p1/events', status: '200', body: '{"a":[{"x":1},{"$bad":2},{"x":3}]}' }),
    );
    if (read.kind !== 'write') throw new Error('not a write');
    const { events, refused } = eventsOfWrite(read.write, OPTIONS);
    const origin = { projectId: 'p1', requestId: RID, requestStart: 1764400000123, receivedAt: 1764400000123 };
    expect(refused).toBe(1);
    expect(events).toEqual([
      prepareEvent('a', { x: 1 }, 0, origin, OPTIONS),
      prepareEvent('a', { x: 3 }, 2, origin, OPTIONS),
    ]);
    expect(events[0].event.keen).toMatchObject({
      timestamp: '2025-11-29T07:06:40.123Z',
      created_at: '2025-11-29T07:06:40.123Z',
    });
  });
});

describe('a client\'s own request id (its idempotency key)', () => {
  it('derives the same ids for a late retry: another edge id and time, the same client id and body', () => {
    const first = readJournalLine(line({ client_request_id: 'order-17', body: '{"n":1}' }));
    const retry = readJournalLine(
      line({ client_request_id: 'order-17', request_id: 'f'.repeat(32), msec: '1764400090.500', body: '{"n":1}' }),
    );
    if (first.kind !== 'write' || retry.kind !== 'write') throw new Error('not writes');
    expect(first.write).toMatchObject({ requestId: 'client:order-17', clientChosenId: true });
    const [a] = eventsOfWrite(first.write, OPTIONS).events;
    const [b] = eventsOfWrite(retry.write, OPTIONS).events;
    expect(b.id).toBe(a.id);
    // Without the client's id the two attempts are two requests.
    const plain = readJournalLine(line({ request_id: 'f'.repeat(32), msec: '1764400090.500', body: '{"n":1}' }));
    if (plain.kind !== 'write') throw new Error('not a write');
    expect(eventsOfWrite(plain.write, OPTIONS).events[0].id).not.toBe(a.id);
  });

  it('ignores a client id the edge would not have passed on', () => {
    const read = readJournalLine(line({ client_request_id: '<script>', body: '{"n":1}' }));
    expect(read.kind === 'write' && read.write).toMatchObject({ requestId: RID, clientChosenId: false });
  });
});

describe('replayJournal', () => {
  const journal = [
    line({ msec: '1000.000', body: '{"w":"before"}' }),
    line({ msec: '2000.000', request_id: 'b'.repeat(32), body: '{"w":"in"}' }),
    line({ msec: '2500.000', request_id: 'c'.repeat(32), uri: '/3.0/projects/p2/events/clicks', body: '{"w":"other project"}' }),
    line({ msec: '2600.000', request_id: 'd'.repeat(32), status: '500', body: '{"w":"not acknowledged"}' }),
    'not json at all',
    '',
    line({ msec: '2999.999', request_id: 'e'.repeat(32), uri: '/3.0/projects/p1/events', status: '200', body: '{"a":[{"w":"batch"},{"w":"batch2"}]}' }),
    line({ msec: '3000.000', request_id: 'f'.repeat(32), body: '{"w":"at the end: excluded"}' }),
  ];

  it('re-sends the window of one project once; a second replay finds only duplicates', async () => {
    const persister = memoryPersister();
    const unreadable: number[] = [];
    const options = {
      ...OPTIONS,
      from: 2_000_000,
      to: 3_000_000,
      projectId: 'p1',
      onUnreadable: (n: number) => unreadable.push(n),
    };
    const first = await replayJournal(persister, lines(journal), options);
    expect(first).toEqual({
      lines: 8,
      requests: 2,
      inserted: 3,
      duplicates: 0,
      refused: 0,
      unreadable: 1,
    });
    expect(unreadable).toEqual([5]);
    expect([...persister.stored.values()].map((e) => e.event.w).sort()).toEqual(['batch', 'batch2', 'in']);
    const second = await replayJournal(persister, lines(journal), options);
    expect(second).toMatchObject({ requests: 2, inserted: 0, duplicates: 3 });
    expect(persister.stored.size).toBe(3);
  });

  it('writes nothing on a dry run, and takes every project without --project', async () => {
    const persister = memoryPersister();
    const dry = await replayJournal(persister, lines(journal), {
      ...OPTIONS,
      from: 0,
      to: 10_000_000,
      dryRun: true,
    });
    expect(dry).toMatchObject({ requests: 5, inserted: 6, duplicates: 0 });
    expect(persister.stored.size).toBe(0);
  });
});

describe('keen.addons in a replay', () => {
  it('enriches with the client the edge journaled, as the ingest pool did, and leaves keen.addons out', async () => {
    const body = {
      ip: '${keen.ip}',
      ua: '${keen.user_agent}',
      keen: { addons: [{ name: 'keen:ua_parser', input: { ua_string: 'ua' }, output: 'tech' }] },
    };
    const persister = memoryPersister();
    const outcome = await replayJournal(
      persister,
      lines([line({ remote_addr: '203.0.113.7', user_agent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1', body: JSON.stringify(body) })]),
      { ...OPTIONS, from: 0, to: Date.now() },
    );
    expect(outcome).toMatchObject({ requests: 1, inserted: 1, refused: 0 });
    const [stored] = [...persister.stored.values()];
    expect(stored.event.ip).toBe('203.0.113.7');
    expect(stored.event.tech).toMatchObject({ device: { family: 'iPhone' }, os: { family: 'iOS', major: '17' } });
    expect(Object.keys(stored.event.keen as object).sort()).toEqual(['created_at', 'id', 'timestamp']);
  });
});
