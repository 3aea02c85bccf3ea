import { JsonObject, StoredEvent } from '@app/events';
import { schemaDeltas } from './infer-schema';
import {
  admitDeltas,
  AdmittedView,
  isReservedPath,
  pathsToLookUp,
  SchemaRecount,
} from './schema-cap';

const view = (admitted: string[]): AdmittedView => ({
  admittedCount: admitted.length,
  isAdmitted: (p) => admitted.includes(p),
});
const deltasOf = (...events: JsonObject[]) =>
  schemaDeltas(events.map((event) => ({ collection: 'c', event })));
const stored = (id: string, timestamp: number, event: JsonObject): StoredEvent => ({
  id,
  timestamp,
  event,
});

describe('schema property cap', () => {
  it('reserves keen and its direct children only', () => {
    expect(['keen', 'keen.id', 'keen.timestamp', 'keen.location'].every(isReservedPath)).toBe(true);
    expect(isReservedPath('keen.location.coordinates')).toBe(false);
    expect(isReservedPath('keenness')).toBe(false);
    expect(isReservedPath('user.keen')).toBe(false);
  });

  it('admits new paths in first-seen order until the cap, then refuses the rest', () => {
    const deltas = deltasOf({ a: 1, b: 'x', keen: { id: 'i' } }, { c: true, a: 'y', d: { e: 1 } });
    const plan = admitDeltas(deltas, view([]), 3);
    expect(plan.admit).toEqual(['a', 'b', 'c']);
    expect(plan.refused).toEqual(['d', 'd.e']);
    // Every type of an admitted path counts; keen paths count without taking a slot.
    expect(plan.deltas.map((d) => `${d.path}:${d.type}:${d.delta}`)).toEqual([
      'a:num:1',
      'b:string:1',
      'keen:object:1',
      'keen.id:string:1',
      'c:bool:1',
      'a:string:1',
    ]);
  });

  it('keeps counting admitted paths once full, and never admits a child without its parent', () => {
    const deltas = deltasOf({ old: 2, fresh: 1 }, { user: { id: 1 }, old: 'z' });
    const plan = admitDeltas(deltas, view(['old', 'x', 'y']), 3);
    expect(plan.admit).toEqual([]);
    expect(plan.refused).toEqual(['fresh', 'user', 'user.id']);
    expect(plan.deltas.map((d) => `${d.path}:${d.type}:${d.delta}`)).toEqual([
      'old:num:1',
      'old:string:1',
    ]);

    const roomForOne = admitDeltas(deltasOf({ user: { id: 1 } }), view([]), 1);
    expect(roomForOne.admit).toEqual(['user']);
    expect(roomForOne.refused).toEqual(['user.id']);
  });

  it('a cap lowered below the admitted count admits nothing new and keeps the admitted paths', () => {
    const plan = admitDeltas(deltasOf({ a: 1, b: 1, z: 1 }), view(['a', 'b']), 1);
    expect(plan.admit).toEqual([]);
    expect(plan.deltas.map((d) => d.path)).toEqual(['a', 'b']);
    expect(plan.refused).toEqual(['z']);
  });

  it('looks up each non-reserved path once', () => {
    expect(pathsToLookUp(deltasOf({ a: 1, keen: { id: 'x' } }, { a: 'two', b: { c: 1 } }))).toEqual(
      ['a', 'b', 'b.c'],
    );
  });

  describe('SchemaRecount', () => {
    it('keeps the stored admitted set and fills free slots by (timestamp, id, position), whatever the scan order', () => {
      const events = [
        stored('b', 2000, { kept: 1, late: 1, keen: { id: 'b' } }),
        stored('a', 2000, { kept: 2, second: 1, third: 1 }),
        stored('z', 1000, { first: 'x' }),
      ];
      const forward = new SchemaRecount('c', ['kept'], 3);
      const backward = new SchemaRecount('c', ['kept'], 3);
      for (const e of events) forward.add(e);
      for (const e of [...events].reverse()) backward.add(e);
      const result = forward.result();
      expect(backward.result()).toEqual(result);
      expect(result.admit).toEqual(['first', 'second']);
      expect(result.capped).toBe(true);
      expect(result.counters.map((d) => `${d.path}:${d.type}:${d.delta}`).sort()).toEqual(
        [
          'first:string:1',
          'keen:object:1',
          'keen.id:string:1',
          'kept:num:2',
          'second:num:1',
        ].sort(),
      );
    });

    it('equals the incremental counters when events arrived in time order', () => {
      const events = Array.from({ length: 6 }, (_, i) =>
        stored(`id${i}`, 1000 + i, { [`p${i}`]: i, shared: i, [`q${i}`]: 'v' }),
      );
      const admitted: string[] = [];
      const counted = new Map<string, number>();
      for (const e of events) {
        const plan = admitDeltas(deltasOf(e.event), view(admitted), 5);
        admitted.push(...plan.admit);
        for (const d of plan.deltas)
          counted.set(`${d.path}:${d.type}`, (counted.get(`${d.path}:${d.type}`) ?? 0) + d.delta);
      }
      const recount = new SchemaRecount('c', [], 5);
      for (const e of events) recount.add(e);
      const result = recount.result();
      expect(result.admit).toEqual(admitted);
      expect(new Map(result.counters.map((d) => [`${d.path}:${d.type}`, d.delta]))).toEqual(
        counted,
      );
      expect(result.capped).toBe(true);
    });

    it('is not capped when every path fits', () => {
      const recount = new SchemaRecount('c', [], 10);
      recount.add(stored('a', 1, { x: 1, y: { z: 2 } }));
      expect(recount.result()).toMatchObject({ admit: ['x', 'y', 'y.z'], capped: false });
    });
  });
});
