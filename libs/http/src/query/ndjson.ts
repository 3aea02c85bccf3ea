import { once } from 'node:events';
import { JsonObject } from '@app/events';

export interface NdjsonReply {
  status(code: number): NdjsonReply;
  header(name: string, value: string): NdjsonReply;
  getHeader(name: string): unknown;
  hijack(): void;
  raw: NodeJS.WritableStream & { writeHead(status: number, headers: Record<string, string>): void };
}

/**
 * Streams events as NDJSON with backpressure: the source is pulled only as fast
 * as the client reads. The first event is read before any byte is sent, so bad
 * parameters still get a normal Keen-shaped 400 rather than a broken stream.
 */
export async function sendNdjson(reply: NdjsonReply, events: AsyncIterable<JsonObject>): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  const first = await iterator.next();
  reply.hijack();
  // hijack() bypasses Fastify's reply, so the pool header is copied by hand.
  const headers = { 'content-type': 'application/x-ndjson', 'x-tally-pool': String(reply.getHeader('x-tally-pool') ?? '') };
  reply.raw.writeHead(200, headers);
  try {
    let item = first;
    while (!item.done) {
      if (!reply.raw.write(`${JSON.stringify(item.value)}\n`)) await once(reply.raw, 'drain');
      item = await iterator.next();
    }
  } catch (error) {
    // Headers are gone: the only honest signal left is a last line naming the error.
    reply.raw.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  } finally {
    await iterator.return?.();
    reply.raw.end();
  }
}
