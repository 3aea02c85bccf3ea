import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './free-port';

export interface ProjectKeys {
  id: string;
  write_key: string;
  read_key: string;
  master_key: string;
}

const ROOT = path.resolve(__dirname, '../..');
export const STANDALONE_MAIN = path.join(ROOT, 'dist/apps/standalone/src/main.js');
export const CLI_MAIN = path.join(ROOT, 'dist/apps/cli/src/main.js');

/**
 * Every e2e suite's server output passes this check when the server stops:
 * apart from the one-time banner that hands the operator the default
 * project's keys, no line may hold a key (64 hex digits) or an api_key value.
 */
export function assertNoKeysLogged(output: string): void {
  const withoutBanner = output.replace(/Created project "default"[^\n]*\n\{[\s\S]*?\n\}\n/, '');
  const leaks = withoutBanner
    .split('\n')
    .filter((line) => /\b[0-9a-f]{64}\b/i.test(line) || /api_key=(?!\[redacted\])[^&\s"]/i.test(line));
  if (leaks.length > 0) {
    throw new Error(`the server logged ${leaks.length} line(s) holding a key, e.g.:\n${leaks[0].slice(0, 500)}`);
  }
}

/**
 * The real standalone server as a child process (built by `npm test` before
 * jest runs), on a free port with its own data dir.
 */
export class StandaloneServer {
  process: ChildProcess | null = null;
  port = 0;
  keys: ProjectKeys | null = null;
  output = '';

  constructor(
    readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-e2e-')),
    private readonly env: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (!fs.existsSync(STANDALONE_MAIN)) throw new Error(`${STANDALONE_MAIN} is missing: run npm run build`);
    this.port = this.port || (await freePort());
    this.output = '';
    const child = spawn(process.execPath, [STANDALONE_MAIN], {
      env: { ...process.env, PORT: String(this.port), DATA_DIR: this.dataDir, LOG_LEVEL: 'warn', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${this.output}`)), 30_000);
      const check = () => {
        const keys = /Created project "default"[^\n]*\n(\{[\s\S]*?\n\})/.exec(this.output);
        if (keys) this.keys = JSON.parse(keys[1]) as ProjectKeys;
        if (this.output.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${this.output}`));
      });
    });
    return this;
  }

  /** SIGKILL: no drain, no flush; what was acknowledged must already be on disk. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process;
    if (!child) return;
    // Unless it exited on its own, or was already killed by a signal (exitCode stays null then).
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    }
    this.process = null;
    assertNoKeysLogged(this.output);
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
  }

  remove(): void {
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
