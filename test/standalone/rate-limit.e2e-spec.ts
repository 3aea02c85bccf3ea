import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { http, HttpResult } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { CLI_MAIN, ProjectKeys, StandaloneServer } from '../support/standalone-server';

const run = promisify(execFile);

/**
 * Per-project write limits (INGEST_EVENTS_PER_SECOND, INGEST_BYTES_PER_SECOND):
 * a project over its limit gets a Keen-shaped 429 with Retry-After and nothing
 * of the refused request is stored; everything acknowledged is stored; other
 * projects keep their whole budget.
 */
describe('standalone: per-project write limits', () => {
  const server = new StandaloneServer(undefined, {
    INGEST_EVENTS_PER_SECOND: '100',
    INGEST_BURST_SECONDS: '1',
    MAX_BATCH_EVENTS: '100',
    KEY_CACHE_REFRESH_MS: '200',
  });
  let other: ProjectKeys;

  beforeAll(async () => {
    await server.start();
    const { stdout } = await run(process.execPath, [CLI_MAIN, 'projects', 'create', 'quiet', '--json'], {
      env: { ...process.env, DATA_DIR: server.dataDir, TALLY_STACK_FILE: '/nonexistent/stack.json' },
    });
    other = JSON.parse(stdout);
  });

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const write = (projectId: string, key: string, collection: string, events: object[]) =>
    http('POST', `${server.url}/3.0/projects/${projectId}/events`, { body: { [collection]: events }, key });

  it('answers 429 with Retry-After past the limit, stores exactly what it acknowledged, and spares other projects', async () => {
    const key = server.keys!.write_key;
    // 12 batches of 20 at once: the bucket holds 100 events, so about 5 fit.
    const sent = Array.from({ length: 12 }, (_, b) =>
      Array.from({ length: 20 }, (_, i) => ({ batch: b, n: i })),
    );
    const answers = await Promise.all(sent.map((events) => write('default', key, 'flood', events)));
    const acked: object[] = answers.flatMap((res, b) => (res.status === 200 ? sent[b] : []));
    const refused = answers.filter((res) => res.status === 429);
    expect(refused.length + answers.filter((r) => r.status === 200).length).toBe(12);
    expect(acked.length).toBeGreaterThanOrEqual(100);
    expect(acked.length).toBeLessThanOrEqual(140);
    expect(refused.length).toBeGreaterThan(4);
    for (const res of refused as HttpResult[]) {
      expect(res.body).toEqual({
        error_code: 'RateLimitExceededError',
        message: expect.stringContaining('is over its write limit of 100 events per second'),
        request_id: expect.any(String),
      });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    for (const res of answers.filter((r) => r.status === 200))
      expect(res.body.flood).toEqual(Array.from({ length: 20 }, () => ({ success: true })));

    // Single events are admitted against the same budget: 30 more at once.
    // The bucket refills at 100/s while they arrive (each single write waits
    // for its own commit), so how many fit varies; each is a 201 or a 429.
    const singles = await Promise.all(
      Array.from({ length: 30 }, (_, n) =>
        http('POST', `${server.url}/3.0/projects/default/events/flood`, {
          body: { batch: 'single', n },
          key,
        }),
      ),
    );
    singles.forEach((r, n) => {
      expect([201, 429]).toContain(r.status);
      if (r.status === 201) acked.push({ batch: 'single', n });
      else expect(r.body.error_code).toBe('RateLimitExceededError');
    });

    // Another project is not slowed down by the noisy one.
    let quietStatus = 0;
    for (let attempt = 0; attempt < 30 && quietStatus !== 200; attempt++) {
      quietStatus = (await write(other.id, other.write_key, 'calm', [{ n: 1 }])).status;
      if (quietStatus !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(quietStatus).toBe(200);
    const calm = await write(
      other.id,
      other.write_key,
      'calm',
      Array.from({ length: 90 }, (_, i) => ({ n: i + 2 })),
    );
    expect(calm.status).toBe(200);

    // Stored: exactly the acknowledged events, counters equal a recount.
    const contents = new SqliteContents(server.dataDir);
    try {
      const stored = contents.events('default', 'flood').map((e) => e.event);
      const key2 = (e: { batch?: unknown; n?: unknown }) => `${String(e.batch)}/${String(e.n)}`;
      expect(stored.map(key2).sort()).toEqual(acked.map(key2).sort());
      expect(contents.counters('default')).toEqual(contents.recount('default'));
      expect(contents.events(other.id, 'calm')).toHaveLength(91);
    } finally {
      contents.close();
    }

    // After the wait the header named, the project writes again.
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await write('default', key, 'flood', [{ batch: 'later', n: 0 }])).status).toBe(200);
  });

  it('refuses before validating: a flood of invalid events spends the budget and gets 429, not 400s', async () => {
    await new Promise((r) => setTimeout(r, 1_100));
    const key = server.keys!.write_key;
    const bad = Array.from({ length: 100 }, () => ({ $bad: 1 }));
    const first = await write('default', key, 'junk', bad);
    expect(first.status).toBe(200);
    expect(first.body.junk.every((r: { success: boolean }) => !r.success)).toBe(true);
    const second = await write('default', key, 'junk', bad);
    expect(second.status).toBe(429);
    expect(second.body.error_code).toBe('RateLimitExceededError');
  });
});
