import { JsonObject, StoredEvent } from '@app/events';
import { performance } from 'node:perf_hooks';
import { parseQuery } from '../parse/parse-query';
import { InMemoryEventSource } from '../testing/in-memory-event-source';
import { executeQuery, streamExtraction } from './execute-query';
import { activeSlicers, TURN_BUDGET_MS } from './time-slice';

const T0 = Date.UTC(2024, 0, 1);

/** Property reads that cost `costMs` each: a stand-in for a costly filter or a large body. */
const reads = { n: 0 };
function costly(i: number, costMs: number): StoredEvent {
  const event: JsonObject = { keen: { id: `e${i}`, timestamp: new Date(T0 + i).toISOString() } };
  Object.defineProperty(event, 'n', {
    enumerable: true,
    get() {
      reads.n++;
      const until = performance.now() + costMs;
      while (performance.now() < until) {
        // spin
      }
      return i;
    },
  });
  return { id: `e${String(i).padStart(6, '0')}`, timestamp: T0 + i, event };
}

/** Counts setImmediate callbacks that get to run while `work` is in progress. */
async function turnsDuring<T>(work: Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { value: await work, turns };
  } finally {
    done = true;
  }
}

// One page of events whose evaluation takes about 6 turn budgets in all.
const EVENTS = 120;
const COST_MS = (TURN_BUDGET_MS * 6) / EVENTS;
const onePage = () =>
  new InMemoryEventSource({ pageSize: 10_000 }).add(
    'p',
    'c',
    Array.from({ length: EVENTS }, (_, i) => costly(i, COST_MS)),
  );
const inList = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? i : `x${i}`));

describe('time slices: no query holds the event loop', () => {
  beforeEach(() => (reads.n = 0));

  it('gives the loop turns inside a single page, and still counts every match', async () => {
    const query = parseQuery('count', {
      event_collection: 'c',
      filters: [{ property_name: 'n', operator: 'in', property_value: inList }],
    });
    const { value, turns } = await turnsDuring(executeQuery(query, onePage(), { projectId: 'p' }));
    expect(value).toEqual({ result: EVENTS / 2 });
    expect(reads.n).toBe(EVENTS);
    // The old engine evaluated the page in one synchronous run: no turn at all.
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(activeSlicers()).toBe(0);
  });

  it('slices median, funnels and extraction latest too', async () => {
    const source = onePage();
    const median = await turnsDuring(
      executeQuery(parseQuery('median', { event_collection: 'c', target_property: 'n' }), source, {
        projectId: 'p',
      }),
    );
    expect(median.value).toEqual({ result: (EVENTS - 1) / 2 });
    expect(median.turns).toBeGreaterThanOrEqual(3);

    const funnel = await turnsDuring(
      executeQuery(
        parseQuery('funnel', {
          steps: [
            { event_collection: 'c', actor_property: 'n' },
            {
              event_collection: 'c',
              actor_property: 'n',
              filters: [{ property_name: 'n', operator: 'lt', property_value: 10 }],
            },
          ],
        }),
        source,
        { projectId: 'p' },
      ),
    );
    expect((funnel.value as { result: number[] }).result).toEqual([EVENTS, 10]);
    expect(funnel.turns).toBeGreaterThanOrEqual(3);

    const latest = await turnsDuring(
      executeQuery(
        parseQuery('extraction', { event_collection: 'c', latest: 5, property_names: ['n'] }),
        source,
        { projectId: 'p' },
      ),
    );
    expect(latest.value.result).toEqual([115, 116, 117, 118, 119].map((n) => ({ n })));
    expect(activeSlicers()).toBe(0);
  });

  it('enforces the deadline inside a page, not only between pages', async () => {
    const query = parseQuery('count', {
      event_collection: 'c',
      filters: [{ property_name: 'n', operator: 'gte', property_value: 0 }],
    });
    await expect(
      executeQuery(query, onePage(), { projectId: 'p', deadlineMs: TURN_BUDGET_MS }),
    ).rejects.toMatchObject({ errorCode: 'QueryTimeoutError' });
    // It stopped part way through the only page.
    expect(reads.n).toBeLessThan(EVENTS);
    expect(activeSlicers()).toBe(0);
  });

  it('stops at the next pause when the signal aborts mid-page', async () => {
    const controller = new AbortController();
    const query = parseQuery('count', {
      event_collection: 'c',
      filters: [{ property_name: 'n', operator: 'exists', property_value: true }],
    });
    const running = executeQuery(query, onePage(), { projectId: 'p', signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(running).rejects.toMatchObject({ errorCode: 'QueryTimeoutError' });
    expect(reads.n).toBeLessThan(EVENTS);
  });

  it('streams in slices and releases its slice when the consumer stops early', async () => {
    const events: unknown[] = [];
    const stream = streamExtraction(
      parseQuery('extraction', { event_collection: 'c', property_names: ['n'] }),
      onePage(),
      {
        projectId: 'p',
      },
    );
    const { turns } = await turnsDuring(
      (async () => {
        for await (const page of stream) {
          events.push(...page.map((line) => JSON.parse(line)));
          if (events.length >= 100) break;
        }
      })(),
    );
    expect(events.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, n) => ({ n })));
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(activeSlicers()).toBe(0);
  });
});
