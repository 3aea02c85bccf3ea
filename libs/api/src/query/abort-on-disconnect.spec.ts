import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { abortOnDisconnect } from './abort-on-disconnect';

/**
 * A server whose handler answers only when told to, recording the signal of
 * each request: a client that leaves after its body was read must abort it.
 */
async function withServer(
  fn: (url: string, signals: AbortSignal[], answer: () => void) => Promise<void>,
): Promise<void> {
  const signals: AbortSignal[] = [];
  const pending: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    signals.push(abortOnDisconnect({ raw: res }));
    req.resume();
    pending.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    await fn(url, signals, () => pending.shift()?.end('{"result":1}'));
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe('abortOnDisconnect', () => {
  it('aborts when the client leaves after its body was read, before the answer', async () => {
    await withServer(async (url, signals) => {
      const client = new AbortController();
      const request = fetch(url, {
        method: 'POST',
        body: 'x'.repeat(10_000),
        signal: client.signal,
      }).catch((e: Error) => e.name);
      await until(() => signals.length === 1);
      expect(signals[0].aborted).toBe(false);
      client.abort();
      expect(await request).toBe('AbortError');
      await until(() => signals[0].aborted);
      expect(signals[0].aborted).toBe(true);
    });
  });

  it('does not abort a query whose answer was sent', async () => {
    await withServer(async (url, signals, answer) => {
      const request = fetch(url, { method: 'POST', body: '{}' }).then((r) => r.json());
      await until(() => signals.length === 1);
      answer();
      expect(await request).toEqual({ result: 1 });
      await new Promise((r) => setTimeout(r, 20));
      expect(signals[0].aborted).toBe(false);
    });
  });
});
