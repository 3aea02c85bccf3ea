import { performance } from 'node:perf_hooks';
import { sleep } from '@test/support/split-stack';

/** One heavy query the query pool is kept busy with. */
export interface HeavyQuery {
  analysis: string;
  body: Record<string, unknown>;
}

export interface QueryLoadResult {
  completed: number;
  failed: number;
  failures: Record<string, number>;
  /** Completed queries per analysis. */
  byAnalysis: Record<string, number>;
}

/**
 * Clients looping over `queries` (POST …/queries/:analysis, JSON body) until
 * stop(): a query pool kept busy for as long as the ingest load runs.
 */
export class QueryLoad {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly result: QueryLoadResult = {
    completed: 0,
    failed: 0,
    failures: {},
    byAnalysis: {},
  };

  constructor(
    private readonly url: (analysis: string) => string,
    private readonly readKey: string,
    private readonly queries: HeavyQuery[],
  ) {}

  start(clients: number): this {
    this.running = true;
    for (let c = 0; c < clients; c++) this.loops.push(this.loop(c));
    return this;
  }

  /** Stops after the queries in flight have answered. */
  async stop(): Promise<QueryLoadResult> {
    this.running = false;
    await Promise.all(this.loops);
    return this.result;
  }

  private async loop(client: number): Promise<void> {
    for (let i = client; this.running; i++) {
      const q = this.queries[i % this.queries.length];
      const res = await fetch(this.url(q.analysis), {
        method: 'POST',
        headers: { authorization: this.readKey, 'content-type': 'application/json' },
        body: JSON.stringify(q.body),
        signal: AbortSignal.timeout(300_000),
      }).catch((error: Error) => error);
      if (res instanceof Error) {
        this.fail(`error: ${res.message}`);
        await sleep(100);
        continue;
      }
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) this.fail(`${res.status} ${body.toString('utf8', 0, 120)}`);
      else {
        this.result.completed++;
        this.result.byAnalysis[q.analysis] = (this.result.byAnalysis[q.analysis] ?? 0) + 1;
      }
    }
  }

  private fail(key: string): void {
    this.result.failed++;
    this.result.failures[key] = (this.result.failures[key] ?? 0) + 1;
  }
}

export interface DeleteResult {
  /** 204: done in the request; 202: accepted as a background job (then followed to its end). */
  status: number;
  scanned: number;
  deleted: number;
  ms: number;
  error?: string;
}

/**
 * DELETE …/events/:collection with a selection in the query string, followed
 * to its end: a 204 reports its counts in headers; a 202 names a job whose
 * status URL is polled until the job is done or failed.
 */
export async function runDelete(
  baseUrl: string,
  eventsUrl: string,
  masterKey: string,
  selection: Record<string, unknown>,
): Promise<DeleteResult> {
  const query = Object.entries(selection)
    .map(([k, v]) => `${k}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`)
    .join('&');
  const t0 = performance.now();
  const res = await fetch(`${eventsUrl}?${query}`, {
    method: 'DELETE',
    headers: { authorization: masterKey },
    signal: AbortSignal.timeout(600_000),
  });
  const text = await res.text();
  const out: DeleteResult = { status: res.status, scanned: 0, deleted: 0, ms: 0 };
  if (res.status === 204) {
    out.scanned = Number(res.headers.get('x-tally-events-scanned') ?? 0);
    out.deleted = Number(res.headers.get('x-tally-events-deleted') ?? 0);
  } else if (res.status === 202) {
    const statusUrl = `${baseUrl}${(JSON.parse(text) as { status_url: string }).status_url}`;
    for (;;) {
      await sleep(500);
      const job = (await (
        await fetch(statusUrl, { headers: { authorization: masterKey } })
      ).json()) as {
        state: string;
        events_scanned: number;
        events_deleted: number;
        error?: string;
      };
      if (job.state !== 'done' && job.state !== 'failed') continue;
      out.scanned = job.events_scanned;
      out.deleted = job.events_deleted;
      if (job.state === 'failed') out.error = job.error ?? 'job failed';
      break;
    }
  } else {
    out.error = text.slice(0, 200);
  }
  out.ms = performance.now() - t0;
  return out;
}
