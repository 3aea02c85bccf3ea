/**
 * The edge journal's files from the CLI: `tally journal status` lists the
 * day files nginx writes (journal-YYYY-MM-DD.jsonl) with their total size,
 * `tally journal prune` deletes those past the 7-day retention and nothing
 * else, and `tally replay` reads every day file of the directory, compressed
 * ones included. (nginx writing the day files, and holding no key in any
 * form, is tools/stack/services/services.int-spec.ts.)
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { SqliteContents } from '../support/sqlite-contents';
import { CLI_MAIN, StandaloneServer } from '../support/standalone-server';

jest.setTimeout(60_000);

const run = promisify(execFile);
const DAY = 86_400_000;

describe('standalone: journal status, prune and replay over day files', () => {
  const server = new StandaloneServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-journal-'));
  const now = Date.now();
  const localDay = (ms: number) => {
    const d = new Date(ms);
    return new Date(ms - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
  };
  let n = 0;
  /** One journal line of an acknowledged single write, `daysAgo` days back. */
  const line = (daysAgo: number) => {
    n++;
    return JSON.stringify({
      request_id: n.toString(16).padStart(32, '0'),
      msec: ((now - daysAgo * DAY) / 1000).toFixed(3),
      client_request_id: '',
      method: 'POST',
      uri: '/3.0/projects/default/events/clicks',
      args: '',
      status: '201',
      body: JSON.stringify({ n, days_ago: daysAgo }),
    });
  };

  beforeAll(async () => {
    await server.start();
    fs.writeFileSync(path.join(dir, `journal-${localDay(now - 9 * DAY)}.jsonl`), line(9) + '\n');
    fs.writeFileSync(
      path.join(dir, `journal-${localDay(now - 3 * DAY)}.jsonl.gz`),
      gzipSync(line(3) + '\n'),
    );
    fs.writeFileSync(
      path.join(dir, `journal-${localDay(now)}.jsonl`),
      [line(0), line(0)].join('\n') + '\n',
    );
  });
  afterAll(async () => {
    await server.stop();
    server.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [CLI_MAIN, ...args, '--json'], {
      env: {
        ...process.env,
        DATA_DIR: server.dataDir,
        TALLY_STACK_FILE: '/nonexistent/stack.json',
      },
    });
    return JSON.parse(stdout);
  };
  const window = [
    '--from',
    new Date(now - 30 * DAY).toISOString(),
    '--to',
    new Date(now + DAY).toISOString(),
  ];

  it('reports the size, prunes past 7 days, and replays every day file', async () => {
    const names = fs.readdirSync(dir).sort();
    const sizes = names.map((f) => fs.statSync(path.join(dir, f)).size);
    const status = await cli('journal', 'status', '--dir', dir);
    expect(status).toEqual({
      dir,
      files: names.map((name, i) => ({ name, bytes: sizes[i], day: name.slice(8, 18) })),
      totalBytes: sizes.reduce((a, b) => a + b, 0),
      expired: [names[0]],
    });

    // Replay reads the plain and the compressed day files.
    expect(await cli('replay', ...window, '--journal', dir, '--dry-run')).toMatchObject({
      requests: 4,
      inserted: 4,
    });

    expect(await cli('journal', 'prune', '--dir', dir, '--dry-run')).toMatchObject({
      deleted: [names[0]],
      dryRun: true,
    });
    expect(fs.readdirSync(dir).sort()).toEqual(names);
    expect(await cli('journal', 'prune', '--dir', dir)).toEqual({
      deleted: [names[0]],
      freedBytes: sizes[0],
      keptFiles: 2,
      keptBytes: sizes[1] + sizes[2],
      dryRun: false,
    });
    expect(fs.readdirSync(dir).sort()).toEqual(names.slice(1));

    const replayed = await cli('replay', ...window, '--journal', dir);
    expect(replayed).toMatchObject({ requests: 3, inserted: 3, duplicates: 0 });
    const contents = new SqliteContents(server.dataDir);
    expect(
      contents
        .events('default', 'clicks')
        .map((e) => e.event.n)
        .sort(),
    ).toEqual([2, 3, 4]);
    contents.close();
    expect(await cli('replay', ...window, '--journal', dir)).toMatchObject({
      requests: 3,
      inserted: 0,
      duplicates: 3,
    });
  });
});
