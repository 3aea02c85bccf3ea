import { JsonObject } from '@app/events';
import { forEachProperty, isReservedPath } from '@app/schema';
import { http } from '../support/http';
import { keenClients } from '../support/keen-clients';
import { StandaloneServer } from '../support/standalone-server';

const CAP = 8;
const DAY = Date.UTC(2024, 5, 1);

/**
 * The schema property cap through HTTP on the standalone server
 * (SCHEMA_MAX_PROPERTIES=8): every event is stored and extracted field for
 * field, the schema lists exactly the admitted properties with exact counts,
 * write responses and schema views carry the flag (and Keen's own client
 * accepts those responses), a recount changes nothing, a restart keeps it.
 */
describe('standalone: schema property cap', () => {
  const server = new StandaloneServer(undefined, { SCHEMA_MAX_PROPERTIES: String(CAP) });
  const base = () => `${server.url}/3.0/projects/default`;
  const write = () => server.keys!.write_key;
  const read = () => server.keys!.read_key;
  /** Every body sent to `wide`, in the order the server received them. */
  const sent: JsonObject[] = [];
  let n = 0;
  const body = (props: JsonObject): JsonObject => {
    const i = n++;
    return { n: i, ...props, keen: { timestamp: new Date(DAY + i * 60_000).toISOString() } };
  };

  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  /** The cap written out event by event: a path is admitted when first met while fewer than CAP are. */
  function expectedSchema(): { properties: Record<string, number>; admitted: string[] } {
    const admitted: string[] = [];
    const counts: Record<string, number> = {};
    for (const event of sent) {
      // As stored: the server adds keen.created_at and keen.id.
      const stored = {
        ...event,
        keen: { ...(event.keen as JsonObject), created_at: new Date(DAY).toISOString(), id: 'id' },
      };
      forEachProperty(stored, (path, type) => {
        if (!isReservedPath(path) && !admitted.includes(path)) {
          if (admitted.length >= CAP) return;
          admitted.push(path);
        }
        counts[`${path}:${type}`] = (counts[`${path}:${type}`] ?? 0) + 1;
      });
    }
    return { properties: counts, admitted };
  }

  async function schemaOf(collection: string) {
    const res = await http('GET', `${base()}/events/${collection}`, { key: read() });
    expect(res.status).toBe(200);
    return res.body;
  }

  function flatTypes(view: {
    property_types: Record<string, Record<string, number>>;
  }): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [path, types] of Object.entries(view.property_types)) {
      for (const [type, count] of Object.entries(types)) out[`${path}:${type}`] = count;
    }
    return out;
  }

  it("flags the write that crosses the cap and every later one; Keen's client accepts the responses", async () => {
    const under = body({ a: 1, b: 'x', user: { id: 1, plan: 'pro' } });
    const first = await http('POST', `${base()}/events/wide`, { key: write(), body: under });
    expect(first).toMatchObject({ status: 201, body: { created: true } });
    expect(first.body.schema_capped).toBeUndefined();
    sent.push(under);

    // n, a, b, user, user.id, user.plan are admitted (6); this batch brings c, d (8), then e, f, f.g.
    const batch = [
      body({ c: true, a: 2 }),
      body({ d: [1, 2], e: null }),
      body({ f: { g: 3 }, a: 'three' }),
    ];
    const crossing = await http('POST', `${base()}/events`, {
      key: write(),
      body: { wide: batch, narrow: [{ only: 1 }, { $bad: 1 }] },
    });
    expect(crossing.status).toBe(200);
    expect(crossing.body.wide).toEqual([
      { success: true, schema_capped: true },
      { success: true, schema_capped: true },
      { success: true, schema_capped: true },
    ]);
    expect(crossing.body.narrow[0]).toEqual({ success: true });
    expect(crossing.body.narrow[1]).toMatchObject({
      success: false,
      error: { name: 'InvalidPropertyNameError' },
    });
    sent.push(...batch);

    const after = body({ a: 4, brand_new: 'x', user: { id: 2, extra: true } });
    const single = await http('POST', `${base()}/events/wide`, { key: write(), body: after });
    expect(single).toMatchObject({ status: 201, body: { created: true, schema_capped: true } });
    sent.push(after);

    const { tracking, restore } = keenClients(server);
    try {
      const viaSdk = body({ b: 'sdk', sdk_only: 1 });
      expect(await tracking.recordEvent('wide', viaSdk)).toEqual({
        created: true,
        schema_capped: true,
      });
      sent.push(viaSdk);
      const viaSdkBatch = [body({ a: 5 }), body({ sdk_batch: 'x' })];
      const res = await tracking.recordEvents({ wide: viaSdkBatch });
      expect(res.wide).toEqual([
        { success: true, schema_capped: true },
        { success: true, schema_capped: true },
      ]);
      sent.push(...viaSdkBatch);
    } finally {
      restore();
    }
  });

  it('stores every event field for field, refused properties included', async () => {
    const res = await http('POST', `${base()}/queries/extraction`, {
      key: read(),
      body: { event_collection: 'wide' },
    });
    expect(res.status).toBe(200);
    const got = (res.body.result as JsonObject[]).sort((x, y) => (x.n as number) - (y.n as number));
    expect(got).toHaveLength(sent.length);
    got.forEach((event, i) => {
      const { keen, ...fields } = event as JsonObject & { keen: JsonObject };
      const { keen: sentKeen, ...sentFields } = sent[i] as JsonObject & { keen: JsonObject };
      expect(fields).toEqual(sentFields);
      expect(keen.timestamp).toBe(sentKeen.timestamp);
      expect(typeof keen.id).toBe('string');
    });
    // A refused property is queryable like any other.
    const count = await http('POST', `${base()}/queries/count`, {
      key: read(),
      body: {
        event_collection: 'wide',
        filters: [{ property_name: 'f.g', operator: 'eq', property_value: 3 }],
      },
    });
    expect(count.body).toEqual({ result: 1 });
  });

  it('lists exactly the admitted properties with exact counts, and says the collection is capped', async () => {
    const expected = expectedSchema();
    expect(expected.admitted).toEqual(['n', 'a', 'b', 'user', 'user.id', 'user.plan', 'c', 'd']);
    const view = await schemaOf('wide');
    expect(view.schema_capped).toBe(true);
    expect(view.max_properties).toBe(CAP);
    expect(flatTypes(view)).toEqual(expected.properties);
    const leaves = expected.admitted.filter((p) => p !== 'user');
    expect(Object.keys(view.properties).sort()).toEqual(
      [...leaves, 'keen.created_at', 'keen.id', 'keen.timestamp'].sort(),
    );

    const narrow = await schemaOf('narrow');
    expect(narrow.schema_capped).toBeUndefined();
    expect(narrow.max_properties).toBeUndefined();

    const list = await http('GET', `${base()}/events`, { key: read() });
    const byName = Object.fromEntries(
      (list.body as Array<{ name: string }>).map((c) => [c.name, c]),
    );
    expect(byName.wide).toEqual(view);
    expect(byName.narrow).toEqual(narrow);
  });

  it('a recount agrees with the counters and keeps the flag', async () => {
    const before = await schemaOf('wide');
    const res = await http('POST', `${base()}/events/wide/schema/recalculate`, {
      key: server.keys!.master_key,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ events: sent.length, corrected: 0 });
    expect(await schemaOf('wide')).toEqual(before);
  });

  it('keeps the flag and the admitted set across a restart', async () => {
    await server.stop();
    await server.start();
    const again = body({ post_restart: 1, a: 6 });
    const res = await http('POST', `${base()}/events/wide`, { key: write(), body: again });
    expect(res).toMatchObject({ status: 201, body: { created: true, schema_capped: true } });
    sent.push(again);
    const view = await schemaOf('wide');
    expect(flatTypes(view)).toEqual(expectedSchema().properties);
    expect(view.schema_capped).toBe(true);
  });
});
