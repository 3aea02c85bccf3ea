import { EventEmitter } from 'node:events';
import { TallyConfig } from '@app/config';
import { StoredEvent, TallyError } from '@app/events';
import { NdjsonChunk, NdjsonPage, NdjsonScanRequest, ScanRequest } from '@app/query-engine';
import { InMemoryEventSource } from '@app/query-engine/testing';
import { EventStore } from '@app/storage';
import { NdjsonRaw, NdjsonReply, sendNdjson } from './ndjson';
import { ExtractionStream, QueryService } from '@app/core';

const T0 = Date.UTC(2024, 0, 1);
const stored = (n: number): StoredEvent => ({
  id: `e${String(n).padStart(6, '0')}`,
  timestamp: T0 + n * 1000,
  event: { n, keen: { id: `e${n}`, timestamp: new Date(T0 + n * 1000).toISOString() } },
});

/** The raw response as the NDJSON writer sees it; `blocked` makes every write report a full buffer. */
class FakeRaw extends EventEmitter implements NdjsonRaw {
  chunks: (string | Uint8Array)[] = [];
  status?: number;
  ended = false;
  destroyed = false;
  blocked = false;
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean {
    this.chunks.push(chunk);
    // A client that stopped reading never lets anything flush.
    if (callback && !this.blocked) setImmediate(callback);
    return !this.blocked;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
  writeHead(status: number): void {
    this.status = status;
  }
  lines(): Record<string, unknown>[] {
    return this.chunks
      .map((c) => (typeof c === 'string' ? c : Buffer.from(c).toString('utf8')))
      .join('')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }
}

class FakeReply implements NdjsonReply {
  readonly raw = new FakeRaw();
  hijacked = false;
  status(): NdjsonReply {
    return this;
  }
  header(): NdjsonReply {
    return this;
  }
  getHeader(): unknown {
    return 'standalone';
  }
  hijack(): void {
    this.hijacked = true;
  }
}

/**
 * An in-memory store whose `slow` collection can be held between pages
 * (`hold`) or produces pages without end, each after a timer; it records
 * whether each scan was closed.
 */
class TestStore {
  readonly memory = new InMemoryEventSource({ pageSize: 2 });
  hold?: Promise<void>;
  scansClosed = 0;
  pagesServed = 0;

  async *scan(request: ScanRequest, signal?: AbortSignal): AsyncIterable<StoredEvent[]> {
    try {
      if (request.collection === 'endless') {
        for (let n = 0; ; n += 2) {
          await new Promise((r) => setTimeout(r, 5));
          this.pagesServed++;
          yield [stored(n), stored(n + 1)];
        }
      }
      for await (const page of this.memory.scan(request, signal)) {
        if (this.hold && request.collection === 'slow' && this.pagesServed > 0) await this.hold;
        this.pagesServed++;
        yield page;
      }
    } finally {
      this.scansClosed++;
    }
  }
}

/** The same store offering its pages as stored text too (as SQLite does), from the same scans. */
class TextStore extends TestStore {
  async *scanNdjson(request: NdjsonScanRequest, signal?: AbortSignal): AsyncIterable<NdjsonPage> {
    for await (const page of this.scan({ ...request, order: 'asc' }, signal)) {
      const text = page.map((e) => `${JSON.stringify(e.event)}\n`).join('');
      yield { bytes: Buffer.from(text), events: page.length };
    }
  }
}

function service(store: TestStore, streamDeadlineMs = 600_000): QueryService {
  const config = {
    query: {
      deadlineMs: 60_000,
      maxConcurrentPerProject: 1,
      maxGroups: 10_000,
      maxExtractionEvents: 100_000,
      maxInValues: 10_000,
      streamDeadlineMs,
      cacheEntries: 0,
    },
  } as TallyConfig;
  return new QueryService(store as unknown as EventStore, config);
}

/**
 * Ten events, a client that reads the first page and goes away: the scan is
 * closed, no error line is written (nobody is there to read it), and the
 * project's query slot is free again.
 */
async function clientGoesAwayMidStream(
  store: TestStore,
  open: (queries: QueryService) => ExtractionStream<NdjsonChunk>,
): Promise<void> {
  store.memory.add(
    'p',
    'slow',
    Array.from({ length: 10 }, (_, i) => stored(i)),
  );
  const queries = service(store);
  const reply = new FakeReply();
  reply.raw.blocked = true;
  const stream = open(queries);
  const streaming = sendNdjson(reply, stream.pages, stream.deadline);
  while (reply.raw.chunks.length < 1) await new Promise((r) => setImmediate(r));
  reply.raw.emit('close');
  await streaming;
  expect(reply.raw.lines()).toEqual([stored(0).event, stored(1).event]);
  expect(store.scansClosed).toBe(1);
  expect(await queries.run('p', 'count', { event_collection: 'slow' })).toEqual({ result: 10 });
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('extraction/stream: project query slot', () => {
  it('holds one of the project slots for its whole duration (429 for the project, others unaffected)', async () => {
    const store = new TestStore();
    const events = Array.from({ length: 6 }, (_, i) => stored(i));
    store.memory
      .add('p', 'slow', events)
      .add('p', 'small', events.slice(0, 3))
      .add('q', 'small', events);
    let release!: () => void;
    store.hold = new Promise<void>((r) => (release = r));
    const queries = service(store);

    const reply = new FakeReply();
    const stream = queries.streamExtraction('p', { event_collection: 'slow' });
    const streaming = sendNdjson(reply, stream.pages, stream.deadline);
    // The first page (two events, one write) has gone out; the stream now
    // waits for the held second one.
    while (reply.raw.chunks.length < 1) await new Promise((r) => setImmediate(r));
    expect(reply.raw.lines().map((e) => e.n)).toEqual([0, 1]);

    const busy = (await rejection(
      queries.run('p', 'count', { event_collection: 'small' }),
    )) as TallyError;
    expect([busy.kind, busy.errorCode, busy.retryAfterSeconds]).toEqual([
      'rate_limited',
      'TooManyConcurrentQueriesError',
      1,
    ]);
    const second = new FakeReply();
    const other = queries.streamExtraction('p', { event_collection: 'small' });
    const refused = (await rejection(
      sendNdjson(second, other.pages, other.deadline),
    )) as TallyError;
    expect(refused.errorCode).toBe('TooManyConcurrentQueriesError');
    expect(second.hijacked).toBe(false); // a normal 429 answer, not a broken stream
    expect(await queries.run('q', 'count', { event_collection: 'small' })).toEqual({ result: 6 });

    release();
    await streaming;
    expect(reply.raw.ended).toBe(true);
    expect(reply.raw.destroyed).toBe(false);
    expect(reply.raw.lines().map((e) => e.n)).toEqual([0, 1, 2, 3, 4, 5]);
    // The slot is free again once the stream has ended.
    expect(await queries.run('p', 'count', { event_collection: 'small' })).toEqual({ result: 3 });
  });

  it('frees the slot and closes the scan when the client goes away mid-stream', async () => {
    await clientGoesAwayMidStream(new TestStore(), (queries) =>
      queries.streamExtraction('p', { event_collection: 'slow' }),
    );
  });
});

describe('extraction/stream: deadline (QUERY_STREAM_DEADLINE_MS)', () => {
  it('ends a stream still producing with a last error line and a cut connection', async () => {
    const store = new TestStore();
    const queries = service(store, 300);
    const reply = new FakeReply();
    const stream = queries.streamExtraction('p', { event_collection: 'endless' });
    await sendNdjson(reply, stream.pages, stream.deadline);

    const lines = reply.raw.lines();
    const last = lines[lines.length - 1];
    expect(last).toEqual({
      error: expect.stringMatching(/time limit of 300 ms \(QUERY_STREAM_DEADLINE_MS\)/),
      error_code: 'QueryTimeoutError',
    });
    // Every line before it is an event, in order, with none missing.
    const ns = lines.slice(0, -1).map((e) => e.n);
    expect(ns.length).toBeGreaterThan(0);
    expect(ns).toEqual(ns.map((_, i) => i));
    while (!reply.raw.destroyed) await new Promise((r) => setImmediate(r));
    expect(reply.raw.ended).toBe(false); // no chunked terminator: the client sees an incomplete body
    expect(store.scansClosed).toBe(1);
    expect(await queries.run('p', 'count', { event_collection: 'nothing' })).toEqual({ result: 0 });
  });

  it('ends a stream whose client stopped reading: the wait for drain gives up and the connection is cut', async () => {
    const store = new TestStore();
    store.memory.add(
      'p',
      'slow',
      Array.from({ length: 10 }, (_, i) => stored(i)),
    );
    const queries = service(store, 300);
    const reply = new FakeReply();
    reply.raw.blocked = true;
    const stream = queries.streamExtraction('p', { event_collection: 'slow' });
    await sendNdjson(reply, stream.pages, stream.deadline);

    // The page written before the client stalled, then the error line (which cannot flush).
    expect(reply.raw.lines()).toEqual([
      stored(0).event,
      stored(1).event,
      { error: expect.stringMatching(/time limit of 300 ms/), error_code: 'QueryTimeoutError' },
    ]);
    await new Promise((resolve) => reply.raw.once('close', resolve));
    expect([reply.raw.destroyed, reply.raw.ended]).toEqual([true, false]);
    expect(store.scansClosed).toBe(1);
    expect(await queries.run('p', 'count', { event_collection: 'slow' })).toEqual({ result: 10 });
  });
});

describe('extraction/stream: writes', () => {
  it('writes a page of lines in chunks, every line whole and in order', async () => {
    const page = Array.from({ length: 1000 }, (_, n) => JSON.stringify({ n, pad: 'x'.repeat(n % 7) }));
    async function* pages() {
      yield page.slice(0, 600);
      yield page.slice(600);
    }
    const reply = new FakeReply();
    await sendNdjson(reply, pages());
    expect(reply.raw.lines().map((e) => e.n)).toEqual(page.map((_, n) => n));
    // 600 lines in three writes (256 + 256 + 88), 400 in two.
    expect(reply.raw.chunks).toHaveLength(5);
    expect(reply.raw.ended).toBe(true);
  });
});

describe('extraction/stream: pages of stored text', () => {
  it('writes each page as it comes, in one write, in order with pages of lines', async () => {
    async function* pages() {
      yield Buffer.from('{"n":0}\n{"n":1}\n');
      yield ['{"n":2}'];
      yield new Uint8Array(Buffer.from('{"n":3}\n'));
    }
    const reply = new FakeReply();
    await sendNdjson(reply, pages());
    expect(reply.raw.lines().map((e) => e.n)).toEqual([0, 1, 2, 3]);
    expect(reply.raw.chunks).toHaveLength(3);
    expect(reply.raw.ended).toBe(true);
  });

  it('ends at the deadline with a last error line and a cut connection, and closes the scan', async () => {
    const store = new TextStore();
    const queries = service(store, 300);
    const reply = new FakeReply();
    const stream = queries.streamExtractionNdjson('p', { event_collection: 'endless' });
    await sendNdjson(reply, stream.pages, stream.deadline);

    expect(reply.raw.chunks.some((c) => c instanceof Uint8Array)).toBe(true);
    const lines = reply.raw.lines();
    expect(lines[lines.length - 1]).toEqual({
      error: expect.stringMatching(/time limit of 300 ms/),
      error_code: 'QueryTimeoutError',
    });
    const ns = lines.slice(0, -1).map((e) => e.n);
    expect(ns.length).toBeGreaterThan(0);
    expect(ns).toEqual(ns.map((_, i) => i));
    while (!reply.raw.destroyed) await new Promise((r) => setImmediate(r));
    expect(reply.raw.ended).toBe(false);
    expect(store.scansClosed).toBe(1);
  });

  it('frees the slot and closes the scan when the client goes away mid-stream', async () => {
    await clientGoesAwayMidStream(new TextStore(), (queries) =>
      queries.streamExtractionNdjson('p', { event_collection: 'slow' }),
    );
  });
});
