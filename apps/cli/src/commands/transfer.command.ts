import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { exportEvents, importEvents, persisterFor } from '@app/core';
import { assertCollectionName } from '@app/events';
import { parseEventSelection } from '@app/query-engine';
import { cliConfig, print, requireProject, withStores } from '../cli-stores';
import { transferBar } from '../progress';

/** Lines are written in chunks of about this many characters (one write per chunk, not per event). */
const CHUNK_CHARS = 64 * 1024;

/** Writes, waiting for 'drain' when the destination is slower than the store. */
async function write(out: Writable, text: string): Promise<void> {
  if (out.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      out.off('drain', done);
      out.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    out.once('drain', done);
    out.once('error', done);
  });
}

async function close(out: Writable): Promise<void> {
  if (out === process.stdout) return;
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** Opens a file that must not exist yet (an export never overwrites). */
function openNew(file: string): number {
  try {
    return fs.openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(`${file} exists already; export to a new file`);
    throw error;
  }
}

/** `tally export` and `tally import`: NDJSON out of and into a collection. */
export function registerTransferCommands(program: Command): void {
  program
    .command('export <project> <collection>')
    .description(
      'Write the events of a collection as NDJSON (stored bodies with keen.id, keen.timestamp, keen.created_at) to stdout or --output',
    )
    .option('--filters <json>', 'Keen filters, as JSON')
    .option('--timeframe <timeframe>', 'relative (this_7_days) or absolute JSON {"start","end"}')
    .option('--timezone <tz>', 'IANA name or offset in seconds', 'UTC')
    .option('-o, --output <file>', 'write the events to this file instead of stdout')
    .option('--json', 'print the summary {"exported","scanned"} as JSON')
    .action(
      async (
        project: string,
        collection: string,
        opts: {
          filters?: string;
          timeframe?: string;
          timezone: string;
          output?: string;
          json?: boolean;
        },
      ) => {
        assertCollectionName(collection);
        const selection = parseEventSelection({
          filters: opts.filters,
          timeframe: opts.timeframe,
          timezone: opts.timezone,
        });
        const summary = await withStores(async (s) => {
          await requireProject(s, project);
          const out: Writable = opts.output
            ? // Opened here, so a file that exists already is refused before anything is read.
              fs.createWriteStream('', { fd: openNew(opts.output) })
            : process.stdout;
          const bar = transferBar('exporting', 'events');
          const progress = { exported: 0, scanned: 0 };
          let chunk = '';
          try {
            for await (const body of exportEvents(s.events, project, collection, selection, {
              onProgress: (p) => {
                Object.assign(progress, p);
                bar.update(p.exported, p.exported, `${p.scanned} read`);
              },
            })) {
              chunk += `${JSON.stringify(body)}\n`;
              if (chunk.length >= CHUNK_CHARS) {
                await write(out, chunk);
                chunk = '';
              }
            }
            if (chunk) await write(out, chunk);
            await close(out);
          } finally {
            bar.stop();
          }
          return progress;
        });
        const text = () => `exported ${summary.exported} events (${summary.scanned} read)`;
        // The events own stdout unless they went to a file: the summary goes to stderr then.
        if (opts.output) print(summary, Boolean(opts.json), text);
        else process.stderr.write(opts.json ? `${JSON.stringify(summary)}\n` : `${text()}\n`);
      },
    );

  program
    .command('import <project> <collection> <file>')
    .description(
      'Store the events of an NDJSON file ("-": stdin) through the write path, keeping keen.id and keen.timestamp (a second import stores nothing twice)',
    )
    .option('--batch-size <n>', 'events per write', '500')
    .option('--json', 'print {"imported","duplicates","refused"} as JSON')
    .action(
      async (
        project: string,
        collection: string,
        file: string,
        opts: { batchSize: string; json?: boolean },
      ) => {
        assertCollectionName(collection);
        const batchSize = Number(opts.batchSize);
        if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
          throw new Error('--batch-size is a whole number from 1 to 10000');
        const fromStdin = file === '-';
        const size = fromStdin ? undefined : fs.statSync(file).size;
        const config = cliConfig();
        const outcome = await withStores(async (s) => {
          await requireProject(s, project);
          const input = fromStdin ? process.stdin : fs.createReadStream(file);
          const lines = readline.createInterface({ input, crlfDelay: Infinity });
          const bar = transferBar('importing', 'events', size);
          try {
            return await importEvents(persisterFor(s), project, collection, lines, {
              maxEventBytes: config.limits.maxEventBytes,
              batchSize,
              onRefused: (r) => process.stderr.write(`line ${r.line} refused: ${r.reason}\n`),
              onProgress: (p) =>
                bar.update(
                  fromStdin ? p.imported + p.duplicates : (input as fs.ReadStream).bytesRead,
                  p.imported + p.duplicates,
                  `${p.duplicates} duplicates, ${p.refused} refused`,
                ),
            });
          } finally {
            bar.stop();
            lines.close();
          }
        });
        print(
          outcome,
          Boolean(opts.json),
          () =>
            `imported ${outcome.imported} events, ${outcome.duplicates} duplicates skipped, ${outcome.refused} lines refused`,
        );
      },
    );
}
