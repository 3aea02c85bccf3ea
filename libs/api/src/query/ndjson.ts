import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TallyError } from '@app/events';
import type { NdjsonChunk } from '@app/query-engine';

export interface NdjsonRaw {
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean;
  end(): void;
  destroy(): void;
  writeHead(status: number, headers: Record<string, string>): void;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export interface NdjsonReply {
  status(code: number): NdjsonReply;
  header(name: string, value: string): NdjsonReply;
  getHeader(name: string): unknown;
  hijack(): void;
  raw: NdjsonRaw;
}

/** How long the last line of a failed stream may take to flush before the connection is cut anyway. */
const LAST_LINE_FLUSH_MS = 1000;
/** Lines per write: one chunk per write call, whatever the page size. */
const CHUNK_LINES = 256;
/** Joining chunks is cheap, but a huge page still gives the loop a turn this often. */
const WRITE_SLICE_MS = 4;

/**
 * Streams events as NDJSON with backpressure: the source (pages of JSON lines,
 * serialised by the query engine in its time slices, or pages of lines as the
 * store holds them) is pulled only as fast as the client reads. The first page
 * is read before any byte is sent, so bad parameters, a busy project (429) or
 * a query that times out before its first match still get a normal
 * Keen-shaped error rather than a broken stream.
 *
 * After the first line, a failure (the deadline passing, a store error) ends
 * the stream with one last line `{"error": message, "error_code": code}` and
 * then cuts the connection without the chunked terminator, so a client can
 * tell the export is incomplete even when a projected event happens to look
 * like that line (curl exits 18, fetch's body read rejects). The deadline
 * also ends a wait for a client that stopped reading; a client that goes away
 * just stops the stream.
 */
export async function sendNdjson(
  reply: NdjsonReply,
  pages: AsyncIterable<NdjsonChunk>,
  deadline?: AbortSignal,
): Promise<void> {
  const iterator = pages[Symbol.asyncIterator]();
  const first = await iterator.next();
  reply.hijack();
  const raw = reply.raw;
  // hijack() bypasses Fastify's reply, so the pool header is copied by hand.
  const headers = {
    'content-type': 'application/x-ndjson',
    'x-tally-pool': String(reply.getHeader('x-tally-pool') ?? ''),
  };
  raw.writeHead(200, headers);
  let failure: unknown;
  let gone = false;
  try {
    let item = first;
    while (!item.done) {
      if ((await writePage(raw, item.value, deadline)) === 'closed') {
        gone = true;
        return;
      }
      if (deadline?.aborted) throw deadline.reason;
      item = await iterator.next();
    }
  } catch (error) {
    // The deadline's own error, whichever of the timer or the engine saw it first.
    failure = deadline?.aborted ? deadline.reason : error;
  } finally {
    await iterator.return?.();
    if (gone) raw.destroy();
    else if (failure === undefined) raw.end();
    else cut(raw, failure);
  }
}

/**
 * One page, a chunk of lines per write (a page of stored text in one):
 * waits for 'drain' when the socket's buffer is full, and gives the loop a
 * turn when a long page took a slice.
 */
async function writePage(
  raw: NdjsonRaw,
  page: NdjsonChunk,
  deadline?: AbortSignal,
): Promise<'written' | 'closed'> {
  if (page instanceof Uint8Array) {
    if (!raw.write(page) && (await drained(raw, deadline)) === 'closed') return 'closed';
    if (deadline?.aborted) throw deadline.reason;
    return 'written';
  }
  let sliceStart = performance.now();
  for (let from = 0; from < page.length; from += CHUNK_LINES) {
    const to = Math.min(page.length, from + CHUNK_LINES);
    let chunk = '';
    for (let i = from; i < to; i++) chunk += `${page[i]}\n`;
    if (!raw.write(chunk)) {
      const outcome = await drained(raw, deadline);
      if (outcome === 'closed') return 'closed';
      sliceStart = performance.now();
    } else if (performance.now() - sliceStart >= WRITE_SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
    if (deadline?.aborted) throw deadline.reason;
  }
  return 'written';
}

/** Waits for 'drain'; stops early when the client goes away or the deadline passes. */
function drained(raw: NdjsonRaw, deadline?: AbortSignal): Promise<'drain' | 'closed' | 'deadline'> {
  return new Promise((resolve) => {
    const finish = (outcome: 'drain' | 'closed' | 'deadline') => {
      raw.off('drain', onDrain);
      raw.off('close', onClose);
      deadline?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onDrain = () => finish('drain');
    const onClose = () => finish('closed');
    const onAbort = () => finish('deadline');
    raw.once('drain', onDrain);
    raw.once('close', onClose);
    deadline?.addEventListener('abort', onAbort, { once: true });
    if (deadline?.aborted) finish('deadline');
  });
}

/** The last line naming the error, then the connection is cut (see sendNdjson). */
function cut(raw: NdjsonRaw, failure: unknown): void {
  const line = {
    error: failure instanceof Error ? failure.message : String(failure),
    error_code: failure instanceof TallyError ? failure.errorCode : 'InternalError',
  };
  let done = false;
  const destroy = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    raw.destroy();
  };
  // A client that stopped reading never lets the line flush: cut it anyway.
  const timer = setTimeout(destroy, LAST_LINE_FLUSH_MS);
  timer.unref();
  raw.write(`${JSON.stringify(line)}\n`, destroy);
}
