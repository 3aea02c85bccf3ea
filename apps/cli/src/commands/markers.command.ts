import { Command } from 'commander';
import { MarkerSweeper } from '@app/core';
import { Stores } from '@app/storage';
import { cliConfig, print, withStores } from '../cli-stores';

/** Write markers exist only where writes are not transactional (STORE=mongo or cassandra). */
function sweeperOf(stores: Stores, olderThanMs: number): MarkerSweeper {
  if (stores.writes.kind !== 'marked') {
    throw new Error(
      'write markers exist only in the split deployment (STORE=mongo or cassandra); SQLite counts each write in its transaction',
    );
  }
  return new MarkerSweeper({
    writer: stores.writes.writer,
    ledger: stores.writes.ledger,
    olderThanMs,
    maxProperties: stores.maxProperties,
  });
}

function olderThan(raw: string | undefined): number {
  if (raw === undefined) return cliConfig().queue.markerSweepAfterMs;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0)
    throw new Error(`--older-than must be milliseconds >= 0, got "${raw}"`);
  return ms;
}

function limitOf(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new Error(`--limit must be an integer from 1 to 100000, got "${raw}"`);
  return n;
}

/**
 * `tally markers list|sweep`: the write markers whose schema counters are still
 * pending (docs/queue.md), and the stale-marker sweep the worker runs, on demand.
 * --older-than 0 includes markers of deliveries that may still be running: for
 * list that is a view; for sweep only use it with the workers stopped.
 */
export function registerMarkerCommands(program: Command): void {
  const markers = program
    .command('markers')
    .description('Write markers whose schema counters are pending (split deployment)');

  markers
    .command('list')
    .description('List pending markers registered longer ago than --older-than, oldest first')
    .option('--older-than <ms>', 'age in milliseconds (default: MARKER_SWEEP_AFTER_MS)')
    .option('--limit <n>', 'at most this many entries', '1000')
    .option('--json', 'print the entries as JSON')
    .action(async (opts: { olderThan?: string; limit: string; json?: boolean }) => {
      const ms = olderThan(opts.olderThan);
      const limit = limitOf(opts.limit);
      const out = await withStores(async (s) => {
        const entries = await sweeperOf(s, ms).stale(limit);
        return {
          pending: await (s.writes.kind === 'marked' ? s.writes.ledger.countPending() : 0),
          stale: entries.map((e) => ({
            project: e.projectId,
            collection: e.collection,
            marker: e.marker,
            registeredAt: e.at.toISOString(),
          })),
        };
      });
      print(out, Boolean(opts.json), () =>
        [
          `${out.pending} pending in all; ${out.stale.length} older than ${ms} ms`,
          ...out.stale.map((e) => `${e.registeredAt}  ${e.project}  ${e.collection}  ${e.marker}`),
        ].join('\n'),
      );
    });

  markers
    .command('sweep')
    .description('Settle markers older than --older-than from their stored events, or drop them')
    .option('--older-than <ms>', 'age in milliseconds (default: MARKER_SWEEP_AFTER_MS)')
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: { olderThan?: string; json?: boolean }) => {
      const ms = olderThan(opts.olderThan);
      // Every stale marker, in batches (the worker's loop takes one batch a tick).
      const outcome = await withStores((s) => sweeperOf(s, ms).sweepAll());
      print(
        outcome,
        Boolean(opts.json),
        () =>
          `${outcome.settled} markers settled, ${outcome.dropped} dropped (${outcome.examined} stale entries)`,
      );
    });
}
