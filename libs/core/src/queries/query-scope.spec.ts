import { parseQuery } from '@app/query-engine';
import { applyScope, scopeOfKey, UNSCOPED } from './query-scope';

const red = [{ property_name: 'team', operator: 'eq', property_value: 'red' }];
const key = (filters: unknown) => ({
  projectId: 'p',
  keyHash: 'h',
  createdAt: '',
  role: 'access' as const,
  access: { permitted: ['queries' as const], options: { queries: { filters } } as any },
});

describe('query scopes', () => {
  it("adds the key's filters after the query's own, so both must hold", () => {
    const query = parseQuery('count', {
      event_collection: 'c',
      filters: [{ property_name: 'team', operator: 'in', property_value: ['red', 'blue'] }],
    });
    const scoped = applyScope(query, scopeOfKey(key(red))) as any;
    expect(scoped.filters.map((f: any) => [f.property_name, f.operator])).toEqual([
      ['team', 'in'],
      ['team', 'eq'],
    ]);
    expect((query as any).filters).toHaveLength(1);
  });

  it('adds them to every step of a funnel', () => {
    const funnel = parseQuery('funnel', {
      steps: [
        { event_collection: 'a', actor_property: 'u' },
        { event_collection: 'b', actor_property: 'u', filters: red },
      ],
    });
    const scoped = applyScope(funnel, scopeOfKey(key(red))) as any;
    expect(scoped.steps.map((s: any) => s.filters.length)).toEqual([1, 2]);
  });

  it('has nothing to add for role keys or keys without filters', () => {
    const query = parseQuery('count', { event_collection: 'c' });
    expect(scopeOfKey({ projectId: 'p', keyHash: 'h', createdAt: '', role: 'read' })).toBe(
      UNSCOPED,
    );
    expect(applyScope(query, scopeOfKey(key(undefined)))).toBe(query);
    expect(applyScope(query, undefined)).toBe(query);
  });
});
