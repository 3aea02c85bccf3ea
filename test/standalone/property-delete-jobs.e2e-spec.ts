import { setTimeout as sleep } from 'node:timers/promises';
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { ProjectKeys, StandaloneServer } from '../support/standalone-server';

jest.setTimeout(120_000);

type Event = Record<string, any>;

const T0 = Date.UTC(2024, 3, 1);
function makeEvents(count: number): Event[] {
  return Array.from({ length: count }, (_, n) => ({
    n,
    user: {
      id: `u${n % 7}`,
      ...(n % 3 !== 0 ? { address: { city: ['Lyon', 'Oslo'][n % 2], zip: 1000 + n } } : {}),
    },
    ...(n % 2 === 0 ? { tags: ['a', n] } : {}),
    keen: { timestamp: new Date(T0 + n * 60_000).toISOString() },
  }));
}

/** The event as it must be stored after `user.address` is removed from it. */
function withoutAddress({ keen: _keen, ...event }: Event): Event {
  const { address: _address, ...user } = event.user;
  return { ...event, user };
}

/**
 * Property deletes go through the same per-project delete limits as event
 * deletes (429 with Retry-After), and a collection with more events than
 * DELETE_JOB_THRESHOLD is rewritten by a background job (202 + status URL):
 * every event loses exactly the property, and the counters equal a recount.
 */
describe('standalone: property deletes under the delete limits and as jobs', () => {
  const server = new StandaloneServer(undefined, {
    DELETE_JOB_THRESHOLD: '50',
    DELETE_JOB_BATCH_SIZE: '20',
    DELETE_JOB_BATCH_PAUSE_MS: '150',
    DELETE_JOB_LEASE_MS: '1500',
    DELETE_MAX_CONCURRENT_PER_PROJECT: '1',
    DELETE_RATE_PER_MINUTE: '3',
  });
  let keys: ProjectKeys;
  const base = () => `${server.url}/3.0/projects/default/events`;
  const deleteProperty = (collection: string, property: string) =>
    http('DELETE', `${base()}/${collection}/properties/${encodeURIComponent(property)}`, {
      key: keys.master_key,
    });
  const load = async (collection: string, events: Event[]) => {
    const res = await http('POST', base(), { body: { [collection]: events }, key: keys.write_key });
    expect(res.status).toBe(200);
  };
  const contents = () => {
    const db = new SqliteContents(server.dataDir);
    try {
      return {
        events: db.events('default'),
        counters: db.counters('default'),
        recount: db.recount('default'),
      };
    } finally {
      db.close();
    }
  };
  const pollJob = async (url: string, until: (job: any) => boolean) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await http('GET', `${server.url}${url}`, { key: keys.master_key });
      expect(res.status).toBe(200);
      if (until(res.body)) return res.body;
      if (Date.now() > deadline)
        throw new Error(`job never got there: ${JSON.stringify(res.body)}`);
      await sleep(25);
    }
  };

  const big = makeEvents(300);
  const small = makeEvents(20);

  beforeAll(async () => {
    await server.start();
    keys = server.keys!;
    await load('big', big);
    await load('small', small);
  });
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('runs a property delete above the threshold as a job, holding the delete slot (429 meanwhile), and rewrites every event', async () => {
    const before = new Map(
      contents()
        .events.filter((e) => e.collection === 'big')
        .map((e) => [e.event.n as number, e.id]),
    );
    const res = await deleteProperty('big', 'user.address');
    expect(res.status).toBe(202);
    expect(res.body.job_id).toMatch(/^[0-9a-f]{24}$/);
    expect(res.body.status_url).toBe(`/3.0/projects/default/jobs/${res.body.job_id}`);
    expect(res.headers.get('location')).toBe(res.body.status_url);

    // The job holds the project's only slot: property and event deletes both wait.
    for (const refused of [
      await deleteProperty('small', 'tags'),
      await http('DELETE', `${base()}/small`, { key: keys.master_key }),
    ]) {
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({
        message: expect.stringMatching(/DELETE_MAX_CONCURRENT_PER_PROJECT is 1/),
        error_code: 'TooManyConcurrentDeletesError',
        request_id: expect.any(String),
      });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const running = await pollJob(res.body.status_url, (j) => j.events_updated > 0);
    expect(running.state).toBe('running');

    const carriers = big.filter((e) => 'address' in e.user).length;
    const done = await pollJob(
      res.body.status_url,
      (j) => j.state !== 'running' && j.state !== 'queued',
    );
    expect(done).toMatchObject({
      id: res.body.job_id,
      kind: 'delete_property',
      collection: 'big',
      property: 'user.address',
      filters: [],
      timeframe: null,
      state: 'done',
      events_deleted: 0,
      events_updated: carriers,
    });
    expect(done.events_scanned).toBeGreaterThanOrEqual(big.length);
    expect(done.error).toBeUndefined();

    const after = contents();
    const stored = after.events.filter((e) => e.collection === 'big');
    expect(stored.map((e) => e.event.n)).toEqual(big.map((e) => e.n));
    for (const row of stored) {
      const { keen, ...body } = row.event as Event;
      const sent = big[body.n as number];
      expect(body).toEqual(withoutAddress(sent));
      expect(keen.timestamp).toBe(sent.keen.timestamp);
      expect(row.id).toBe(before.get(body.n)); // rewritten in place, same keen.id
    }
    // The other collection is untouched.
    expect(
      after.events
        .filter((e) => e.collection === 'small')
        .map(({ event: { keen: _k, ...b } }) => b),
    ).toEqual(small.map(({ keen: _k, ...b }) => b));
    expect(after.counters).toEqual(after.recount);
    expect(Object.keys(after.counters).filter((k) => k.startsWith('big|user.address'))).toEqual([]);
    expect(after.counters['small|user.address.city|string']).toBe(
      small.filter((e) => 'address' in e.user).length,
    );
  });

  it('keeps a property delete under the threshold in the request (204), and refuses one over the rate with 429 and Retry-After', async () => {
    // The job spent one token of three; the two refusals above spent none.
    const first = await deleteProperty('small', 'tags');
    expect(first.status).toBe(204);
    expect(first.headers.get('x-tally-events-updated')).toBe(
      String(small.filter((e) => 'tags' in e).length),
    );
    const second = await deleteProperty('small', 'user.id');
    expect(second.status).toBe(204);
    expect(second.headers.get('x-tally-events-updated')).toBe(String(small.length));

    const limited = await deleteProperty('small', 'user.address');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      message: expect.stringMatching(/DELETE_RATE_PER_MINUTE/),
      error_code: 'DeleteRateLimitExceededError',
      request_id: expect.any(String),
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Refused before the limits: Keen's 403 for its own properties, not a 429.
    expect((await deleteProperty('small', 'keen.id')).status).toBe(403);

    const after = contents();
    const stored = after.events.filter((e) => e.collection === 'small');
    expect(stored.map(({ event: { keen: _k, ...body } }) => body)).toEqual(
      small.map(({ keen: _k, tags: _tags, user: { id: _id, ...user }, ...rest }) => ({
        ...rest,
        user,
      })),
    );
    expect(after.counters).toEqual(after.recount);
  });
});
