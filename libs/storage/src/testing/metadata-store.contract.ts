import { createHash, randomBytes } from 'node:crypto';
import { PropertyType, SchemaCounter, SchemaDelta } from '@app/schema';
import { KeyRole, MetadataStore, Project, StoredKey } from '../ports/metadata-store.port';

export interface MetadataStoreSubject {
  /** A fresh store over empty storage. */
  store: MetadataStore;
  /** Closes the store and releases whatever the factory opened. */
  close(): Promise<void>;
}

let counter = 0;
const uniqueProject = (tag: string) => `meta-${tag}-${process.pid}-${Date.now()}-${counter++}`;

/** Keys are stored as the sha-256 of a random key; the plain key never reaches the store. */
function storedKey(projectId: string, role: KeyRole, createdAt: string): StoredKey {
  const keyHash = createHash('sha256').update(randomBytes(32)).digest('hex');
  return { projectId, keyHash, role, createdAt };
}

function delta(collection: string, path: string, type: PropertyType, n: number): SchemaDelta {
  return { collection, path, type, delta: n };
}

function counterOf(collection: string, path: string, type: PropertyType, count: number) {
  return { collection, path, type, count };
}

/** Code-unit order: the port promises no order for lists, so both sides are sorted before comparing. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortedCounters = (counters: SchemaCounter[]) =>
  [...counters].sort(
    (a, b) =>
      byText(a.collection, b.collection) || byText(a.path, b.path) || byText(a.type, b.type),
  );
const sortedProjects = (projects: Project[]) => [...projects].sort((a, b) => byText(a.id, b.id));
const sortedKeys = (keys: StoredKey[]) => [...keys].sort((a, b) => byText(a.keyHash, b.keyHash));
const sorted = (paths: string[]) => [...paths].sort(byText);

/**
 * Property paths as events produce them (names joined by dots; a name cannot
 * contain a dot or start with `$`), chosen to trip stores that keep paths as
 * object keys or document field names: names of Object.prototype members,
 * dotted paths, `$` and `%` (an escape character of some encodings), spaces,
 * and non-ASCII text.
 */
const HOSTILE_PATHS = [
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'prototype',
  'user.constructor',
  'a.b',
  'a.b.c',
  'we$ird',
  'a.price$',
  '%',
  '%2E',
  'odd%2Ename',
  '%25.x',
  'with space',
  'naïve',
  '日本語.キー',
  'emoji🙂.ok',
];
const HOSTILE_COLLECTIONS = ['constructor', 'toString', 'a b', 'naïve 日本'];

/**
 * What every MetadataStore adapter must do, checked against the real store:
 * projects and hashed keys round-trip exactly, schema counters add and
 * subtract exactly and vanish at zero, per project and collection, the schema
 * cap's admitted set and flag behave as the port describes, and property
 * paths are data whatever their text. `open()` gives a fresh, empty store for
 * each test; project ids are unique per test as well.
 */
export function describeMetadataStoreContract(
  driver: string,
  open: () => Promise<MetadataStoreSubject>,
): void {
  describe(`${driver}: MetadataStore contract`, () => {
    let subject: MetadataStoreSubject;
    let store: MetadataStore;
    beforeEach(async () => {
      subject = await open();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    describe('projects and keys', () => {
      it('creates projects and reads them back exactly; an unknown id is null', async () => {
        expect(await store.listProjects()).toEqual([]);
        const shop: Project = {
          id: uniqueProject('shop'),
          name: 'Shop — naïve 日本 🙂',
          createdAt: '2024-03-10T07:00:00.000Z',
        };
        const blog: Project = {
          id: uniqueProject('blog'),
          name: 'constructor',
          createdAt: '2024-01-02T03:04:05.678Z',
        };
        await store.createProject(shop, []);
        await store.createProject(blog, []);

        expect(await store.getProject(shop.id)).toEqual(shop);
        expect(await store.getProject(blog.id)).toEqual(blog);
        for (const missing of [uniqueProject('missing'), 'constructor', 'toString', '']) {
          expect(await store.getProject(missing)).toBeNull();
        }
        expect(sortedProjects(await store.listProjects())).toEqual(sortedProjects([shop, blog]));
      });

      it('stores hashed keys of every role and lists exactly those, per project', async () => {
        expect(await store.listKeys()).toEqual([]);
        const at = '2024-03-10T07:00:00.000Z';
        const p1 = uniqueProject('keys');
        const p2 = uniqueProject('keys');
        const p3 = uniqueProject('keyless');
        const p1Keys = (['write', 'read', 'master'] as const).map((role) =>
          storedKey(p1, role, at),
        );
        const p2Keys = [storedKey(p2, 'write', '2024-04-01T00:00:00.000Z')];
        await store.createProject({ id: p1, name: 'one', createdAt: at }, p1Keys);
        await store.createProject({ id: p2, name: 'two', createdAt: at }, p2Keys);
        await store.createProject({ id: p3, name: 'three', createdAt: at }, []);

        const keys = await store.listKeys();
        expect(sortedKeys(keys)).toEqual(sortedKeys([...p1Keys, ...p2Keys]));
        // Looked up by hash, as the key cache does.
        const byHash = new Map(keys.map((k) => [k.keyHash, k]));
        for (const key of [...p1Keys, ...p2Keys]) expect(byHash.get(key.keyHash)).toEqual(key);
        const unknown = createHash('sha256').update('not a key').digest('hex');
        expect(byHash.has(unknown)).toBe(false);
        // One key per role for p1, only a write key for p2, none for p3.
        const roles = (projectId: string) =>
          keys
            .filter((k) => k.projectId === projectId)
            .map((k) => k.role)
            .sort();
        expect(roles(p1)).toEqual(['master', 'read', 'write']);
        expect(roles(p2)).toEqual(['write']);
        expect(roles(p3)).toEqual([]);
      });

      it('refuses a second project with an existing id and keeps the first as it was', async () => {
        const at = '2024-03-10T07:00:00.000Z';
        const id = uniqueProject('twice');
        const first: Project = { id, name: 'first', createdAt: at };
        const firstKeys = [storedKey(id, 'master', at)];
        await store.createProject(first, firstKeys);

        await expect(
          store.createProject({ id, name: 'second', createdAt: '2025-01-01T00:00:00.000Z' }, [
            storedKey(id, 'write', at),
          ]),
        ).rejects.toMatchObject({ kind: 'conflict', errorCode: 'ProjectExistsError' });
        expect(await store.getProject(id)).toEqual(first);
        expect(await store.listProjects()).toEqual([first]);
        expect(await store.listKeys()).toEqual(firstKeys);
      });
      it('adds a key to a project and revokes it by hash, only within its own project', async () => {
        const at = '2024-03-10T07:00:00.000Z';
        const p1 = uniqueProject('rotate');
        const p2 = uniqueProject('rotate');
        const original = storedKey(p1, 'write', at);
        const other = storedKey(p2, 'write', at);
        await store.createProject({ id: p1, name: 'one', createdAt: at }, [original]);
        await store.createProject({ id: p2, name: 'two', createdAt: at }, [other]);

        // A second key of the same role, created later: both are valid until one is revoked.
        const added = storedKey(p1, 'write', '2024-05-01T12:30:00.000Z');
        const master = storedKey(p1, 'master', '2024-05-02T00:00:00.000Z');
        await store.addKey(added);
        await store.addKey(master);
        expect(sortedKeys(await store.listKeys())).toEqual(
          sortedKeys([original, other, added, master]),
        );

        // A hash of another project's key is not revoked through this project.
        expect(await store.revokeKey(p1, other.keyHash)).toBe(false);
        expect(await store.revokeKey(p1, original.keyHash)).toBe(true);
        // Revoking again, or an unknown hash, changes nothing.
        expect(await store.revokeKey(p1, original.keyHash)).toBe(false);
        expect(await store.revokeKey(p1, createHash('sha256').update('never').digest('hex'))).toBe(
          false,
        );
        expect(sortedKeys(await store.listKeys())).toEqual(sortedKeys([other, added, master]));

        expect(await store.revokeKey(p2, other.keyHash)).toBe(true);
        expect(sortedKeys(await store.listKeys())).toEqual(sortedKeys([added, master]));
        // The projects themselves are untouched.
        expect(sortedProjects(await store.listProjects()).map((p) => p.id)).toEqual(
          [p1, p2].sort(byText),
        );
      });

      it('refuses a key whose hash is already stored and keeps the first as it was', async () => {
        const at = '2024-03-10T07:00:00.000Z';
        const p = uniqueProject('dup-key');
        const key = storedKey(p, 'read', at);
        await store.createProject({ id: p, name: 'dup', createdAt: at }, [key]);
        await expect(
          store.addKey({ ...key, role: 'master', createdAt: '2025-01-01T00:00:00.000Z' }),
        ).rejects.toMatchObject({ kind: 'conflict', errorCode: 'KeyExistsError' });
        expect(await store.listKeys()).toEqual([key]);
      });

      it("stores an access key's name, active flag and rights exactly, and updates only the fields named", async () => {
        const at = '2024-03-11T07:00:00.000Z';
        const p = uniqueProject('access');
        const other = uniqueProject('access-other');
        await store.createProject({ id: p, name: 'access', createdAt: at }, []);
        await store.createProject({ id: other, name: 'other', createdAt: at }, []);
        // Options hold names clients chose: `$`-names, dots, __proto__-like text, unicode.
        const options = {
          queries: {
            filters: [{ property_name: 'user.team', operator: 'eq', property_value: 'réd' }],
          },
          writes: { autofill: { team: 'red', $odd: { 'a.b': [1, null, true] }, constructor: 'x' } },
          saved_queries: { allowed: ['daily', '%2E'], blocked: [] },
        };
        const key: StoredKey = {
          ...storedKey(p, 'access', at),
          name: 'red team',
          access: { permitted: ['writes', 'queries'], options },
        };
        await store.addKey(key);
        const mine = async () => (await store.listKeys()).filter((k) => k.projectId === p);
        expect(await mine()).toEqual([key]);

        // Absent fields stay; active false is stored and read back.
        expect(await store.updateKey(p, key.keyHash, { active: false })).toEqual({
          ...key,
          active: false,
        });
        const renamed = await store.updateKey(p, key.keyHash, { name: 'blue team' });
        expect(renamed).toEqual({ ...key, name: 'blue team', active: false });
        const rights = { permitted: ['schema' as const], options: {} };
        const changed = await store.updateKey(p, key.keyHash, { access: rights, active: true });
        expect(changed).toEqual({ ...key, name: 'blue team', access: rights });
        expect(await mine()).toEqual([changed]);

        // Another project cannot change it, and an unknown hash is null.
        expect(await store.updateKey(other, key.keyHash, { active: false })).toBeNull();
        expect(
          await store.updateKey(p, storedKey(p, 'access', at).keyHash, { active: false }),
        ).toBeNull();
        expect(await mine()).toEqual([changed]);

        // Role keys keep no access fields; deleting the access key removes it.
        const role = storedKey(p, 'read', at);
        await store.addKey(role);
        expect(sortedKeys(await mine())).toEqual(sortedKeys([changed!, role]));
        expect(await store.revokeKey(p, key.keyHash)).toBe(true);
        expect(await mine()).toEqual([role]);
      });
    });

    describe('retention', () => {
      it("sets, replaces and clears a project's days, lists every project that has some, and keeps projects apart", async () => {
        // Ids a prefix scan or a LIKE pattern could confuse ("_" is a LIKE wildcard).
        const p = uniqueProject('ret_a');
        const q = uniqueProject('ret_a') + '-more';
        const r = uniqueProject('ret%');
        expect(await store.getRetention(p)).toBeNull();
        await store.setRetention(p, 30);
        await store.setRetention(q, 7);
        await store.setRetention(r, 1);
        await store.setRetention(p, 90); // replaces
        expect([
          await store.getRetention(p),
          await store.getRetention(q),
          await store.getRetention(r),
        ]).toEqual([90, 7, 1]);
        const mine = (await store.listRetentions()).filter((x) => [p, q, r].includes(x.projectId));
        expect(mine).toEqual(
          [
            { projectId: p, days: 90 },
            { projectId: q, days: 7 },
            { projectId: r, days: 1 },
          ].sort((a, b) => (a.projectId < b.projectId ? -1 : 1)),
        );
        await store.setRetention(p, null);
        await store.setRetention(p, null); // clearing twice is fine
        expect(await store.getRetention(p)).toBeNull();
        expect((await store.listRetentions()).map((x) => x.projectId)).not.toContain(p);
        expect(await store.getRetention(q)).toBe(7);
      });
    });

    describe('schema counters', () => {
      it('adds and subtracts deltas exactly, summing several deltas of one counter in a call', async () => {
        const p = uniqueProject('counts');
        expect(await store.getSchema(p)).toEqual([]);
        await store.applySchemaDeltas(p, [
          delta('purchases', 'price', 'num', 3),
          delta('purchases', 'price', 'string', 2),
          delta('purchases', 'user', 'object', 5),
          delta('purchases', 'user.id', 'num', 5),
          delta('signups', 'price', 'num', 7),
        ]);
        await store.applySchemaDeltas(p, [
          delta('purchases', 'price', 'num', 4),
          delta('purchases', 'price', 'num', -2),
          delta('purchases', 'user.id', 'num', -1),
          delta('signups', 'plan', 'string', 1),
        ]);
        expect(sortedCounters(await store.getSchema(p))).toEqual(
          sortedCounters([
            counterOf('purchases', 'price', 'num', 5),
            counterOf('purchases', 'price', 'string', 2),
            counterOf('purchases', 'user', 'object', 5),
            counterOf('purchases', 'user.id', 'num', 4),
            counterOf('signups', 'plan', 'string', 1),
            counterOf('signups', 'price', 'num', 7),
          ]),
        );
        expect(sortedCounters(await store.getSchema(p, 'signups'))).toEqual([
          counterOf('signups', 'plan', 'string', 1),
          counterOf('signups', 'price', 'num', 7),
        ]);
        expect(await store.getSchema(p, 'no-such-collection')).toEqual([]);
      });

      it('removes a counter that reaches zero; a later increment starts from nothing', async () => {
        const p = uniqueProject('zero');
        await store.applySchemaDeltas(p, [
          delta('c', 'a', 'num', 2),
          delta('c', 'a', 'string', 1),
          delta('c', 'b', 'bool', 1),
        ]);
        await store.applySchemaDeltas(p, [delta('c', 'a', 'num', -2), delta('c', 'b', 'bool', -1)]);
        // The type that reached 0 is gone; the path's other type stays.
        expect(await store.getSchema(p)).toEqual([counterOf('c', 'a', 'string', 1)]);
        expect(await store.getSchema(p, 'c')).toEqual([counterOf('c', 'a', 'string', 1)]);

        // Up and down again within one call: nothing is left either.
        await store.applySchemaDeltas(p, [delta('c', 'z', 'null', 1), delta('c', 'z', 'null', -1)]);
        await store.applySchemaDeltas(p, [delta('c', 'a', 'string', -1)]);
        expect(await store.getSchema(p)).toEqual([]);
        expect(await store.getSchema(p, 'c')).toEqual([]);

        await store.applySchemaDeltas(p, [delta('c', 'a', 'num', 1)]);
        expect(await store.getSchema(p)).toEqual([counterOf('c', 'a', 'num', 1)]);
      });

      it('a zero delta creates no counter', async () => {
        const p = uniqueProject('noop');
        await store.applySchemaDeltas(p, [delta('c', 'kept', 'num', 2)]);
        await store.applySchemaDeltas(p, [
          delta('c', 'never', 'string', 0),
          delta('c', 'kept', 'num', 0),
        ]);
        expect(await store.getSchema(p)).toEqual([counterOf('c', 'kept', 'num', 2)]);
      });

      it("keeps projects and collections apart: changing one leaves another's counters as they were", async () => {
        const p = uniqueProject('mine');
        const q = uniqueProject('theirs');
        const same = [delta('c', 'a', 'num', 3), delta('d', 'a', 'num', 4)];
        await store.applySchemaDeltas(p, same);
        await store.applySchemaDeltas(q, same);

        // q's collection c goes to zero, and p's collection c changes: p.d and q.d stay.
        await store.applySchemaDeltas(q, [delta('c', 'a', 'num', -3)]);
        await store.applySchemaDeltas(p, [delta('c', 'a', 'num', 10)]);

        expect(sortedCounters(await store.getSchema(p))).toEqual([
          counterOf('c', 'a', 'num', 13),
          counterOf('d', 'a', 'num', 4),
        ]);
        expect(await store.getSchema(q)).toEqual([counterOf('d', 'a', 'num', 4)]);
        expect(await store.getSchema(q, 'c')).toEqual([]);
        expect(await store.getSchema(uniqueProject('nobody'))).toEqual([]);
      });

      it('a decrement of a path the capped collection never admitted leaves nothing behind', async () => {
        const p = uniqueProject('refused');
        await store.updateSchemaCap(p, 'c', ['kept'], true);
        await store.applySchemaDeltas(p, [delta('c', 'kept', 'num', 2)]);

        await store.applySchemaDeltas(p, [
          delta('c', 'refused', 'string', -1),
          delta('c', 'refused.deep', 'num', -3),
          delta('c', 'kept', 'num', -1),
        ]);
        expect(await store.getSchema(p)).toEqual([counterOf('c', 'kept', 'num', 1)]);
        expect(await store.getSchemaCap(p, 'c', ['refused', 'kept'])).toEqual({
          admittedCount: 1,
          admitted: ['kept'],
          capped: true,
        });
      });

      it('counts hostile property paths and collection names as data, and removes them exactly', async () => {
        const p = uniqueProject('hostile');
        const up = HOSTILE_COLLECTIONS.flatMap((collection, i) =>
          HOSTILE_PATHS.map((path, j) => delta(collection, path, 'string', 1 + ((i + j) % 3))),
        );
        await store.applySchemaDeltas(p, up);
        // A second type on each path, in one collection only.
        await store.applySchemaDeltas(
          p,
          HOSTILE_PATHS.map((path) => delta('constructor', path, 'num', 1)),
        );
        const expected = [
          ...up.map((d) => counterOf(d.collection, d.path, d.type, d.delta)),
          ...HOSTILE_PATHS.map((path) => counterOf('constructor', path, 'num', 1)),
        ];
        expect(sortedCounters(await store.getSchema(p))).toEqual(sortedCounters(expected));
        expect(sortedCounters(await store.getSchema(p, 'toString'))).toEqual(
          sortedCounters(expected.filter((c) => c.collection === 'toString')),
        );

        // Every string counter back to zero: only the num counters remain.
        await store.applySchemaDeltas(
          p,
          up.map((d) => ({ ...d, delta: -d.delta })),
        );
        expect(sortedCounters(await store.getSchema(p))).toEqual(
          sortedCounters(HOSTILE_PATHS.map((path) => counterOf('constructor', path, 'num', 1))),
        );
        await store.applySchemaDeltas(
          p,
          HOSTILE_PATHS.map((path) => delta('constructor', path, 'num', -1)),
        );
        expect(await store.getSchema(p)).toEqual([]);
      });
    });

    describe('schema property cap', () => {
      it('an unknown collection has nothing admitted and is not capped', async () => {
        const p = uniqueProject('fresh');
        const none = { admittedCount: 0, admitted: [], capped: false };
        expect(await store.getSchemaCap(p, 'c')).toEqual(none);
        expect(await store.getSchemaCap(p, 'c', ['a', 'constructor'])).toEqual(none);
        expect(await store.listCappedCollections(p)).toEqual([]);
        expect(await store.listCappedCollections()).toEqual([]);
      });

      it('admits paths idempotently, never shrinks the set, and answers for the paths asked', async () => {
        const p = uniqueProject('admit');
        await store.updateSchemaCap(p, 'c', ['b', 'a'], false);
        await store.updateSchemaCap(p, 'c', ['a', 'c', 'b'], false);
        await store.updateSchemaCap(p, 'c', [], false);

        const all = await store.getSchemaCap(p, 'c');
        expect({ ...all, admitted: sorted(all.admitted) }).toEqual({
          admittedCount: 3,
          admitted: ['a', 'b', 'c'],
          capped: false,
        });
        // Fewer paths asked than admitted, and more.
        const few = await store.getSchemaCap(p, 'c', ['c', 'x']);
        expect({ ...few, admitted: sorted(few.admitted) }).toEqual({
          admittedCount: 3,
          admitted: ['c'],
          capped: false,
        });
        const many = await store.getSchemaCap(p, 'c', ['x', 'a', 'y', 'c', 'z']);
        expect({ ...many, admitted: sorted(many.admitted) }).toEqual({
          admittedCount: 3,
          admitted: ['a', 'c'],
          capped: false,
        });
        expect(await store.getSchemaCap(p, 'c', [])).toEqual({
          admittedCount: 3,
          admitted: [],
          capped: false,
        });

        // Another collection of the project, and the same collection of another project, admit nothing.
        expect(await store.getSchemaCap(p, 'd')).toEqual({
          admittedCount: 0,
          admitted: [],
          capped: false,
        });
        expect(await store.getSchemaCap(uniqueProject('other'), 'c')).toEqual({
          admittedCount: 0,
          admitted: [],
          capped: false,
        });
      });

      it('admits hostile property paths as data', async () => {
        const p = uniqueProject('hostile-cap');
        for (const collection of HOSTILE_COLLECTIONS) {
          await store.updateSchemaCap(p, collection, HOSTILE_PATHS, false);
        }
        for (const collection of HOSTILE_COLLECTIONS) {
          const state = await store.getSchemaCap(p, collection);
          expect({ ...state, admitted: sorted(state.admitted) }).toEqual({
            admittedCount: HOSTILE_PATHS.length,
            admitted: sorted(HOSTILE_PATHS),
            capped: false,
          });
          const asked = ['a', 'a.b.c.d', 'constructor', '日本語.キー', '__defineGetter__'];
          const answer = await store.getSchemaCap(p, collection, asked);
          expect({ ...answer, admitted: sorted(answer.admitted) }).toEqual({
            admittedCount: HOSTILE_PATHS.length,
            admitted: sorted(['constructor', '日本語.キー']),
            capped: false,
          });
        }
      });

      it('sets and clears the capped flag; lists capped collections per project and across projects', async () => {
        const p = uniqueProject('capped');
        const q = uniqueProject('capped');
        await store.updateSchemaCap(p, 'c', ['a'], true);
        await store.updateSchemaCap(p, 'naïve 日本', [], true);
        await store.updateSchemaCap(p, 'open', ['a', 'b'], false);
        await store.updateSchemaCap(q, 'c', [], true);

        expect(await store.getSchemaCap(p, 'c')).toEqual({
          admittedCount: 1,
          admitted: ['a'],
          capped: true,
        });
        expect((await store.getSchemaCap(p, 'open')).capped).toBe(false);
        const mine = [
          { projectId: p, collection: 'c' },
          { projectId: p, collection: 'naïve 日本' },
        ];
        const theirs = [{ projectId: q, collection: 'c' }];
        const byKey = (list: { projectId: string; collection: string }[]) =>
          [...list].sort(
            (a, b) => byText(a.projectId, b.projectId) || byText(a.collection, b.collection),
          );
        expect(byKey(await store.listCappedCollections(p))).toEqual(byKey(mine));
        expect(await store.listCappedCollections(q)).toEqual(theirs);
        expect(byKey(await store.listCappedCollections())).toEqual(byKey([...mine, ...theirs]));
        expect(await store.listCappedCollections(uniqueProject('nobody'))).toEqual([]);

        // A recount clears the flag; the admitted set stays.
        await store.updateSchemaCap(p, 'c', [], false);
        expect(await store.getSchemaCap(p, 'c')).toEqual({
          admittedCount: 1,
          admitted: ['a'],
          capped: false,
        });
        expect(await store.listCappedCollections(p)).toEqual([
          { projectId: p, collection: 'naïve 日本' },
        ]);
        expect(await store.listCappedCollections(q)).toEqual(theirs);
      });
    });
  });
}
