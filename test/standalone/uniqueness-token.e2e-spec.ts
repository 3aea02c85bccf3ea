import { http } from '../support/http';
import { SqliteContents } from '../support/sqlite-contents';
import { StandaloneServer } from '../support/standalone-server';

/**
 * keen.uniqueness_token on the standalone server: clients racing with the
 * same tokens (single POSTs and batches, each client with its own body and
 * its own extra property) get success every time, and each token is stored
 * once; the schema counters count the one stored body, so they equal a
 * recount. A later retry (another receipt time, another timestamp, another
 * body) still finds the token taken and leaves the first stored event as it is.
 */
describe('standalone: uniqueness tokens', () => {
  const server = new StandaloneServer();
  const CLIENTS = 8;
  const SINGLE_TOKENS = ['single-a', 'single-b', 'single-c'];
  const BATCH_TOKENS = ['batch-a', 'batch-b', 'batch-c'];
  const ALL_TOKENS = [...SINGLE_TOKENS, ...BATCH_TOKENS];

  beforeAll(() => server.start());
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const post = (rest: string, body: unknown) =>
    http('POST', `${server.url}/3.0/projects/default/${rest}`, {
      body,
      key: server.keys!.write_key,
    });

  // Each client's body differs in value and in shape (a property only it
  // sends, of a type that depends on the client), so counters that counted
  // any body but the stored one would differ from the recount.
  const bodyOf = (client: number, token: string, attempt = 'race', timestamp?: string) => ({
    token_name: token,
    client,
    attempt,
    [`only_client_${client}`]: client % 2 === 0 ? 'even' : client,
    keen: timestamp ? { uniqueness_token: token, timestamp } : { uniqueness_token: token },
  });

  const withoutKeen = (event: Record<string, unknown>) => {
    const { keen: _keen, ...rest } = event;
    return rest;
  };

  it('stores each token once under concurrent clients, counts it once, and keeps it against later retries', async () => {
    const client = async (c: number) => {
      const singles = SINGLE_TOKENS.map((t) => post('events/uniq', bodyOf(c, t)));
      // The batch carries every batch token, one of them twice (two different
      // bodies in one request), plus an event without a token (stored per client).
      const batch = post('events', {
        uniq: [
          ...BATCH_TOKENS.map((t) => bodyOf(c, t)),
          bodyOf(c, BATCH_TOKENS[0], 'same-batch'),
          { token_name: 'none', client: c },
        ],
      });
      return Promise.all([...singles, batch]);
    };
    const answers = (
      await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)))
    ).flat();
    for (const a of answers) {
      if (Array.isArray(a.body?.uniq)) {
        expect(a.status).toBe(200);
        expect(a.body.uniq).toEqual(
          Array.from({ length: BATCH_TOKENS.length + 2 }, () => ({ success: true })),
        );
      } else {
        expect(a.status).toBe(201);
        expect(a.body).toEqual({ created: true });
      }
    }

    // The same token in another collection is another event.
    expect((await post('events/uniq_other', bodyOf(0, SINGLE_TOKENS[0]))).status).toBe(201);

    const contents = new SqliteContents(server.dataDir);
    let firstStored: Map<string, { id: string; event: Record<string, unknown> }>;
    try {
      const stored = contents.events('default', 'uniq');
      const ofToken = (t: string) => stored.filter((e) => e.event.token_name === t);
      for (const t of ALL_TOKENS) expect([t, ofToken(t).length]).toEqual([t, 1]);
      expect(
        ofToken('none')
          .map((e) => e.event.client)
          .sort(),
      ).toEqual(Array.from({ length: CLIENTS }, (_, c) => c));
      expect(stored).toHaveLength(ALL_TOKENS.length + CLIENTS);

      firstStored = new Map();
      for (const t of ALL_TOKENS) {
        const [e] = ofToken(t);
        // Whichever client committed first, its body is stored as it sent it.
        const c = e.event.client as number;
        const sent = [bodyOf(c, t), bodyOf(c, t, 'same-batch')].map((b) => withoutKeen(b));
        expect(sent).toContainEqual(withoutKeen(e.event));
        expect(e.event.keen).toMatchObject({ uniqueness_token: t, id: e.id });
        firstStored.set(t, { id: e.id, event: e.event });
      }
      expect(new Set([...firstStored.values()].map((e) => e.id)).size).toBe(ALL_TOKENS.length);

      const other = contents.events('default', 'uniq_other');
      expect(other).toHaveLength(1);
      expect(other[0].id).not.toBe(firstStored.get(SINGLE_TOKENS[0])!.id);

      expect(contents.counters('default')).toEqual(contents.recount('default'));
    } finally {
      contents.close();
    }

    // Retries later: a receipt time seconds later (no timestamp of their own),
    // a timestamp a minute later, and one 30 days later, each with a new body.
    await new Promise((r) => setTimeout(r, 1_100));
    const minuteLater = new Date(Date.now() + 60_000).toISOString();
    const monthLater = new Date(Date.now() + 30 * 86_400_000).toISOString();
    for (const t of ALL_TOKENS) {
      expect((await post('events/uniq', bodyOf(100, t, 'retry-no-timestamp'))).status).toBe(201);
      const late = bodyOf(101, t, 'retry-minute-later', minuteLater);
      const monthly = bodyOf(102, t, 'retry-month-later', monthLater);
      const batch = await post('events', { uniq: [late, monthly] });
      expect(batch.status).toBe(200);
      expect(batch.body).toEqual({ uniq: [{ success: true }, { success: true }] });
    }

    const after = new SqliteContents(server.dataDir);
    try {
      const stored = after.events('default', 'uniq');
      expect(stored).toHaveLength(ALL_TOKENS.length + CLIENTS);
      for (const t of ALL_TOKENS) {
        const kept = stored.filter((e) => e.event.token_name === t);
        // The first stored event stays, body and timestamp untouched.
        expect(kept).toEqual([{ collection: 'uniq', ...firstStored.get(t)! }]);
      }
      expect(after.counters('default')).toEqual(after.recount('default'));
    } finally {
      after.close();
    }

    // The count query agrees: one event per token.
    const count = await http(
      'GET',
      `${server.url}/3.0/projects/default/queries/count?event_collection=uniq&filters=${encodeURIComponent(
        JSON.stringify([
          { property_name: 'keen.uniqueness_token', operator: 'exists', property_value: true },
        ]),
      )}`,
      { key: server.keys!.read_key },
    );
    expect(count.status).toBe(200);
    expect(count.body).toEqual({ result: ALL_TOKENS.length });
  });

  it('answers a bad token with a 400 on a single POST and a per-event error in a batch', async () => {
    const tooLong = 'x'.repeat(257);
    const single = await post('events/uniq_bad', { n: 1, keen: { uniqueness_token: 42 } });
    expect(single.status).toBe(400);
    expect(single.body).toMatchObject({ error_code: 'InvalidPropertyValueError' });
    expect(single.body.message).toContain('keen.uniqueness_token');

    const batch = await post('events', {
      uniq_bad: [
        { n: 2, keen: { uniqueness_token: tooLong } },
        { n: 3, keen: { uniqueness_token: 'fine' } },
        { n: 4, keen: { uniqueness_token: '' } },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.uniq_bad[0]).toMatchObject({
      success: false,
      error: {
        name: 'InvalidPropertyValueError',
        description: expect.stringContaining('at most 256'),
      },
    });
    expect(batch.body.uniq_bad[1]).toEqual({ success: true });
    expect(batch.body.uniq_bad[2]).toMatchObject({
      success: false,
      error: { name: 'InvalidPropertyValueError' },
    });

    const contents = new SqliteContents(server.dataDir);
    try {
      expect(contents.events('default', 'uniq_bad').map((e) => e.event.n)).toEqual([3]);
    } finally {
      contents.close();
    }
  });
});
