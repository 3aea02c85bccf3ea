import { performance } from 'node:perf_hooks';
import { percentile } from './load';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WriteProbeResult {
  requests: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * `writers` closed-loop clients POSTing one event each (…/events/:collection),
 * `pauseMs` apart, for `seconds`: a tenant's steady trickle of single-event
 * writes, each request timed to its answer.
 */
export async function writeProbe(spec: {
  baseUrl: string;
  projectId: string;
  writeKey: string;
  collection: string;
  writers: number;
  pauseMs: number;
  seconds: number;
}): Promise<WriteProbeResult> {
  const url = `${spec.baseUrl}/3.0/projects/${spec.projectId}/events/${spec.collection}`;
  const latencies: number[] = [];
  let failed = 0;
  const until = performance.now() + spec.seconds * 1000;
  await Promise.all(
    Array.from({ length: spec.writers }, async (_, w) => {
      for (let i = 0; performance.now() < until; i++) {
        const t0 = performance.now();
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: spec.writeKey, 'content-type': 'application/json' },
          body: JSON.stringify({ writer: w, i, price: i % 100 }),
          signal: AbortSignal.timeout(30_000),
        }).catch((error: Error) => error);
        if (res instanceof Error || res.status !== 201) failed++;
        else await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (spec.pauseMs > 0) await sleep(spec.pauseMs);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    failed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? 0,
  };
}

export interface ReadStormQuery {
  name: string;
  analysis: string;
  body: Record<string, unknown>;
}

export interface ReadStormResult {
  /** Per query name: answers by outcome (200, 504, 429, …; `aborted` when stopped in flight). */
  outcomes: Record<string, Record<string, number>>;
  /** Per query name: wall time of each 200 answer (ms). */
  times: Record<string, number[]>;
}

/**
 * `clients` loops, each running `queries` in turn (POST …/queries/:analysis)
 * until stop(); stop() aborts the queries in flight (the server stops them at
 * its next pause), so a phase ends on time even with a query that would run
 * to its deadline.
 */
export class ReadStorm {
  private running = false;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  readonly result: ReadStormResult = { outcomes: {}, times: {} };

  constructor(
    private readonly baseUrl: string,
    private readonly projectId: string,
    private readonly readKey: string,
    private readonly queries: ReadStormQuery[],
  ) {}

  start(clients: number): this {
    this.running = true;
    for (let c = 0; c < clients; c++) this.loops.push(this.loop(c));
    return this;
  }

  async stop(): Promise<ReadStormResult> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.loops);
    return this.result;
  }

  private async loop(client: number): Promise<void> {
    for (let i = client; this.running; i++) {
      const q = this.queries[i % this.queries.length];
      const t0 = performance.now();
      const res = await fetch(
        `${this.baseUrl}/3.0/projects/${this.projectId}/queries/${q.analysis}`,
        {
          method: 'POST',
          headers: { authorization: this.readKey, 'content-type': 'application/json' },
          body: JSON.stringify(q.body),
          signal: this.abort.signal,
        },
      ).catch((error: Error) => error);
      let outcome: string;
      if (res instanceof Error) outcome = this.running ? `error ${res.message}` : 'aborted';
      else {
        const ok = await res.arrayBuffer().then(
          () => true,
          () => false,
        );
        outcome = ok ? String(res.status) : 'aborted';
        if (res.status === 200 && ok)
          (this.result.times[q.name] ??= []).push(performance.now() - t0);
      }
      const counts = (this.result.outcomes[q.name] ??= {});
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      if (outcome === '429') await sleep(200);
    }
  }
}
