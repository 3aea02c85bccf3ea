import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureCommand } from '../apt-install';
import {
  assertPortFree,
  liveRecord,
  spawnRecorded,
  serviceHandle,
  stopRecorded,
  tcpProbe,
  waitReady,
} from '../process-control';
import { confDir, ensureDir, logDir, repoRoot } from '../stack-paths';
import { ServiceHandle, ServiceStartOptions } from '../service.types';

export interface NginxStartOptions extends ServiceStartOptions {
  ingestPorts: number[];
  queryPorts: number[];
}

export function install(): void {
  ensureCommand('nginx', 'nginx');
}

/** Where the edge journals write requests: one file a day, journal-YYYY-MM-DD.jsonl (nginx/tally.conf.template). */
export function journalDir(stateDir: string): string {
  return ensureDir(join(stateDir, 'journal'));
}

/** The journal's files, oldest day first (their names sort by date). */
export function journalFiles(stateDir: string): string[] {
  const dir = join(stateDir, 'journal');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^journal.*\.jsonl$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export function templatePath(): string {
  return join(repoRoot(), 'nginx', 'tally.conf.template');
}

/** Fills the ${TALLY_*} placeholders of nginx/tally.conf.template; refuses unknown ones. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const out = template.replace(/\$\{(TALLY_[A-Z_]+)\}/g, (m, key: string) => {
    if (!(key in values)) throw new Error(`nginx template: no value for ${m}`);
    return values[key];
  });
  return out;
}

function upstreamServers(ports: number[]): string {
  if (ports.length === 0) throw new Error('nginx: an upstream needs at least one port');
  // max_fails=0: never mark a process down. With two processes restarted one
  // after the other, marking would leave both out at once ("no live upstreams");
  // a refused connect on loopback costs microseconds, and the request goes on
  // to the next process.
  return ports.map((p) => `server 127.0.0.1:${p} max_fails=0;`).join(' ');
}

/**
 * The workers (nobody) open the journal's day file by its path: every
 * directory above it must let others pass (x), or each write request logs
 * "Permission denied" and is not journaled. Refused at start, loudly, rather
 * than found missing when a replay needs it.
 */
function assertWorkersReach(dir: string): void {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0)
      throw new Error(
        `nginx: its workers (user nobody) cannot reach the journal in ${dir}: ${d} is not searchable by others ` +
          `(chmod o+x ${d}, or put the stack's state directory elsewhere)`,
      );
  }
}

/** Renders `<stateDir>/conf/<name>/nginx.conf` (process-level) and `tally.conf` (the template). */
export function renderConfig(opts: NginxStartOptions): { prefix: string; conf: string } {
  const prefix = confDir(opts.stateDir, opts.name);
  const tmp = ensureDir(join(opts.stateDir, 'tmp', opts.name));
  const logs = logDir(opts.stateDir);
  const tally = renderTemplate(readFileSync(templatePath(), 'utf8'), {
    TALLY_LISTEN: `127.0.0.1:${opts.port}`,
    TALLY_INGEST_SERVERS: upstreamServers(opts.ingestPorts),
    TALLY_QUERY_SERVERS: upstreamServers(opts.queryPorts),
    TALLY_JOURNAL_DIR: journalDir(opts.stateDir),
    TALLY_ACCESS_LOG: join(logs, `${opts.name}-access.log`),
  });
  writeFileSync(join(prefix, 'tally.conf'), tally);

  const isRoot = process.getuid?.() === 0;
  const temps = ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => ensureDir(join(tmp, t)));
  if (isRoot) {
    // Workers drop to nobody; they buffer large bodies and responses in these dirs.
    // The journal's day files are opened by the workers too (a log path with a variable).
    for (const d of [tmp, ...temps, journalDir(opts.stateDir)]) chownSync(d, 65534, 65534);
    assertWorkersReach(journalDir(opts.stateDir));
  }
  const main = [
    '# Rendered by tools/stack/services/nginx.service.ts; edit nginx/tally.conf.template instead.',
    'daemon off;',
    'worker_processes 2;',
    isRoot ? 'user nobody nogroup;' : '',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(logs, `${opts.name}-error.log`)} notice;`,
    'events { worker_connections 1024; }',
    'http {',
    '    default_type application/octet-stream;',
    `    client_body_temp_path ${temps[0]};`,
    `    proxy_temp_path ${temps[1]};`,
    `    fastcgi_temp_path ${temps[2]};`,
    `    uwsgi_temp_path ${temps[3]};`,
    `    scgi_temp_path ${temps[4]};`,
    `    include ${join(prefix, 'tally.conf')};`,
    '}',
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, main + '\n');
  return { prefix, conf };
}

function testConfig(opts: ServiceStartOptions, prefix: string, conf: string): void {
  try {
    execFileSync('nginx', ['-t', '-q', '-e', startupLog(opts), '-p', prefix, '-c', conf], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new Error(`nginx: invalid configuration ${conf}:\n${err.stderr?.toString() ?? e}`);
  }
}

/**
 * A running nginx whose rendered config differs from the template's current rendering
 * (template edited, other upstream ports) is reloaded gracefully (SIGHUP: new workers,
 * old ones finish their requests); an invalid new config is refused before that.
 */
async function reloadIfChanged(opts: NginxStartOptions, pid: number): Promise<void> {
  const prefix = confDir(opts.stateDir, opts.name);
  const files = ['nginx.conf', 'tally.conf'].map((f) => join(prefix, f));
  const before = files.map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : ''));
  const { conf } = renderConfig(opts);
  const after = files.map((f) => readFileSync(f, 'utf8'));
  if (before.every((b, i) => b === after[i])) return;
  try {
    testConfig(opts, prefix, conf);
  } catch (e) {
    files.forEach((f, i) => writeFileSync(f, before[i]));
    throw e;
  }
  process.kill(pid, 'SIGHUP');
}

/** Where nginx logs before it has read the config (else /var/log/nginx, root-only). */
function startupLog(opts: ServiceStartOptions): string {
  return join(logDir(opts.stateDir), `${opts.name}-error.log`);
}

export async function start(opts: NginxStartOptions): Promise<ServiceHandle> {
  const running = liveRecord(opts.stateDir, opts.name);
  if (running) {
    await reloadIfChanged(opts, running.pid);
    return serviceHandle(opts, running.pid);
  }
  install();
  await assertPortFree(opts.name, opts.port);
  const { prefix, conf } = renderConfig(opts);
  testConfig(opts, prefix, conf);
  const rec = spawnRecorded({
    name: opts.name,
    kind: 'nginx',
    port: opts.port,
    stateDir: opts.stateDir,
    command: 'nginx',
    args: ['-e', startupLog(opts), '-p', prefix, '-c', conf],
    probe: 'tcp',
    // SIGQUIT: graceful (finish in-flight requests); SIGTERM would cut them.
    stopSignal: 'SIGQUIT',
    stopTimeoutMs: 15_000,
  });
  await waitReady(rec, () => tcpProbe(opts.port, 500), opts.readyTimeoutMs ?? 10_000);
  return serviceHandle(opts, rec.pid);
}

export function stop(stateDir: string, name: string): Promise<boolean> {
  return stopRecorded(stateDir, name);
}
