import { StoredKey } from '@app/storage';
import { assertNamedAllowed, keyAllows } from './access';

const base = { projectId: 'p', keyHash: 'h', createdAt: '' };
const access = (permitted: any[], options: any = {}): StoredKey => ({
  ...base,
  role: 'access',
  access: { permitted, options },
});

describe('key rights', () => {
  it('gives the master key everything, a write key writes, a read key every read right', () => {
    const all = [
      'write',
      'read',
      'master',
      'schema',
      'saved_queries',
      'cached_queries',
      'datasets',
    ] as const;
    expect(all.filter((a) => keyAllows({ ...base, role: 'master' }, a))).toEqual([...all]);
    expect(all.filter((a) => keyAllows({ ...base, role: 'write' }, a))).toEqual(['write']);
    expect(all.filter((a) => keyAllows({ ...base, role: 'read' }, a))).toEqual([
      'read',
      'schema',
      'saved_queries',
      'cached_queries',
      'datasets',
    ]);
  });

  it('gives an access key only what its permitted list names, and never master', () => {
    const key = access(['writes', 'schema']);
    expect(keyAllows(key, 'write')).toBe(true);
    expect(keyAllows(key, 'schema')).toBe(true);
    expect(keyAllows(key, 'read')).toBe(false);
    expect(keyAllows(key, 'master')).toBe(false);
    expect(keyAllows(access([]), 'read')).toBe(false);
    expect(keyAllows(access(['queries']), 'read')).toBe(true);
  });

  it('applies allow and block lists of named resources to access keys only', () => {
    const key = access(['saved_queries'], {
      saved_queries: { allowed: ['a', 'b'], blocked: ['b'] },
    });
    expect(() => assertNamedAllowed(key, 'saved_queries', 'a')).not.toThrow();
    expect(() => assertNamedAllowed(key, 'saved_queries', 'b')).toThrow(/may not use/);
    expect(() => assertNamedAllowed(key, 'saved_queries', 'c')).toThrow(/may not use/);
    expect(() => assertNamedAllowed(key, 'cached_queries', 'c')).not.toThrow();
    expect(() => assertNamedAllowed({ ...base, role: 'read' }, 'saved_queries', 'c')).not.toThrow();
  });
});
