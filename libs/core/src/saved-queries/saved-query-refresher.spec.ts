import {
  CachedQueryResult,
  SavedQueryDefinition,
  SavedQueryPutOptions,
  SavedQueryRecord,
  SavedQueryStore,
} from '@app/storage';
import { SILENT_LOG } from '../log.port';
import { SavedQueriesService, SavedQueryRunner } from './saved-queries.service';
import { SavedQueryRefresher } from './saved-query-refresher';

/** An in-memory SavedQueryStore with the port's lease rules (the adapters are checked by the contract suite). */
class FakeStore implements SavedQueryStore {
  readonly rows = new Map<string, SavedQueryRecord>();
  private key = (p: string, n: string) => `${p}/${n}`;
  async put(d: SavedQueryDefinition, o: SavedQueryPutOptions) {
    const old = this.rows.get(this.key(d.projectId, d.name));
    this.rows.set(this.key(d.projectId, d.name), {
      ...d,
      createdAt: old?.createdAt ?? d.createdAt,
      cached: null,
      dueAt: o.dueAt,
      leaseUntil: 0,
      leaseOwner: null,
    });
    return old ? ('replaced' as const) : ('created' as const);
  }
  async get(p: string, n: string) {
    const r = this.rows.get(this.key(p, n));
    return r ? structuredClone(r) : null;
  }
  async list(p: string) {
    return [...this.rows.values()].filter((r) => r.projectId === p);
  }
  async delete(p: string, n: string) {
    return this.rows.delete(this.key(p, n));
  }
  async requestRefresh(p: string, n: string, at: number) {
    const r = this.rows.get(this.key(p, n));
    if (!r || r.refreshRate === 0) return false;
    r.dueAt = at;
    return true;
  }
  async claimDue(owner: string, now: number, leaseMs: number) {
    const due = [...this.rows.values()]
      .filter((r) => r.dueAt !== null && r.dueAt <= now && r.leaseUntil <= now)
      .sort((a, b) => a.dueAt! - b.dueAt!)[0];
    if (!due) return null;
    Object.assign(due, { leaseOwner: owner, leaseUntil: now + leaseMs });
    return structuredClone(due);
  }
  async saveResult(
    p: string,
    n: string,
    owner: string,
    result: CachedQueryResult,
    claimedAt: number,
    next: number,
  ) {
    const r = this.rows.get(this.key(p, n));
    if (!r || r.leaseOwner !== owner || r.version !== result.version) return false;
    Object.assign(r, {
      cached: result,
      dueAt: r.dueAt! > claimedAt ? r.dueAt : next,
      leaseOwner: null,
      leaseUntil: 0,
    });
    return true;
  }
  async release(p: string, n: string, owner: string, retryAt: number) {
    const r = this.rows.get(this.key(p, n));
    if (r && r.leaseOwner === owner)
      Object.assign(r, { leaseOwner: null, leaseUntil: 0, dueAt: retryAt });
  }
}

const HOUR = 3_600_000;
const COUNT = { analysis_type: 'count', event_collection: 'purchases' };

function setup() {
  let clock = Date.UTC(2026, 0, 1);
  const now = () => clock;
  const store = new FakeStore();
  const calls: { params: unknown; scope: unknown }[] = [];
  let answer = 10;
  let fail: Error | null = null;
  const runner: SavedQueryRunner = {
    run: async (_p, _a, params, _s, _o, scope) => {
      calls.push({ params, scope });
      if (fail) throw fail;
      return { result: answer };
    },
  };
  const service = new SavedQueriesService(store, runner, { maxPerProject: 10, limits: {} }, now);
  const refresher = (owner: string) =>
    new SavedQueryRefresher(
      store,
      runner,
      { checkIntervalMs: 1000, leaseMs: 60_000, retryMs: 30_000, owner },
      SILENT_LOG,
      now,
    );
  return {
    store,
    service,
    refresher,
    calls,
    advance: (ms: number) => (clock += ms),
    now,
    setAnswer: (n: number) => (answer = n),
    setFail: (e: Error | null) => (fail = e),
  };
}

const unscoped = () => ({ filters: [] });

describe('SavedQueryRefresher and the result of a cached query', () => {
  it('computes a new cached query at the next check, then serves it without running the query', async () => {
    const t = setup();
    await t.service.put('p', 'q', { query: COUNT, refresh_rate: 14_400 });
    const before = await t.service.result('p', 'q', unscoped);
    expect(before.run_information).toMatchObject({
      served_from: 'live',
      live_reason: 'not_computed_yet',
      events_scanned: null,
    });

    const computedAt = t.advance(5);
    expect(await t.refresher('a').check()).toBe(1);
    expect(t.calls.at(-1)).toEqual({ params: COUNT, scope: undefined });
    const runs = t.calls.length;
    const served = await t.service.result('p', 'q', unscoped);
    expect(t.calls.length).toBe(runs);
    expect([served.result, served.run_information]).toEqual([
      10,
      {
        served_from: 'cache',
        events_scanned: 0,
        computed_at: new Date(computedAt).toISOString(),
        next_refresh_at: new Date(computedAt + 4 * HOUR).toISOString(),
      },
    ]);
  });

  it('refreshes only when due (computed_at + refresh_rate) or when forced', async () => {
    const t = setup();
    await t.service.put('p', 'q', { query: COUNT, refresh_rate: 14_400 });
    const r = t.refresher('a');
    await r.check();
    t.setAnswer(11);
    t.advance(4 * HOUR - 1);
    expect(await r.check()).toBe(0);
    expect((await t.service.result('p', 'q', unscoped)).result).toBe(10);
    t.advance(1);
    expect(await r.check()).toBe(1);
    expect((await t.service.result('p', 'q', unscoped)).result).toBe(11);

    t.setAnswer(12);
    t.advance(1000);
    await t.service.requestRefresh('p', 'q');
    expect(await r.check()).toBe(1);
    expect((await t.service.result('p', 'q', unscoped)).result).toBe(12);
  });

  it('lets one of two processes compute a due query; a crashed owner blocks it only until the lease ends', async () => {
    const t = setup();
    await t.service.put('p', 'q', { query: COUNT, refresh_rate: 14_400 });
    // "crashed" claims and never finishes.
    expect((await t.store.claimDue('crashed', t.now(), 60_000))?.name).toBe('q');
    const [a, b] = [t.refresher('a'), t.refresher('b')];
    expect(await Promise.all([a.check(), b.check()])).toEqual([0, 0]);
    t.advance(60_000);
    expect((await Promise.all([a.check(), b.check()])).sort()).toEqual([0, 1]);
    expect(t.calls).toHaveLength(1);
    expect((await t.store.get('p', 'q'))!.cached?.response).toEqual({ result: 10 });
  });

  it('gives the lease back on a failed computation, keeps the old answer, and retries after retryMs', async () => {
    const t = setup();
    await t.service.put('p', 'q', { query: COUNT, refresh_rate: 14_400 });
    const r = t.refresher('a');
    await r.check();
    t.advance(4 * HOUR);
    t.setFail(new Error('store down'));
    expect(await r.check()).toBe(0);
    const row = (await t.store.get('p', 'q'))!;
    expect([row.leaseOwner, row.dueAt, row.cached?.response]).toEqual([
      null,
      t.now() + 30_000,
      { result: 10 },
    ]);
    t.setFail(null);
    t.setAnswer(13);
    t.advance(30_000);
    expect(await r.check()).toBe(1);
    expect((await t.service.result('p', 'q', unscoped)).result).toBe(13);
  });

  it('computes live, with the scope, for a scoped key; a plain saved query is always live', async () => {
    const t = setup();
    await t.service.put('p', 'cached', { query: COUNT, refresh_rate: 14_400 });
    await t.service.put('p', 'plain', { query: COUNT });
    await t.refresher('a').check();
    const scope = { filters: [{ property_name: 'team', operator: 'eq', property_value: 'x' }] };
    const scoped = await t.service.result('p', 'cached', () => scope as never);
    expect([scoped.run_information.served_from, scoped.run_information.live_reason]).toEqual([
      'live',
      'scoped_key',
    ]);
    expect(t.calls.at(-1)!.scope).toEqual(scope);
    const plain = await t.service.result('p', 'plain', unscoped);
    expect([plain.result, plain.run_information.live_reason, plain.refresh_rate]).toEqual([
      10,
      'saved_query',
      0,
    ]);
    expect((await t.service.get('p', 'plain')).run_information).toBeNull();
  });

  it('drops the answer of a replaced definition and computes the new one at the next check', async () => {
    const t = setup();
    await t.service.put('p', 'q', { query: COUNT, refresh_rate: 14_400 });
    const r = t.refresher('a');
    await r.check();
    t.advance(10);
    const replaced = await t.service.put('p', 'q', {
      query: { ...COUNT, event_collection: 'visits' },
      refresh_rate: 14_400,
    });
    expect(replaced.created).toBe(false);
    expect(replaced.view.run_information).toEqual({
      computed_at: null,
      next_refresh_at: new Date(t.now()).toISOString(),
    });
    expect(await r.check()).toBe(1);
    expect(t.calls.at(-1)!.params).toEqual({ ...COUNT, event_collection: 'visits' });
  });
});
