import * as fs from 'node:fs';
import * as path from 'node:path';
import { TallyConfig } from '@app/config';
import { parseJsonText } from '@app/events';

/** Which installation a command acts on, and why. */
export interface CliInstallation {
  /** The environment the configuration is loaded from. */
  env: Record<string, string | undefined>;
  /** `stack`: the running local stack's recorded settings; `environment`: the caller's (data dir by default). */
  source: 'stack' | 'environment';
  /** The stack's state dir, when one is followed. */
  stackDir?: string;
  /** Said on stderr even with --json: a recorded stack exists but is not followed. */
  notice?: string;
}

/** What `.stack/stack.json` holds that the CLI reads (tools/stack/stack-config.ts writes it). */
interface StackFile {
  stateDir?: string;
  env?: Record<string, string>;
  services?: { name: string; kind: string }[];
}

/** What `.stack/run/<name>.json` holds that the check needs (tools/stack/service.types.ts). */
interface ProcessRecord {
  pid: number;
  startTime: string;
}

/**
 * Is the recorded process still the one the stack started? The same test as
 * `npm run stack -- status` (tools/stack/process-control.ts isOurs): the pid
 * is alive and /proc/<pid>/stat's start time (field 22) equals the recorded
 * one, so a reused pid does not count. Two small file reads, no connection.
 */
export function recordedProcessAlive(record: ProcessRecord): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${record.pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return false;
    return rest[19] === record.startTime;
  } catch {
    return false;
  }
}

function readJson<T>(file: string): T | null {
  try {
    return parseJsonText(fs.readFileSync(file, 'utf8'), file) as T;
  } catch {
    return null;
  }
}

/**
 * Which installation the CLI acts on:
 * - `TALLY_STACK_FILE` names a stack: it is followed while it is up (variables
 *   set in the environment still override single recorded values).
 * - Otherwise an explicit `DATA_DIR` or `STORE` wins: the environment alone
 *   decides (by default the SQLite data dir).
 * - Otherwise `.stack/stack.json` (written by `npm run stack -- up`) is
 *   followed while that stack is up.
 * "Up" means the stack's store servers (the Mongo-wire server; Cassandra on a
 * Cassandra stack) are the processes it recorded, alive. After
 * `npm run stack -- down` the file stays but names dead processes: the CLI
 * says so and uses the data dir instead.
 */
export function resolveInstallation(
  env: NodeJS.ProcessEnv = process.env,
  alive: (record: ProcessRecord) => boolean = recordedProcessAlive,
): CliInstallation {
  const explicitStack = Boolean(env.TALLY_STACK_FILE);
  if (!explicitStack && (env.DATA_DIR || env.STORE)) return { env, source: 'environment' };
  const file = path.resolve(env.TALLY_STACK_FILE || '.stack/stack.json');
  if (!fs.existsSync(file)) return { env, source: 'environment' };
  const recorded = readJson<StackFile>(file);
  if (!recorded?.env) {
    return {
      env,
      source: 'environment',
      notice: `cannot read the stack file ${file}; ignoring it`,
    };
  }
  const stateDir = recorded.stateDir ?? path.dirname(file);
  const stores = (recorded.services ?? []).filter(
    (s) => s.kind === 'mongo' || s.kind === 'cassandra',
  );
  const down = stores
    .filter((s) => {
      const record = readJson<ProcessRecord>(path.join(stateDir, 'run', `${s.name}.json`));
      return !record || !alive(record);
    })
    .map((s) => s.name);
  if (stores.length === 0 || down.length > 0) {
    const what = stores.length === 0 ? 'no store server' : `${down.join(', ')} not running`;
    return {
      env,
      source: 'environment',
      notice: `the stack recorded in ${file} is not up (${what}); using ${env.STORE && env.STORE !== 'sqlite' ? `STORE=${env.STORE} from the environment` : 'the data dir'}`,
    };
  }
  return { env: { ...recorded.env, ...env }, source: 'stack', stackDir: stateDir };
}

/** A connection URL without user, password or options (which may carry secrets). */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/?#]*@)?([^/?#]*)([^?#]*)/i.exec(url);
  if (!m) return '(unparsed URL)';
  const credentials = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url) ? '…@' : '';
  return `${m[1]}${credentials}${m[2]}${m[3]}`;
}

/** One line for people: the data dir, or the stack and where its stores are (no password, no key). */
export function describeInstallation(installation: CliInstallation, config: TallyConfig): string {
  const s = config.storage;
  const where =
    s.kind === 'sqlite'
      ? `the data dir ${s.dataDir} (SQLite)`
      : s.kind === 'mongo'
        ? `STORE=mongo at ${redactUrl(s.mongoUrl)} (database ${s.mongoDatabase})`
        : `STORE=cassandra at ${s.cassandraContactPoints.join(',')} (keyspace ${s.cassandraKeyspace}), metadata at ${redactUrl(s.mongoUrl)}`;
  return installation.source === 'stack'
    ? `acting on the running stack in ${installation.stackDir}: ${where}`
    : `acting on ${where}`;
}
