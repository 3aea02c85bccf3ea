/**
 * Standalone ingest throughput next to a bare Fastify server answering the
 * same requests, measured in the same run, alternating rounds so machine
 * noise hits both. Run: `npm run bench -- ingest-standalone` (see docs/benchmarks.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load, LoadResult, median } from './support/load';
import { ROOT, startNode, tempDir } from './support/processes';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);

function event(i: number) {
  return { item: { id: i, name: `item ${i}` }, price: 9.99 + i, user: { id: `u${i % 50}`, country: 'FR' }, tags: ['a', 'b'] };
}

interface Scenario {
  name: string;
  path: string;
  body: string;
  eventsPerRequest: number;
}

const scenarios: Scenario[] = [
  { name: 'single event POST', path: '/events/bench', body: JSON.stringify(event(1)), eventsPerRequest: 1 },
  {
    name: '100-event batch POST',
    path: '/events',
    body: JSON.stringify({ bench: Array.from({ length: 100 }, (_, i) => event(i)) }),
    eventsPerRequest: 100,
  },
];

function summarize(results: LoadResult[], eventsPerRequest: number) {
  return {
    eventsPerSec: Math.round(median(results.map((r) => r.requestsPerSec)) * eventsPerRequest),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    failed: results.reduce((n, r) => n + r.non2xx + r.errors, 0),
  };
}

async function main(): Promise<void> {
  const dataDir = tempDir('tally-bench-');
  const tally = await startNode(
    path.join(ROOT, 'dist/apps/standalone/src/main.js'),
    { DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    'listening on',
  );
  const keys = JSON.parse(/Created project "default"[^\n]*\n(\{[\s\S]*?\n\})/.exec(tally.output)![1]);
  const bare = await startNode(path.join(ROOT, 'dist/bench/support/bare-fastify.js'), {}, 'listening on');
  const lines: string[] = [];
  try {
    for (const s of scenarios) {
      const results = { tally: [] as LoadResult[], bare: [] as LoadResult[] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, target] of [
          ['tally', tally],
          ['bare', bare],
        ] as const) {
          results[name].push(
            await load({
              url: `http://127.0.0.1:${target.port}/3.0/projects/default${s.path}`,
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: keys.write_key },
              body: s.body,
              connections: CONNECTIONS,
              seconds: SECONDS,
            }),
          );
        }
      }
      const t = summarize(results.tally, s.eventsPerRequest);
      const b = summarize(results.bare, s.eventsPerRequest);
      lines.push(
        `| ${s.name} | ${t.eventsPerSec} | ${t.p50} | ${t.p99} | ${b.eventsPerSec} | ${b.p50} | ${b.p99} | ${(t.eventsPerSec / b.eventsPerSec).toFixed(2)} | ${t.failed} |`,
      );
    }
  } finally {
    await tally.stop();
    await bare.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(
    `standalone ingest vs bare Fastify: ${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections, medians\n\n` +
      '| scenario | tally events/s | tally p50 ms | tally p99 ms | bare events/s | bare p50 ms | bare p99 ms | tally/bare | tally failed requests |\n' +
      '|---|---|---|---|---|---|---|---|---|\n' +
      lines.join('\n') +
      '\n',
  );
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
