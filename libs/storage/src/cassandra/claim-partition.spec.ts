import { deriveEventId } from '@app/events';
import { claimPartition } from './claim-partition';

const T = Date.UTC(2026, 11, 1, 12, 0, 0);

function keenIds(n: number, spanMs: number): string[] {
  return Array.from({ length: n }, (_, index) =>
    deriveEventId('secret', {
      projectId: 'p',
      collection: 'c',
      requestId: 'r',
      index,
      content: `{"i":${index}}`,
      timestamp: T + Math.floor((index / n) * spanMs),
    }),
  );
}

describe('claimPartition', () => {
  it('puts a write of keen.ids from one minute into at most 16 partitions, spread over all of them', () => {
    const ids = keenIds(1000, 60_000);
    const parts = new Map<string, number>();
    for (const id of ids) parts.set(claimPartition(id), (parts.get(claimPartition(id)) ?? 0) + 1);
    // The minute may straddle two 4,096 s windows; here it does not.
    expect(parts.size).toBe(16);
    for (const n of parts.values()) expect(n).toBeGreaterThan(30);
  });

  it('is the id window (5 hex digits of the second) and its last digit', () => {
    const [id] = keenIds(1, 0);
    expect(claimPartition(id)).toBe(id.slice(0, 5) + id.slice(23));
    expect(claimPartition('0123456789abcdef01234567')).toBe('012347');
  });

  it('gives ids of other windows other partitions', () => {
    const day = new Set(keenIds(500, 86_400_000).map((id) => claimPartition(id).slice(0, 5)));
    // 86,400 s over 4,096 s windows: 22 windows (21.1, straddling).
    expect(day.size).toBeGreaterThanOrEqual(21);
    expect(day.size).toBeLessThanOrEqual(22);
  });

  it('hashes any other id into a partition of its own, the same every time', () => {
    for (const id of ['e1', 'd00-00001', '0123456789ABCDEF01234567', '', 'x'.repeat(300)]) {
      expect(claimPartition(id)).toMatch(/^~[0-9a-f]{12}$/);
      expect(claimPartition(id)).toBe(claimPartition(id));
    }
    expect(claimPartition('e1')).not.toBe(claimPartition('e2'));
  });
});
