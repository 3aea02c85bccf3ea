import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordedProcessAlive, redactUrl, resolveInstallation } from './cli-environment';

/** Field 22 of /proc/<pid>/stat, as tools/stack records it at spawn. */
function startTimeOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

const STACK_ENV = {
  STORE: 'mongo',
  MONGO_URL: 'mongodb://127.0.0.1:27018/tally',
  MONGO_DATABASE: 'tally',
  ID_SECRET: 'x'.repeat(64),
};

describe('cli installation: which stores a command acts on', () => {
  let dir: string;
  let stackFile: string;

  /** A stack file as `npm run stack -- up` writes it, and the pid record of its Mongo-wire server. */
  function writeStack(mongo: { pid: number; startTime: string } | null, store = 'mongo'): void {
    const services = [
      { name: 'redis-1', kind: 'redis' },
      { name: 'mongo', kind: 'mongo' },
      ...(store === 'cassandra' ? [{ name: 'cassandra', kind: 'cassandra' }] : []),
      { name: 'ingest-1', kind: 'app' },
    ];
    fs.writeFileSync(
      stackFile,
      JSON.stringify({
        version: 1,
        stateDir: dir,
        store,
        env: { ...STACK_ENV, STORE: store },
        services,
      }),
    );
    fs.mkdirSync(path.join(dir, 'run'), { recursive: true });
    const record = path.join(dir, 'run', 'mongo.json');
    if (mongo) fs.writeFileSync(record, JSON.stringify({ name: 'mongo', ...mongo }));
    else fs.rmSync(record, { force: true });
  }

  const alive = () => ({ pid: process.pid, startTime: startTimeOf(process.pid) });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-cli-env-'));
    stackFile = path.join(dir, 'stack.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a recorded process as alive only with its recorded start time', () => {
    expect(recordedProcessAlive(alive())).toBe(true);
    // The same pid started at another time: a reused pid, not ours.
    expect(recordedProcessAlive({ pid: process.pid, startTime: '1' })).toBe(false);
    expect(recordedProcessAlive({ pid: 2 ** 22 + 1, startTime: '1' })).toBe(false);
  });

  it('follows a running stack, with variables of the environment overriding recorded ones', () => {
    writeStack(alive());
    const chosen = resolveInstallation({ TALLY_STACK_FILE: stackFile, LOG_LEVEL: 'warn' });
    expect(chosen).toEqual({
      source: 'stack',
      stackDir: dir,
      env: { ...STACK_ENV, TALLY_STACK_FILE: stackFile, LOG_LEVEL: 'warn' },
    });
    const overridden = resolveInstallation({
      TALLY_STACK_FILE: stackFile,
      MONGO_DATABASE: 'other',
    });
    expect(overridden.env.MONGO_DATABASE).toBe('other');
    expect(overridden.source).toBe('stack');
  });

  it('after `stack down` (no record) or with a dead or reused pid, says so and uses the data dir', () => {
    for (const mongo of [
      null,
      { pid: process.pid, startTime: '1' },
      { pid: 2 ** 22 + 1, startTime: '1' },
    ]) {
      writeStack(mongo);
      const env = { TALLY_STACK_FILE: stackFile };
      expect(resolveInstallation(env)).toEqual({
        env,
        source: 'environment',
        notice: `the stack recorded in ${stackFile} is not up (mongo not running); using the data dir`,
      });
    }
  });

  it('on a Cassandra stack needs Cassandra alive too', () => {
    writeStack(alive(), 'cassandra');
    const chosen = resolveInstallation({ TALLY_STACK_FILE: stackFile });
    expect(chosen.source).toBe('environment');
    expect(chosen.notice).toContain('(cassandra not running)');
    fs.writeFileSync(path.join(dir, 'run', 'cassandra.json'), JSON.stringify(alive()));
    expect(resolveInstallation({ TALLY_STACK_FILE: stackFile }).source).toBe('stack');
  });

  it('without TALLY_STACK_FILE, an explicit DATA_DIR or STORE wins over .stack/stack.json, even a running one', () => {
    const cwd = process.cwd();
    fs.mkdirSync(path.join(dir, '.stack'));
    stackFile = path.join(dir, '.stack', 'stack.json');
    writeStack(alive());
    process.chdir(dir);
    try {
      expect(resolveInstallation({}).source).toBe('stack');
      for (const env of [
        { DATA_DIR: '/tmp/x' },
        { STORE: 'sqlite' },
        { STORE: 'mongo', MONGO_URL: 'mongodb://h' },
      ]) {
        expect(resolveInstallation(env)).toEqual({ env, source: 'environment' });
      }
    } finally {
      process.chdir(cwd);
    }
  });

  it('uses the environment when no stack file exists or it cannot be read', () => {
    const env = { TALLY_STACK_FILE: path.join(dir, 'missing.json') };
    expect(resolveInstallation(env)).toEqual({ env, source: 'environment' });
    fs.writeFileSync(stackFile, '{not json');
    expect(resolveInstallation({ TALLY_STACK_FILE: stackFile })).toEqual({
      env: { TALLY_STACK_FILE: stackFile },
      source: 'environment',
      notice: `cannot read the stack file ${stackFile}; ignoring it`,
    });
  });

  it('describes a Mongo URL without its credentials or options', () => {
    expect(redactUrl('mongodb://127.0.0.1:27018/tally')).toBe('mongodb://127.0.0.1:27018/tally');
    expect(
      redactUrl('mongodb://admin:s3cret@db1:27017,db2:27017/tally?authSource=admin&tls=true'),
    ).toBe('mongodb://…@db1:27017,db2:27017/tally');
    expect(redactUrl('mongodb+srv://u:p@cluster.example.com')).toBe(
      'mongodb+srv://…@cluster.example.com',
    );
    expect(redactUrl('not a url with password')).toBe('(unparsed URL)');
  });
});
