import { CollectionEvent, TallyError } from '@app/events';
import { CounterLedger, MarkedEventWriter } from '@app/storage';
import { MarkedEventPersister } from './marked-event.persister';

/**
 * A writer and a ledger kept in memory, to drive the persister through one
 * interleaving (the protocol itself runs against real stores in
 * event-persister.contract.ts).
 */
function memory() {
  const stored = new Map<string, { event: CollectionEvent; marker: string }>();
  const pending = new Map<string, Date>(); // marker -> registered at
  const writer = {
    insertMarked: (_p: string, events: CollectionEvent[], marker: string) => {
      const inserted: CollectionEvent[] = [];
      const duplicates: string[] = [];
      for (const event of events) {
        if (stored.has(event.id)) duplicates.push(event.id);
        else {
          stored.set(event.id, { event, marker });
          inserted.push(event);
        }
      }
      return Promise.resolve({ inserted, duplicates, rejected: [] });
    },
    markersOf: (_p: string, ids: string[]) => {
      const out = new Map<string, string[]>();
      for (const id of ids) {
        const m = stored.get(id)!.marker;
        out.set(m, [...(out.get(m) ?? []), id]);
      }
      return Promise.resolve(out);
    },
    findByMarker: (_p: string, marker: string) =>
      Promise.resolve([...stored.values()].filter((s) => s.marker === marker).map((s) => s.event)),
    clearMarker: () => Promise.resolve(),
  } as unknown as MarkedEventWriter;
  const ledger = {
    registerMarker: (_p: string, _c: string[], marker: string) => {
      pending.set(marker, new Date());
      return Promise.resolve();
    },
    applyMarked: (_p: string, _c: string, marker: string) =>
      Promise.resolve(pending.delete(marker)),
    collectionsPending: (_p: string, marker: string) =>
      Promise.resolve(pending.has(marker) ? [{ collection: 'c', at: pending.get(marker)! }] : []),
  } as unknown as CounterLedger;
  return { writer, ledger, pending };
}

const event = (id: string): CollectionEvent => ({ id, collection: 'c', timestamp: 0, event: {} });

describe('MarkedEventPersister: duplicates under another delivery\'s pending marker', () => {
  it('looks again before failing: a live delivery that applies meanwhile lets this one through', async () => {
    const m = memory();
    const persister = new MarkedEventPersister({ ...m, takeoverAfterMs: 60_000 });
    // A live delivery has inserted the shared event and applies 50 ms later.
    await m.ledger.registerMarker('p', ['c'], 'live.1');
    await m.writer.insertMarked('p', [event('shared')], 'live.1');
    setTimeout(() => void m.ledger.applyMarked('p', 'c', 'live.1', [], 1000), 50);
    expect(await persister.persist('p', [event('shared'), event('own')])).toEqual({
      inserted: 1,
      duplicates: 1,
    });
    expect(m.pending.size).toBe(0);
  });

  it('fails with CountersPendingError when the other delivery stays pending and is recent', async () => {
    const m = memory();
    const persister = new MarkedEventPersister({ ...m, takeoverAfterMs: 60_000 });
    await m.ledger.registerMarker('p', ['c'], 'stalled.1');
    await m.writer.insertMarked('p', [event('shared')], 'stalled.1');
    const error = await persister.persist('p', [event('shared')]).catch((e: unknown) => e);
    expect((error as TallyError).errorCode).toBe('CountersPendingError');
    expect([...m.pending.keys()]).toEqual(['stalled.1']);
  });
});
