import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { CLI_MAIN, StandaloneServer } from '../support/standalone-server';

const run = promisify(execFile);

type Event = Record<string, any>;

/**
 * DELETE …/events/:collection/properties/:property through HTTP: the stored
 * events (read back with an extraction) lose exactly that property and keep
 * everything else, the schema stops listing it, and the counters equal an
 * exact recount.
 */
describe('standalone: property deletes', () => {
  const server = new StandaloneServer();
  let keys: { write_key: string; read_key: string; master_key: string };
  const base = () => `${server.url}/3.0/projects/default/events`;
  const propertyUrl = (collection: string, property: string) =>
    `${base()}/${collection}/properties/${encodeURIComponent(property)}`;

  const sent: Event[] = Array.from({ length: 40 }, (_, i) => ({
    n: i,
    price: i % 5 === 0 ? String(i) : i / 2,
    user: {
      id: `u${i % 7}`,
      ...(i % 3 === 0 ? { address: { city: ['Lyon', 'Oslo'][i % 2], zip: 1000 + i } } : {}),
      ...(i % 4 === 0 ? { address: null } : {}),
    },
    ...(i % 2 === 0 ? { tags: ['a', 'b'] } : {}),
    keen: { timestamp: new Date(Date.UTC(2024, 3, 1) + i * 60_000).toISOString() },
  }));

  beforeAll(async () => {
    await server.start();
    keys = server.keys!;
    const res = await http('POST', base(), {
      body: { purchases: sent, other: [{ user: { address: { city: 'Pune' } } }] },
      key: keys.write_key,
    });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const extraction = async (collection: string): Promise<Event[]> => {
    const res = await http(
      'GET',
      `${server.url}/3.0/projects/default/queries/extraction?event_collection=${collection}`,
      { key: keys.read_key },
    );
    expect(res.status).toBe(200);
    return (res.body.result as Event[]).sort((a, b) => a.n - b.n);
  };
  const schema = async (collection: string) =>
    (await http('GET', `${base()}/${collection}`, { key: keys.read_key })).body;
  const countersMatchRecount = () => {
    const contents = new SqliteContents(server.dataDir);
    try {
      expect(contents.counters('default')).toEqual(contents.recount('default'));
    } finally {
      contents.close();
    }
  };
  const withoutKeen = ({ keen: _keen, ...rest }: Event) => rest;

  it('requires the master key: 401 without a valid key, 403 with a write or read key', async () => {
    expect((await http('DELETE', propertyUrl('purchases', 'price'))).status).toBe(401);
    expect((await http('DELETE', propertyUrl('purchases', 'price'), { key: 'nope' })).status).toBe(
      401,
    );
    for (const key of [keys.write_key, keys.read_key]) {
      const res = await http('DELETE', propertyUrl('purchases', 'price'), { key });
      expect(res.status).toBe(403);
      expect(res.body.error_code).toEqual(expect.any(String));
    }
    expect((await extraction('purchases')).every((e) => 'price' in e)).toBe(true);
  });

  it('answers bad names with a Keen-shaped 400, keen with a 403, and changes nothing', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['purchases', '$price', /cannot start with the '\$' symbol/],
      ['purchases', 'user..id', /must not be empty/],
      ['purchases', 'x'.repeat(257), /<= 256 characters/],
      ['_purchases', 'price', /Invalid collection name/],
    ];
    for (const [collection, property, message] of cases) {
      const res = await http('DELETE', propertyUrl(collection, property), { key: keys.master_key });
      expect({ property, status: res.status }).toEqual({ property, status: 400 });
      expect(res.body).toMatchObject({
        message: expect.stringMatching(message),
        error_code: expect.any(String),
      });
    }
    // keen and its sub-properties are the server's: 403 as Keen answers, not a bad name.
    for (const property of ['keen', 'keen.timestamp', 'keen.id']) {
      const res = await http('DELETE', propertyUrl('purchases', property), { key: keys.master_key });
      expect({ property, status: res.status }).toEqual({ property, status: 403 });
      expect(res.body).toMatchObject({
        message: expect.stringMatching(/keen and its sub-properties are set by the server/),
        error_code: 'KeenPropertyDeleteForbiddenError',
      });
    }
    // A long but valid name is routed and validated, not refused by the router.
    const long = await http('DELETE', propertyUrl('purchases', `user.${'y'.repeat(256)}`), {
      key: keys.master_key,
    });
    expect(long.status).toBe(204);
    expect(long.headers.get('x-tally-events-updated')).toBe('0');
    const stored = await extraction('purchases');
    expect(stored.map(withoutKeen)).toEqual(sent.map(withoutKeen));
    countersMatchRecount();
  });

  it('behaves like the event delete for an unknown project or collection', async () => {
    const project = `${server.url}/3.0/projects/nope/events/purchases`;
    const events = await http('DELETE', project, { key: keys.master_key });
    const property = await http('DELETE', `${project}/properties/price`, { key: keys.master_key });
    expect(property.status).toBe(404);
    expect(property.status).toBe(events.status);
    expect(property.body.error_code).toBe(events.body.error_code);

    const res = await http('DELETE', propertyUrl('never_written', 'price'), {
      key: keys.master_key,
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('x-tally-events-updated')).toBe('0');
  });

  it('removes a nested object with its sub-properties from every event and keeps everything else', async () => {
    const res = await http('DELETE', propertyUrl('purchases', 'user.address'), {
      key: keys.master_key,
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('x-tally-pool')).toBe('standalone');
    const carriers = sent.filter((e) => 'address' in e.user).length;
    expect(res.headers.get('x-tally-events-scanned')).toBe(String(sent.length));
    expect(res.headers.get('x-tally-events-updated')).toBe(String(carriers));
    expect(res.headers.get('x-tally-events-skipped')).toBe('0');

    const stored = await extraction('purchases');
    expect(stored.map(withoutKeen)).toEqual(
      sent.map((e) => {
        const { address: _address, ...user } = e.user;
        return withoutKeen({ ...e, user });
      }),
    );
    // keen.* is untouched: same timestamps, ids still present.
    expect(stored.map((e) => e.keen.timestamp)).toEqual(sent.map((e) => e.keen.timestamp));
    expect(stored.every((e) => typeof e.keen.id === 'string')).toBe(true);

    const view = await schema('purchases');
    expect(Object.keys(view.property_types).filter((p) => p.startsWith('user.address'))).toEqual(
      [],
    );
    expect(view.properties['user.id']).toBe('string');
    const gone = await http('GET', propertyUrl('purchases', 'user.address.city'), {
      key: keys.read_key,
    });
    expect(gone.status).toBe(404);
    // The other collection keeps its own user.address.
    expect((await schema('other')).properties['user.address.city']).toBe('string');

    const recount = await http('POST', `${base()}/purchases/schema/recalculate`, {
      key: keys.master_key,
    });
    expect(recount.status).toBe(200);
    expect(recount.body).toEqual({ events: sent.length, corrected: 0 });
    countersMatchRecount();
  });

  it('removes a leaf holding several types, and a second delete of it finds nothing', async () => {
    const before = await schema('purchases');
    expect(before.property_types.price).toEqual({ num: 32, string: 8 });
    const res = await http(
      'DELETE',
      `${propertyUrl('purchases', 'price')}?api_key=${keys.master_key}`,
    );
    expect(res.status).toBe(204);
    expect(res.headers.get('x-tally-events-updated')).toBe(String(sent.length));
    const stored = await extraction('purchases');
    expect(stored.some((e) => 'price' in e)).toBe(false);
    expect(stored.map((e) => e.n)).toEqual(sent.map((e) => e.n));
    expect(stored.filter((e) => 'tags' in e).map((e) => e.tags)).toEqual(
      sent.filter((e) => 'tags' in e).map((e) => e.tags),
    );
    expect((await schema('purchases')).property_types.price).toBeUndefined();

    const again = await http('DELETE', propertyUrl('purchases', 'price'), { key: keys.master_key });
    expect(again.status).toBe(204);
    expect(again.headers.get('x-tally-events-updated')).toBe('0');
    const recount = await http('POST', `${base()}/purchases/schema/recalculate`, {
      key: keys.master_key,
    });
    expect(recount.body).toEqual({ events: sent.length, corrected: 0 });
    countersMatchRecount();
  });
  it('removes a property from the CLI, with a dry run that only counts the events carrying it', async () => {
    const env = {
      ...process.env,
      DATA_DIR: server.dataDir,
      TALLY_STACK_FILE: '/nonexistent/stack.json',
    };
    const carriers = sent.filter((e) => 'tags' in e).length;
    const args = [CLI_MAIN, 'delete-property', 'default', 'purchases', 'tags'];
    const dry = await run(process.execPath, [...args, '--dry-run', '--json'], { env });
    expect(JSON.parse(dry.stdout)).toEqual({ scanned: sent.length, updated: carriers, skipped: 0 });
    expect((await extraction('purchases')).filter((e) => 'tags' in e)).toHaveLength(carriers);

    const real = await run(process.execPath, [...args, '--json'], { env });
    expect(JSON.parse(real.stdout)).toEqual({
      scanned: sent.length,
      updated: carriers,
      skipped: 0,
    });
    const stored = await extraction('purchases');
    expect(stored.some((e) => 'tags' in e)).toBe(false);
    expect(stored.map((e) => e.user.id)).toEqual(sent.map((e) => e.user.id));
    expect((await schema('purchases')).property_types.tags).toBeUndefined();
    countersMatchRecount();

    await expect(
      run(process.execPath, [CLI_MAIN, 'delete-property', 'default', 'purchases', 'keen.id'], {
        env,
      }),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/keen and its sub-properties are set by the server/),
    });
  });
});
