import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { http } from '../support/http';
import { StandaloneServer } from '../support/standalone-server';

/**
 * schemathesis fuzzes the real standalone server against its own /openapi.json,
 * once per key kind: every response must be documented (status, content type,
 * body schema) and none may be a 5xx. How to run it alone: docs/api-fuzzing.md.
 */

const SCHEMATHESIS = 'schemathesis==4.32.5';
const VENV = path.join(
  process.env.TALLY_CACHE_DIR || path.join(os.homedir(), '.cache', 'tally'),
  'py-schemathesis-4.32.5',
);
const CLI = path.join(VENV, 'bin', 'schemathesis');
const CONFIG = path.resolve(__dirname, '../python/api-fuzz.toml');

/** Bounded, reproducible runs: about 40 s per key kind on 2 cores. */
const MAX_EXAMPLES = 25;
const SEED = 20240601;
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'response_schema_conformance',
  'content_type_conformance',
];

/** The PyPI tool in its own virtualenv (created once, from PyPI), like the Python client spec. */
function ensureSchemathesis(): void {
  if (fs.existsSync(CLI) && fs.existsSync(path.join(VENV, '.installed'))) return;
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '-q', SCHEMATHESIS], { stdio: 'inherit' });
  fs.writeFileSync(path.join(VENV, '.installed'), `${SCHEMATHESIS}\n`);
}

interface Finding {
  operation: string;
  codes: string[];
  text: string;
}

interface FuzzRun {
  exitCode: number | null;
  output: string;
  operations: number;
  cases: number;
  findings: Finding[];
  /** JUnit <error>s: the run could not test an operation (network error, timeout, schema problem). */
  errors: Finding[];
}

function xmlText(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}

/** The failures and errors of a schemathesis JUnit report, per operation. */
function parseJunit(xml: string): { findings: Finding[]; errors: Finding[] } {
  const findings: Finding[] = [];
  const errors: Finding[] = [];
  const testcase = /<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const [, name, inner] of xml.matchAll(testcase)) {
    if (!inner) continue;
    const operation = xmlText(name);
    for (const [, kind, body] of inner.matchAll(/<(failure|error)\b[^>]*>([\s\S]*?)<\/\1>/g)) {
      const text = xmlText(body);
      const codes = [...text.matchAll(/^- (ST\d{3})\b/gm)].map((m) => m[1]);
      (kind === 'failure' ? findings : errors).push({ operation, codes, text });
    }
  }
  return { findings, errors };
}

function runSchemathesis(url: string, key: string | undefined, workDir: string): Promise<FuzzRun> {
  const junit = path.join(workDir, 'junit.xml');
  const args = [
    '--config-file',
    CONFIG,
    'run',
    `${url}/openapi.json`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    String(MAX_EXAMPLES),
    '--seed',
    String(SEED),
    '--request-timeout',
    '20',
    // Reproducible and side-effect free: no example database in the repository or the home dir.
    '--generation-database',
    'none',
    // The key kind under test is the only key sent: no generated api_key or Authorization values.
    '--generation-with-security-parameters',
    'false',
    '--workers',
    '1',
    '--no-color',
    '--report',
    'junit',
    '--report-junit-path',
    junit,
    ...(key ? ['-H', `Authorization: ${key}`] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, {
      cwd: workDir,
      env: { ...process.env, HYPOTHESIS_STORAGE_DIRECTORY: path.join(workDir, '.hypothesis') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('exit', (exitCode) => {
      if (!fs.existsSync(junit)) {
        reject(new Error(`schemathesis wrote no report (exit ${exitCode}):\n${output}`));
        return;
      }
      const { findings, errors } = parseJunit(fs.readFileSync(junit, 'utf8'));
      resolve({
        exitCode,
        output,
        operations: Number(/Tested:\s+(\d+)/.exec(output)?.[1] ?? 0),
        cases: Number(/(\d+) generated/.exec(output)?.[1] ?? 0),
        findings,
        errors,
      });
    });
  });
}

function describeFindings(findings: Finding[]): string {
  return findings.map((f) => `=== ${f.operation}\n${f.text}`).join('\n\n');
}

describe('OpenAPI fuzz (schemathesis against /openapi.json)', () => {
  // Reach the answers the defaults keep rare: redirects are refused unless their host is listed (the
  // document's example host is), and only a delete reading more than DELETE_JOB_THRESHOLD events is a job (202).
  const server = new StandaloneServer(undefined, { BEACON_REDIRECT_HOSTS: 'example.com', DELETE_JOB_THRESHOLD: '5' });
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-fuzz-'));
  let operationCount = 0;

  // The collections and properties the config file (test/python/api-fuzz.toml) steers cases to.
  const seed = {
    purchases: Array.from({ length: 6 }, (_, i) => ({
      item: i % 2 ? 'gadget' : 'widget',
      price: i + 0.5,
      user: { id: `u${i % 3}` },
      keen: { timestamp: new Date(Date.now() - i * 3600_000).toISOString() },
    })),
    clicks: Array.from({ length: 4 }, (_, i) => ({ page: `/p${i}`, user: { id: `u${i % 2}` } })),
  };

  /** Re-seeded before each run: the master key's run deletes events and properties. */
  async function reseed(): Promise<void> {
    const res = await http('POST', `${server.url}/3.0/projects/default/events`, {
      key: server.keys!.write_key,
      body: seed,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      purchases: seed.purchases.map(() => ({ success: true })),
      clicks: seed.clicks.map(() => ({ success: true })),
    });
  }

  beforeAll(async () => {
    ensureSchemathesis();
    await server.start();
    const doc = await http('GET', `${server.url}/openapi.json`);
    expect(doc.status).toBe(200);
    operationCount = Object.values(doc.body.paths as Record<string, object>).reduce(
      (n, ops) => n + Object.keys(ops).length,
      0,
    );
  }, 300_000);

  /** A server killed by a signal has a null exitCode: stop() would wait for an exit that already happened. */
  function serverAlive(): boolean {
    return !!server.process && server.process.exitCode === null && server.process.signalCode === null;
  }

  function serverDeath(): string {
    const child = server.process!;
    return `exit code ${child.exitCode}, signal ${child.signalCode}; last output:\n${server.output.slice(-3000)}`;
  }

  afterAll(async () => {
    if (serverAlive()) await server.stop();
    server.remove();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  // The destructive kind (master: deletes) runs last; each run gets fresh seed events.
  const kinds: Array<{ kind: string; key: () => string | undefined }> = [
    { kind: 'no key', key: () => undefined },
    { kind: 'write key', key: () => server.keys!.write_key },
    { kind: 'read key', key: () => server.keys!.read_key },
    { kind: 'master key', key: () => server.keys!.master_key },
  ];

  it.each(kinds)(
    'with the $kind: every operation is tested, no 5xx, every response as documented',
    async ({ kind, key }) => {
      await reseed();
      const dir = fs.mkdtempSync(path.join(workDir, `${kind.replace(/ /g, '-')}-`));
      const run = await runSchemathesis(server.url, key(), dir);
      process.stdout.write(
        `api-fuzz ${kind}: ${run.operations} operations, ${run.cases} cases, ` +
          `${run.findings.length} failing operations, exit ${run.exitCode}\n`,
      );
      // A request that kills or wedges the process is the worst finding: show what the server said last.
      expect({ kind, serverAlive: serverAlive(), serverOutput: serverAlive() ? '' : serverDeath() }).toEqual({
        kind,
        serverAlive: true,
        serverOutput: '',
      });
      const serverErrors = run.findings.filter((f) => f.codes.includes('ST101'));
      expect({ kind, serverErrors: serverErrors.length, report: describeFindings(serverErrors) }).toEqual({
        kind,
        serverErrors: 0,
        report: '',
      });
      expect({ kind, nonConforming: run.findings.length, report: describeFindings(run.findings) }).toEqual({
        kind,
        nonConforming: 0,
        report: '',
      });
      expect({ kind, errors: run.errors.length, report: describeFindings(run.errors) }).toEqual({
        kind,
        errors: 0,
        report: '',
      });
      // The run reached every documented operation and generated a real number of cases.
      expect(run.operations).toBe(operationCount);
      expect(run.cases).toBeGreaterThanOrEqual(operationCount * 10);
      expect(run.exitCode).toBe(0);
    },
    600_000,
  );
});
