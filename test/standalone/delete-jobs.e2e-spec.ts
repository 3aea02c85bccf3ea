import { setTimeout as sleep } from 'node:timers/promises';
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

jest.setTimeout(120_000);

type Keys = { write_key: string; read_key: string; master_key: string };

const T0 = Date.UTC(2024, 3, 1);
/** Events 0..count-1 an hour apart; every fourth is kept by the `drop` filter, some carry extra properties. */
function makeEvents(count: number) {
  return Array.from({ length: count }, (_, n) => ({
    n,
    kind: n % 4 === 0 ? 'keep' : 'drop',
    ...(n % 5 === 0 ? { extra: { flag: true, tags: ['a', n] } } : {}),
    ...(n % 7 === 0 ? { price: n * 1.5 } : {}),
    keen: { timestamp: new Date(T0 + n * 3600_000).toISOString() },
  }));
}
const DROP = encodeURIComponent(
  JSON.stringify([{ property_name: 'kind', operator: 'eq', property_value: 'drop' }]),
);

async function load(
  server: StandaloneServer,
  keys: Keys,
  collection: string,
  events: object[],
): Promise<void> {
  const res = await http('POST', `${server.url}/3.0/projects/default/events`, {
    body: { [collection]: events },
    key: keys.write_key,
  });
  expect(res.status).toBe(200);
}

async function pollJob(
  server: StandaloneServer,
  keys: Keys,
  url: string,
  until: (job: any) => boolean,
  ms = 60_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await http('GET', `${server.url}${url}`, { key: keys.master_key });
    expect(res.status).toBe(200);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline)
      throw new Error(`job never reached the state: ${JSON.stringify(res.body)}`);
    await sleep(25);
  }
}

/** The survivors through the API (extraction) and the counters next to an exact recount from the file. */
async function survivors(server: StandaloneServer, keys: Keys, collection: string) {
  const res = await http(
    'GET',
    `${server.url}/3.0/projects/default/queries/extraction?event_collection=${collection}`,
    { key: keys.read_key },
  );
  expect(res.status).toBe(200);
  const contents = new SqliteContents(server.dataDir);
  const counters = contents.counters('default');
  const recount = contents.recount('default');
  contents.close();
  const extracted = (res.body.result as any[]).sort((x, y) => x.n - y.n);
  return { extracted, counters, recount };
}

function expectExactSurvivors(extracted: any[], sent: ReturnType<typeof makeEvents>) {
  const kept = sent.filter((e) => e.kind === 'keep');
  expect(extracted.map((e) => e.n)).toEqual(kept.map((e) => e.n));
  for (const row of extracted) {
    const { keen, ...body } = row;
    const { keen: sentKeen, ...sentBody } = sent[row.n];
    expect(body).toEqual(sentBody);
    expect(keen.timestamp).toBe(sentKeen.timestamp);
  }
}

/**
 * Deletes that read more than DELETE_JOB_THRESHOLD events run as background
 * jobs on the real standalone server: 202 + status URL, then the survivors
 * equal the expected set and the counters a recount, also when the server is
 * killed (-9) mid-job and started again on the same data.
 */
describe('standalone: background delete jobs', () => {
  const server = new StandaloneServer(undefined, {
    DELETE_JOB_THRESHOLD: '50',
    DELETE_JOB_BATCH_SIZE: '10',
    DELETE_JOB_BATCH_PAUSE_MS: '40',
    DELETE_JOB_LEASE_MS: '1500',
    DELETE_MAX_CONCURRENT_PER_PROJECT: '1',
    DELETE_RATE_PER_MINUTE: '1000',
  });
  let keys: Keys;

  beforeAll(async () => {
    await server.start();
    keys = server.keys!;
  });
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('runs a large filtered delete as a job: 202, status until done, exact survivors and counters; 429 meanwhile', async () => {
    const sent = makeEvents(240);
    await load(server, keys, 'big', sent);
    const res = await http(
      'DELETE',
      `${server.url}/3.0/projects/default/events/big?filters=${DROP}`,
      { key: keys.master_key },
    );
    expect(res.status).toBe(202);
    expect(res.body.job_id).toMatch(/^[0-9a-f]{24}$/);
    expect(res.body.status_url).toBe(`/3.0/projects/default/jobs/${res.body.job_id}`);
    expect(res.headers.get('location')).toBe(res.body.status_url);

    // The job holds the project's only delete slot while it runs.
    const second = await http(
      'DELETE',
      `${server.url}/3.0/projects/default/events/big?filters=${DROP}`,
      { key: keys.master_key },
    );
    expect(second.status).toBe(429);
    expect(second.body.error_code).toBe('TooManyConcurrentDeletesError');
    expect(second.body.message).toMatch(/DELETE_MAX_CONCURRENT_PER_PROJECT/);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);

    const running = await pollJob(
      server,
      keys,
      res.body.status_url,
      (j) => j.state === 'running' && j.events_deleted > 0,
    );
    expect(running.events_deleted).toBeLessThan(180);

    const done = await pollJob(server, keys, res.body.status_url, (j) => j.state === 'done');
    expect(done).toMatchObject({
      id: res.body.job_id,
      kind: 'delete',
      collection: 'big',
      filters: [{ property_name: 'kind', operator: 'eq', property_value: 'drop' }],
      timeframe: null,
      state: 'done',
      events_deleted: 180,
    });
    expect(done.events_scanned).toBeGreaterThanOrEqual(240);
    expect(Date.parse(done.updated_at)).toBeGreaterThan(Date.parse(done.created_at));
    expect(done.error).toBeUndefined();

    const { extracted, counters, recount } = await survivors(server, keys, 'big');
    expectExactSurvivors(extracted, sent);
    expect(counters).toEqual(recount);
    expect(counters['big|kind|string']).toBe(60);
  });

  it('keeps a delete under the threshold in the request (204), and never makes a job of a keen.id delete', async () => {
    const sent = makeEvents(40);
    await load(server, keys, 'small', sent);
    const res = await http(
      'DELETE',
      `${server.url}/3.0/projects/default/events/small?filters=${DROP}`,
      { key: keys.master_key },
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('x-tally-events-deleted')).toBe('30');

    await load(server, keys, 'ids', makeEvents(120));
    const contents = new SqliteContents(server.dataDir);
    const ids = contents
      .events('default', 'ids')
      .map((r) => r.id)
      .slice(0, 60);
    contents.close();
    const byId = encodeURIComponent(
      JSON.stringify([{ property_name: 'keen.id', operator: 'in', property_value: ids }]),
    );
    const idDelete = await http(
      'DELETE',
      `${server.url}/3.0/projects/default/events/ids?filters=${byId}`,
      { key: keys.master_key },
    );
    expect(idDelete.status).toBe(204);
    expect(idDelete.headers.get('x-tally-events-deleted')).toBe('60');
  });

  it('answers an unknown job id with a Keen-shaped 404, and wants the master key', async () => {
    const missing = await http(
      'GET',
      `${server.url}/3.0/projects/default/jobs/0123456789abcdef01234567`,
      { key: keys.master_key },
    );
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error_code: 'ResourceNotFoundError' });
    expect(missing.body.message).toMatch(/no job "0123456789abcdef01234567"/);

    const url = `${server.url}/3.0/projects/default/jobs/0123456789abcdef01234567`;
    expect((await http('GET', url)).status).toBe(401);
    expect((await http('GET', url, { key: 'not-a-key' })).status).toBe(401);
    expect((await http('GET', url, { key: keys.read_key })).status).toBe(403);
    const writeDelete = await http(
      'DELETE',
      `${server.url}/3.0/projects/default/events/big?filters=${DROP}`,
      { key: keys.write_key },
    );
    expect(writeDelete.status).toBe(403);
    expect(writeDelete.body.error_code).toBeDefined();
  });

  it('resumes a job after kill -9 and finishes it with exact survivors, counts and counters', async () => {
    const sent = makeEvents(400);
    await load(server, keys, 'crash', sent);
    const res = await http(
      'DELETE',
      `${server.url}/3.0/projects/default/events/crash?filters=${DROP}`,
      { key: keys.master_key },
    );
    expect(res.status).toBe(202);
    const url = res.body.status_url as string;
    const before = await pollJob(server, keys, url, (j) => j.events_deleted >= 60);
    expect(before.state).toBe('running');

    await server.kill('SIGKILL');
    // What the dead process left: its checkpoints are exact (they commit with each batch).
    const contents = new SqliteContents(server.dataDir);
    const left = contents.events('default', 'crash').length;
    const deletedSoFar = 400 - left;
    expect(deletedSoFar).toBeGreaterThanOrEqual(60);
    expect(deletedSoFar).toBeLessThan(300);
    expect(contents.counters('default')).toEqual(contents.recount('default'));
    contents.close();

    await server.start();
    const done = await pollJob(server, keys, url, (j) => j.state === 'done');
    expect(done.events_deleted).toBe(300);
    const { extracted, counters, recount } = await survivors(server, keys, 'crash');
    expectExactSurvivors(extracted, sent);
    expect(counters).toEqual(recount);
    expect(counters['crash|kind|string']).toBe(100);
  });
});

describe('standalone: delete rate limit', () => {
  const server = new StandaloneServer(undefined, { DELETE_RATE_PER_MINUTE: '2' });

  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('answers 429 with Retry-After once a project exceeds DELETE_RATE_PER_MINUTE', async () => {
    const keys = server.keys!;
    const url = `${server.url}/3.0/projects/default/events/things?filters=${DROP}`;
    expect((await http('DELETE', url, { key: keys.master_key })).status).toBe(204);
    expect((await http('DELETE', url, { key: keys.master_key })).status).toBe(204);
    const third = await http('DELETE', url, { key: keys.master_key });
    expect(third.status).toBe(429);
    expect(third.body.error_code).toBe('DeleteRateLimitExceededError');
    expect(third.body.message).toMatch(/DELETE_RATE_PER_MINUTE/);
    const retryAfter = Number(third.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(25);
    expect(retryAfter).toBeLessThanOrEqual(30);
    // Bad input is refused before the limits: a 400, not a 429.
    expect(
      (
        await http('DELETE', `${server.url}/3.0/projects/default/events/things?filters=nope`, {
          key: keys.master_key,
        })
      ).status,
    ).toBe(400);
  });
});
