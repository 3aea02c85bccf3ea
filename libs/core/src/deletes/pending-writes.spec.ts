import { CounterLedger, MarkedEventWriter } from '@app/storage';
import { PendingWrites } from './pending-writes';

/** A writer and a ledger that answer from fixed tables and record the order of their reads. */
function marked(carried: Record<string, string[]>, pending: string[]) {
  const calls: string[] = [];
  const writer = {
    markersOf: (_p: string, ids: string[]) => {
      calls.push(`markersOf ${ids.join(',')}`);
      const out = new Map<string, string[]>();
      for (const [marker, of] of Object.entries(carried)) {
        const mine = of.filter((id) => ids.includes(id));
        if (mine.length > 0) out.set(marker, mine);
      }
      return Promise.resolve(out);
    },
  } as unknown as MarkedEventWriter;
  const ledger = {
    markersPendingOn: (_p: string, collection: string) => {
      calls.push(`markersPendingOn ${collection}`);
      return Promise.resolve(new Set(pending));
    },
  } as unknown as CounterLedger;
  return { calls, writes: { kind: 'marked' as const, writer, ledger } };
}

describe('PendingWrites (the pending-marker rule of deletes)', () => {
  it('lets everything through on a transactional store', async () => {
    const split = await new PendingWrites({ kind: 'transactional' }).split('p', 'c', ['a', 'b']);
    expect(split).toEqual({ settled: ['a', 'b'], held: [], markers: new Map() });
  });

  it('holds exactly the events whose marker is pending on the collection', async () => {
    const { writes } = marked({ live: ['a', 'c'], done: ['b'] }, ['live', 'other']);
    const split = await new PendingWrites(writes).split('p', 'c', ['a', 'b', 'c', 'd']);
    expect(split.settled).toEqual(['b', 'd']);
    expect(split.held.sort()).toEqual(['a', 'c']);
    // The settled events' markers, for a store that replaces a body only under the same one.
    expect(split.markers).toEqual(new Map([['b', 'done']]));
  });

  it('reads the carried markers before the pending ones, and skips the ledger when none is carried', async () => {
    const some = marked({ m: ['a'] }, []);
    expect(await new PendingWrites(some.writes).split('p', 'c', ['a'])).toEqual({
      settled: ['a'],
      held: [],
      markers: new Map([['a', 'm']]),
    });
    // A marker seen on an event and then not pending has been applied; the
    // other order could miss a marker registered between the two reads.
    expect(some.calls).toEqual(['markersOf a', 'markersPendingOn c']);

    const none = marked({}, ['m']);
    expect(await new PendingWrites(none.writes).split('p', 'c', ['x'])).toEqual({
      settled: ['x'],
      held: [],
      markers: new Map(),
    });
    expect(none.calls).toEqual(['markersOf x']);
  });
});
