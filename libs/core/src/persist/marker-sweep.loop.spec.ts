import { register } from 'prom-client';
import { CounterLedger } from '@app/storage';
import { Log } from '../log.port';
import { MarkerSweepLoop } from './marker-sweep.loop';
import { MarkerSweeper, SweepOutcome } from './marker-sweeper';

async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) return NaN;
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return found?.value ?? 0;
}

/** A sweeper answering the given outcomes in turn (an Error is thrown), counting its runs. */
function scripted(outcomes: Array<SweepOutcome | Error>) {
  let runs = 0;
  let release: () => void = () => undefined;
  const gate = { wait: Promise.resolve() };
  const sweeper = {
    sweep: async () => {
      runs++;
      await gate.wait;
      const next = outcomes.shift()!;
      if (next instanceof Error) throw next;
      return next;
    },
  } as unknown as MarkerSweeper;
  return {
    sweeper,
    runs: () => runs,
    hold: () => {
      gate.wait = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

describe('MarkerSweepLoop', () => {
  const ledger = { countPending: () => Promise.resolve(3) } as unknown as CounterLedger;

  it('runs one sweep at a time and reports swept markers and the pending gauge', async () => {
    const s = scripted([{ settled: 2, dropped: 1, examined: 4 }]);
    const loop = new MarkerSweepLoop(s.sweeper, ledger, 0);
    loop.start();
    const settledBefore = await metricValue('tally_worker_markers_swept_total', {
      outcome: 'settled',
    });
    const droppedBefore = await metricValue('tally_worker_markers_swept_total', {
      outcome: 'dropped',
    });
    s.hold();
    const first = loop.tick();
    const second = loop.tick();
    s.release();
    expect(await first).toEqual({ settled: 2, dropped: 1, examined: 4 });
    expect(await second).toEqual({ settled: 2, dropped: 1, examined: 4 });
    expect(s.runs()).toBe(1);
    expect(
      (await metricValue('tally_worker_markers_swept_total', { outcome: 'settled' })) -
        settledBefore,
    ).toBe(2);
    expect(
      (await metricValue('tally_worker_markers_swept_total', { outcome: 'dropped' })) -
        droppedBefore,
    ).toBe(1);
    expect(await metricValue('tally_worker_markers_pending')).toBe(3);
    await loop.stop();
  });

  it('logs a failed sweep and sweeps again at the next tick', async () => {
    const warnings: unknown[][] = [];
    const log: Log = {
      log: () => undefined,
      warn: (...args) => warnings.push(args),
      error: () => undefined,
    };
    const s = scripted([new Error('store away'), { settled: 0, dropped: 0, examined: 0 }]);
    const loop = new MarkerSweepLoop(s.sweeper, ledger, 0, log);
    expect(await loop.tick()).toBeUndefined();
    expect(warnings).toEqual([
      [{ error: 'store away' }, 'stale-marker sweep failed; retried at the next tick'],
    ]);
    expect(await loop.tick()).toEqual({ settled: 0, dropped: 0, examined: 0 });
    expect(s.runs()).toBe(2);
  });
});
