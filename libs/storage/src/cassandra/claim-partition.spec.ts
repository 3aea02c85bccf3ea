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
  it('puts a write of keen.ids from one minute into its 4 slots, spread evenly', () => {
    const ids = keenIds(1000, 60_000);
    const parts = new Map<string, number>();
    for (const id of ids) parts.set(claimPartition(id), (parts.get(claimPartition(id)) ?? 0) + 1);
    // The minute may straddle two 1,024 s windows; here it does not.
    expect(parts.size).toBe(4);
    for (const n of parts.values()) expect(n).toBeGreaterThan(200);
  });

  it('is the id second over 1,024 in hex, then its last digit modulo 4', () => {
    const [id] = keenIds(1, 0);
    const window = Math.floor(parseInt(id.slice(0, 8), 16) / 1024).toString(16);
    expect(claimPartition(id)).toBe(`${window}.${parseInt(id[23], 16) % 4}`);
    expect(claimPartition('0123456789abcdef0123456f')).toBe(
      `${(0x01234567 >>> 10).toString(16)}.3`,
    );
    expect(claimPartition('ffffffff89abcdef01234564')).toBe('3fffff.0');
  });

  it('gives ids of other windows other partitions', () => {
    const day = new Set(keenIds(2000, 86_400_000).map((id) => claimPartition(id).split('.')[0]));
    // 86,400 s over 1,024 s windows: 85 or 86 of them.
    expect(day.size).toBeGreaterThanOrEqual(85);
    expect(day.size).toBeLessThanOrEqual(86);
  });

  it('hashes any other id into a partition of its own, the same every time', () => {
    for (const id of ['e1', 'd00-00001', '0123456789ABCDEF01234567', '', 'x'.repeat(300)]) {
      expect(claimPartition(id)).toMatch(/^~[0-9a-f]{12}$/);
      expect(claimPartition(id)).toBe(claimPartition(id));
    }
    expect(claimPartition('e1')).not.toBe(claimPartition('e2'));
  });
});
