import * as nodeHttp from 'node:http';

/** Small fetch wrapper for tests: status, headers and parsed JSON body. */
export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function http<T = any>(
  method: string,
  url: string,
  options: {
    body?: unknown;
    raw?: string | Buffer;
    key?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.key) headers.authorization = options.key;
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (e.g. the beacon GIF); keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/**
 * Declares a body of `bytes` and sends only its `start`, then reads the answer:
 * how a test sees the answer to an oversize body deterministically (sending
 * it all races the server, which answers 413 and may close the socket while
 * the client is still writing: EPIPE).
 */
export function declaredSizeRequest(
  method: string,
  url: string,
  key: string,
  bytes: number,
  start = '{"c":[{"s":"',
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request(
      url,
      {
        method,
        headers: {
          authorization: key,
          'content-type': 'application/json',
          'content-length': bytes,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.write(start);
  });
}
