import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Pacer } from '../analyses/accumulator';

/**
 * Query time allowed per turn of the event loop, shared by every query of the
 * process. The standalone server runs ingestion on the same loop: a 9 MB `in`
 * list once evaluated a 2,000-event page in one synchronous run and froze
 * every write for 12.4 s. Each query now works in slices and yields with
 * setImmediate; an immediate queued while the loop runs immediates waits for
 * the next turn, so every running query gets at most one slice per turn and
 * the turn's I/O (incoming writes) runs between them.
 */
export const TURN_BUDGET_MS = 4;
/** A slice never gets shorter than this, however many queries run. */
const MIN_SLICE_MS = 1;

/** Queries currently slicing in this process; each gets TURN_BUDGET_MS / active. */
let active = 0;

/** The number of queries currently holding a slice budget (for tests and metrics). */
export function activeSlicers(): number {
  return active;
}

/**
 * One query's clock: `due()` says when its slice is used up, `pause()`
 * yields the rest of the turn to the loop and then runs `check` (deadline,
 * cancellation). `close()` must be called once the query is over.
 */
export class TimeSlice implements Pacer {
  private sliceStart = performance.now();
  private closed = false;
  /** Times this query gave the loop back (execution metadata, tests). */
  pauses = 0;

  constructor(private readonly check: () => void = () => undefined) {
    active++;
  }

  /** The current slice's length: the turn budget split between running queries. */
  sliceMs(): number {
    return Math.max(MIN_SLICE_MS, TURN_BUDGET_MS / Math.max(1, active));
  }

  due(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs();
  }

  async pause(): Promise<void> {
    this.pauses++;
    await nextTurn();
    this.check();
    this.sliceStart = performance.now();
  }

  /** Pauses only when the slice is used up; cheap enough to call per chunk of work. */
  async breathe(): Promise<void> {
    if (this.due()) await this.pause();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    active--;
  }
}

/**
 * Walks `items` in chunks sized to the slice: a chunk that took more than a
 * quarter of the slice halves the next one, a quick one doubles it, so a page
 * of 1 MB events and a page of tiny ones both give the loop back on time.
 * `work(from, to)` handles items[from, to) and returns false to stop early.
 */
export async function inSlices(
  slice: TimeSlice,
  length: number,
  work: (from: number, to: number) => boolean | void,
): Promise<boolean> {
  let chunk = 16;
  for (let from = 0; from < length;) {
    const to = Math.min(length, from + chunk);
    const t0 = performance.now();
    if (work(from, to) === false) return false;
    const took = performance.now() - t0;
    const sliceMs = slice.sliceMs();
    if (took > sliceMs / 4) chunk = Math.max(1, chunk >> 1);
    else if (took < sliceMs / 16) chunk = Math.min(4096, chunk << 1);
    from = to;
    await slice.breathe();
  }
  return true;
}
