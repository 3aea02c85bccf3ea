import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { StandaloneServer } from '../support/standalone-server';
import { ensureKeenClient, keenPython } from '../support/python-keen';

const PYTHON = keenPython();

describe('Python keen client (PyPI keen 0.7.0)', () => {
  const server = new StandaloneServer();
  const events = Array.from({ length: 12 }, (_, i) => ({
    amount: i + 1,
    kind: i % 3 === 0 ? 'a' : 'b',
    user: `u${i % 4}`,
    keen: { timestamp: new Date(Date.UTC(2024, 5, 1) + i * 4 * 3600_000).toISOString() },
  }));

  beforeAll(async () => {
    ensureKeenClient();
    await server.start();
  }, 180_000);

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('writes and gets Keen-shaped answers for every query it sends', () => {
    const stdout = execFileSync(PYTHON, [path.join(__dirname, '../python/keen_client_check.py')], {
      env: {
        ...process.env,
        TALLY_URL: server.url,
        TALLY_PROJECT: 'default',
        TALLY_WRITE_KEY: server.keys!.write_key,
        TALLY_READ_KEY: server.keys!.read_key,
        TALLY_MASTER_KEY: server.keys!.master_key,
        TALLY_EVENTS: JSON.stringify(events),
      },
    }).toString();
    const out = JSON.parse(stdout);
    const amounts = events.map((e) => e.amount);
    const sum = amounts.reduce((a, b) => a + b, 0);
    const kindA = events.filter((e) => e.kind === 'a');
    expect(out.count).toBe(12);
    expect(out.count_filtered).toBe(kindA.length);
    expect(out.sum).toBe(sum);
    expect(out.average).toBeCloseTo(sum / 12, 10);
    expect(out.minimum).toBe(1);
    expect(out.maximum).toBe(12);
    expect(out.median).toBe(6.5);
    expect(out.percentile).toBe(6.5);
    expect(out.count_unique).toBe(2);
    expect(out.select_unique).toEqual(['a', 'b']);
    expect([...out.group_by].sort((x: any, y: any) => x.kind.localeCompare(y.kind))).toEqual([
      { kind: 'a', result: kindA.length },
      { kind: 'b', result: 12 - kindA.length },
    ]);
    expect(out.interval).toEqual([
      {
        timeframe: { start: '2024-06-01T00:00:00.000Z', end: '2024-06-02T00:00:00.000Z' },
        value: 6,
      },
      {
        timeframe: { start: '2024-06-02T00:00:00.000Z', end: '2024-06-03T00:00:00.000Z' },
        value: 6,
      },
    ]);
    expect(out.relative).toBe(12);
    expect(out.multi).toEqual({ total: sum, n: 12 });
    const usersA = new Set(kindA.map((e) => e.user));
    const usersAB = new Set(
      events.filter((e) => e.kind === 'b' && usersA.has(e.user)).map((e) => e.user),
    );
    expect(out.funnel).toEqual([usersA.size, usersAB.size]);
    expect(out.extraction).toEqual(amounts.map((amount) => ({ amount })));
    expect(out.collection.properties).toMatchObject({
      amount: 'num',
      kind: 'string',
      user: 'string',
    });
  });
});
