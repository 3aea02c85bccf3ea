/**
 * Write markers name one delivery attempt of the exact-counter protocol
 * (docs/queue.md). Each starts with the time its attempt began, in base 36 at
 * a fixed width, so markers compare as strings in the order of those times:
 * on MongoDB events keep their marker, and the compiled queries tell events
 * whose counters may not be applied yet by comparing it with a cutoff
 * (mongo-guards.ts). Nothing else reads the time back.
 */
const TIME_WIDTH = 9; // 36^9 ms: past the year 5000

/** A new marker for an attempt begun at `atMs`. */
export function writeMarker(atMs: number, processId: string, sequence: number): string {
  return `${markerTime(atMs)}.${processId}.${sequence}`;
}

/**
 * The cutoff for `atMs`: a marker of an attempt begun at or after `atMs`
 * compares at or above it, one begun before compares below it.
 */
export function markerTime(atMs: number): string {
  return Math.max(0, Math.floor(atMs)).toString(36).padStart(TIME_WIDTH, '0');
}
