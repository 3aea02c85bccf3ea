import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { http, HttpResult } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { ProjectKeys, StandaloneServer } from '../support/standalone-server';

jest.setTimeout(180_000);

/**
 * A store that runs out of space, for real (no mocked database):
 * - `disk`: DATA_DIR is a small tmpfs mount filled up by a ballast file, which
 *   is then deleted — a full disk and an operator freeing space. Needs root and
 *   permission to mount (a CI container without CAP_SYS_ADMIN has neither).
 * - `cap`: SQLITE_MAX_BYTES caps the database (SQLite's max_page_count, a
 *   genuine SQLITE_FULL); a ballast collection written through the API fills
 *   it, and deleting that collection gives the space back. Runs everywhere.
 */
interface Pressure {
  name: string;
  dataDir: string;
  env: Record<string, string>;
  /** Fills the store; returns the acknowledged ballast events (stored events the test must expect). */
  fill(server: StandaloneServer, keys: ProjectKeys): Promise<void>;
  free(server: StandaloneServer, keys: ProjectKeys): Promise<void>;
  /** Whether a delete needs room to run: on a full disk yes (the journal grows); under a cap it frees pages. */
  deletesNeedSpace: boolean;
  cleanup(): void;
}

const PAD = 'x'.repeat(20_000);
/** A beacon's event travels in the URL, which Node caps at 16 KB of request head. */
const BEACON_PAD = 'x'.repeat(6_000);

function tmpfsPressure(): Pressure | null {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dataDir], { stdio: 'pipe' });
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    console.warn(
      `disk-full: cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); ` +
        'only the SQLITE_MAX_BYTES scenario runs',
    );
    return null;
  }
  const ballast = path.join(dataDir, 'ballast');
  return {
    name: 'a full file system under DATA_DIR (tmpfs + ballast file)',
    dataDir,
    env: {},
    deletesNeedSpace: true,
    fill: async () => {
      const fd = fs.openSync(ballast, 'w');
      const block = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) fs.writeSync(fd, block);
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
      expect(fs.statfsSync(dataDir).bavail).toBe(0);
    },
    free: async () => fs.rmSync(ballast),
    cleanup: () => {
      execFileSync('umount', [dataDir]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function capPressure(): Pressure {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-cap-'));
  return {
    name: 'the database at its SQLITE_MAX_BYTES cap',
    dataDir,
    env: { SQLITE_MAX_BYTES: String(2 * 1024 * 1024) },
    deletesNeedSpace: false,
    fill: async (server, keys) => {
      // Large events first, then smaller ones, until even a 500-byte event is
      // refused: what is left is less than the smallest write the test makes.
      let i = 0;
      for (const size of [16_000, 2_000, 500]) {
        for (;;) {
          const res = await http('POST', `${server.url}/3.0/projects/default/events/ballast`, {
            body: { i: i++, pad: PAD.slice(0, size) },
            key: keys.write_key,
          });
          if (res.status === 507) break;
          expect(res.status).toBe(201);
          if (i > 5000) throw new Error('the cap never filled');
        }
      }
    },
    free: async (server, keys) => {
      const res = await http('DELETE', `${server.url}/3.0/projects/default/events/ballast`, {
        key: keys.master_key,
      });
      expect(res.status).toBe(204);
    },
    cleanup: () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
}

function expectInsufficientStorage(res: HttpResult, what: string): void {
  expect({ what, status: res.status }).toEqual({ what, status: 507 });
  expect(res.body).toEqual({
    message: expect.stringMatching(/nothing from this request was stored or deleted/),
    error_code: 'InsufficientStorageError',
    request_id: expect.any(String),
  });
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
}

const pressures = [tmpfsPressure(), capPressure()].filter((p): p is Pressure => p !== null);

describe.each(pressures.map((p) => [p.name, p] as const))('standalone: %s', (_name, pressure) => {
  const server = new StandaloneServer(pressure.dataDir, pressure.env);
  let keys: ProjectKeys;
  const eventsUrl = () => `${server.url}/3.0/projects/default/events`;
  /** What the server acknowledged, by uid: exactly these must be stored in the end. */
  const acknowledged = new Map<string, Record<string, unknown>>();

  const post = async (collection: string, event: Record<string, unknown>) =>
    http('POST', `${eventsUrl()}/${collection}`, { body: event, key: keys.write_key });
  const postBatch = async (batch: Record<string, Array<Record<string, unknown>>>) =>
    http('POST', eventsUrl(), { body: batch, key: keys.write_key });
  const beacon = async (collection: string, event: Record<string, unknown>) => {
    const data = Buffer.from(JSON.stringify(event)).toString('base64');
    return http(
      'GET',
      `${eventsUrl()}/${collection}?api_key=${keys.write_key}&data=${encodeURIComponent(data)}`,
    );
  };
  const readiness = () => http('GET', `${server.url}/readyz`);
  const stored = () => {
    const contents = new SqliteContents(server.dataDir);
    try {
      return {
        events: contents.events('default').filter((e) => e.collection !== 'ballast'),
        counters: contents.counters('default'),
        recount: contents.recount('default'),
      };
    } finally {
      contents.close();
    }
  };

  beforeAll(async () => {
    await server.start();
    keys = server.keys!;
  });

  afterAll(async () => {
    await server.stop();
    pressure.cleanup();
  });

  it('is ready and stores events while there is room', async () => {
    expect((await readiness()).body).toEqual({ status: 'ready', pool: 'standalone' });
    for (let i = 0; i < 5; i++) {
      const event = { uid: `before-${i}`, n: i, user: { id: `u${i % 2}` } };
      expect((await post('purchases', event)).status).toBe(201);
      acknowledged.set(event.uid, event);
    }
    const batch = Array.from({ length: 5 }, (_, i) => ({ uid: `batch-${i}`, price: i * 1.5 }));
    const res = await postBatch({ visits: batch });
    expect(res.body.visits).toEqual(batch.map(() => ({ success: true })));
    for (const event of batch) acknowledged.set(event.uid, event);
  });

  it('refuses writes with a Keen-shaped 507 and Retry-After while full; /readyz is 503, /healthz stays ok', async () => {
    await pressure.fill(server, keys);

    expectInsufficientStorage(await post('purchases', { uid: 'full-one', pad: PAD }), 'one event');
    expectInsufficientStorage(
      await postBatch({
        purchases: [{ uid: 'full-batch-0', pad: PAD }],
        visits: [{ uid: 'full-batch-1', pad: PAD }],
      }),
      'a batch',
    );
    expectInsufficientStorage(
      await beacon('visits', { uid: 'full-beacon', pad: BEACON_PAD }),
      'a beacon',
    );
    if (pressure.deletesNeedSpace) {
      const filters = encodeURIComponent(
        JSON.stringify([{ property_name: 'uid', operator: 'eq', property_value: 'before-0' }]),
      );
      expectInsufficientStorage(
        await http('DELETE', `${eventsUrl()}/purchases?filters=${filters}`, {
          key: keys.master_key,
        }),
        'a delete',
      );
    }

    const ready = await readiness();
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      message: expect.stringMatching(/out of space/),
      error_code: 'InsufficientStorageError',
      request_id: expect.any(String),
    });
    expect(Number(ready.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await http('GET', `${server.url}/healthz`)).body).toEqual({
      status: 'ok',
      pool: 'standalone',
    });

    // Nothing refused was kept, nothing acknowledged was lost.
    const now = stored();
    expect(now.events.map((e) => e.event.uid).sort()).toEqual([...acknowledged.keys()].sort());
    expect(now.counters).toEqual(now.recount);
  });

  it('recovers by itself once space is freed: /readyz ready, the refused writes succeed, exactly the acknowledged events are stored', async () => {
    await pressure.free(server, keys);
    const deadline = Date.now() + 15_000;
    let ready = await readiness();
    while (ready.status !== 200 && Date.now() < deadline) {
      await sleep(100);
      ready = await readiness();
    }
    expect(ready.body).toEqual({ status: 'ready', pool: 'standalone' });

    const one = { uid: 'full-one', pad: PAD };
    expect((await post('purchases', one)).status).toBe(201);
    acknowledged.set(one.uid, one);
    const batch = {
      purchases: [{ uid: 'full-batch-0', pad: PAD }],
      visits: [{ uid: 'full-batch-1', pad: PAD }],
    };
    const res = await postBatch(batch);
    expect(res.body).toEqual({ purchases: [{ success: true }], visits: [{ success: true }] });
    for (const event of [...batch.purchases, ...batch.visits]) acknowledged.set(event.uid, event);
    const pixel = await beacon('visits', { uid: 'full-beacon', pad: BEACON_PAD });
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    acknowledged.set('full-beacon', { uid: 'full-beacon', pad: BEACON_PAD });
    expect((await readiness()).status).toBe(200);

    const now = stored();
    const byUid = new Map(now.events.map((e) => [e.event.uid as string, e]));
    expect([...byUid.keys()].sort()).toEqual([...acknowledged.keys()].sort());
    expect(now.events).toHaveLength(acknowledged.size); // no duplicate from the retries
    for (const [uid, sent] of acknowledged) {
      const { keen, ...body } = byUid.get(uid)!.event;
      expect(body).toEqual(sent);
      expect((keen as { id: string }).id).toBe(byUid.get(uid)!.id);
    }
    expect(new Set(now.events.map((e) => e.id)).size).toBe(now.events.length);
    expect(now.counters).toEqual(now.recount);
  });
});
