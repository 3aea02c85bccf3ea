import { HeldEventsGate } from './held-events.gate';
import { eventsOf } from './gated.worker';

describe('HeldEventsGate', () => {
  it('closes when what is held reaches the budget and opens when it falls under it', () => {
    const changes: boolean[] = [];
    const gate = new HeldEventsGate(100, (open) => changes.push(open));
    const [a, b, c] = [{}, {}, {}];
    gate.hold(a, 60);
    expect([gate.open, gate.events, changes]).toEqual([true, 60, []]);
    gate.hold(b, 40);
    expect([gate.open, gate.events, changes]).toEqual([false, 100, [false]]);
    gate.hold(c, 500); // fetched before the close was seen: counted, no second change
    expect([gate.open, gate.events, changes]).toEqual([false, 600, [false]]);
    gate.free(c);
    expect([gate.open, gate.events, changes]).toEqual([false, 100, [false]]);
    gate.free(a);
    expect([gate.open, gate.events, changes]).toEqual([true, 40, [false, true]]);
  });

  it('takes a job larger than the whole budget alone, and counts each job once', () => {
    const changes: boolean[] = [];
    const gate = new HeldEventsGate(10, (open) => changes.push(open));
    const big = {};
    gate.hold(big, 5000);
    gate.hold(big, 5000);
    expect([gate.open, gate.events]).toEqual([false, 5000]);
    gate.free(big);
    gate.free(big);
    gate.free({}); // never held
    expect([gate.open, gate.events, changes]).toEqual([true, 0, [false, true]]);
  });

  it('counts the events of every project of a job, and none for a malformed payload', () => {
    const events = (n: number) => Array.from({ length: n }, () => ({}));
    const payload = {
      batchId: 'b',
      sources: [],
      projects: [
        { projectId: 'p1', events: events(3) },
        { projectId: 'p2', events: events(4) },
      ],
    };
    expect(eventsOf(payload as never)).toBe(7);
    for (const bad of [undefined, {}, { projects: 'x' }, { projects: [null, { events: 'x' }] }])
      expect(eventsOf(bad as never)).toBe(0);
  });
});
