import { EventStream, ProjectKeys, SplitStack, sleep } from '@test/support/split-stack';
import { percentile } from './load';

export interface IngestLoadSpec {
  collection: string;
  /** Unique per round: the stream's event markers start with it. */
  runId: string;
  seconds: number;
  /** Concurrent clients; half POST single events, half POST batches. */
  clients: number;
  batchSize: number;
  /** Pause of each client between its requests (ms). */
  pauseMs: number;
}

export interface IngestLoadResult {
  requests: number;
  /** Events the server acknowledged. */
  acked: number;
  /** Requests without a 2xx answer, or with an event not acknowledged. */
  failed: number;
  failures: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
}

/**
 * A steady write load through nginx for a fixed time: closed-loop clients
 * (the test suite's EventStream), half sending single events and half small
 * batches, each request's latency measured to its acknowledgement.
 */
export async function ingestLoad(
  stack: SplitStack,
  keys: ProjectKeys,
  spec: IngestLoadSpec,
): Promise<IngestLoadResult> {
  const stream = (suffix: string, batchSize: number, concurrency: number) =>
    new EventStream({
      baseUrl: stack.baseUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: spec.collection,
      runId: `${spec.runId}-${suffix}`,
      concurrency,
      batchSize,
      pauseMs: spec.pauseMs,
    });
  const singles = Math.ceil(spec.clients / 2);
  const streams = [stream('s', 1, singles), stream('b', spec.batchSize, spec.clients - singles)];
  for (const s of streams) s.start();
  await sleep(spec.seconds * 1000);
  await Promise.all(streams.map((s) => s.stop()));
  const requests = streams.flatMap((s) => s.requests);
  const latencies = requests.map((r) => r.ms).sort((a, b) => a - b);
  const failures: Record<string, number> = {};
  for (const s of streams) {
    for (const [k, n] of Object.entries(s.failures())) failures[k] = (failures[k] ?? 0) + n;
  }
  return {
    requests: requests.length,
    acked: requests.reduce((n, r) => n + r.acked.length, 0),
    failed: requests.filter((r) => r.acked.length < r.markers.length).length,
    failures,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? 0,
  };
}
