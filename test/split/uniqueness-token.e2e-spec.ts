/**
 * keen.uniqueness_token on the split stack (issue 15, acceptance 3): clients
 * send the same tokens at once through nginx, as single POSTs and in batches,
 * each with its own body, while the worker is killed with SIGKILL holding
 * jobs; then the edge journal is replayed. Every token is stored once, with
 * one of the bodies sent for it, and the schema counters equal a recount of
 * what is stored (each client's body has a property of its own, so counting
 * any body but the stored one shows). Exact by construction: an event with a
 * token is named by (project, collection, token) alone, and the store inserts
 * by keen.id (docs/queue.md). Runs on either event store.
 */
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http } from '../support/http';
import {
  ProjectKeys,
  sleep,
  SplitStack,
  STACK_START_TIMEOUT_MS,
  STORE_AGREES,
  StoredDoc,
  waitFor,
} from '../support/split-stack';

jest.setTimeout(300_000);

const CLIENTS = 4;
const COLLECTION = 'uniq';

describe('split deployment: uniqueness tokens under concurrency, a killed worker and replay', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('uniqueness-token');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  const url = (rest: string) => `${stack.baseUrl}/3.0/projects/${keys.id}/${rest}`;
  /** token -> the bodies sent for it (keen object left out), as JSON text. */
  const sentBodies = new Map<string, Set<string>>();
  /** Answers other than a full acknowledgement (a status, or a batch entry refused). */
  const problems: string[] = [];
  let requests = 0;

  // `marker` is the token, so the stack's helpers find a token's event by it.
  function bodyOf(client: number, token: string, attempt: string): Record<string, unknown> {
    const fields = {
      marker: token,
      client,
      attempt,
      [`only_client_${client}`]: client % 2 === 0 ? `even-${client}` : client,
    };
    const sent = sentBodies.get(token) ?? new Set<string>();
    sent.add(JSON.stringify(fields));
    sentBodies.set(token, sent);
    return { ...fields, keen: { uniqueness_token: token } };
  }

  async function post(rest: string, body: unknown, expectedEvents: number): Promise<void> {
    requests++;
    const res = await http('POST', url(rest), { body, key: keys.write_key });
    const acked =
      res.status === 201
        ? 1
        : res.status === 200
          ? (res.body[COLLECTION] as Array<{ success: boolean }>).filter((r) => r.success).length
          : 0;
    if (acked !== expectedEvents) problems.push(`${res.status} ${res.text.slice(0, 200)}`);
  }

  /**
   * One round: every client sends the round's four tokens at once (two as
   * single POSTs, two in a batch that also carries a second body for one of
   * them) and repeats a token of the previous round, so a token reaches the
   * worker in several jobs, at several times.
   */
  async function round(r: number): Promise<void> {
    const t = (k: number, of = r) => `r${of}-t${k}`;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const batch = [
          bodyOf(c, t(2), 'batch'),
          bodyOf(c, t(3), 'batch'),
          bodyOf(c, t(2), 'batch-again'),
        ];
        if (r > 0) batch.push(bodyOf(c, t(0, r - 1), 'next-round'));
        await Promise.all([
          post(`events/${COLLECTION}`, bodyOf(c, t(0), 'single'), 1),
          post(`events/${COLLECTION}`, bodyOf(c, t(1), 'single'), 1),
          post('events', { [COLLECTION]: batch }, batch.length),
        ]);
      }),
    );
  }

  it('stores each token once and counts it once through a worker kill and a replay', async () => {
    const from = Date.now() - 1;
    let running = true;
    let rounds = 0;
    const sender = (async () => {
      while (running) {
        await round(rounds++);
        // Paced: the worker holds jobs all along, and the spec stays lean.
        await sleep(100);
      }
    })();

    await sleep(2_000);
    // Killed while it holds jobs. A job seen active can finish before a kill
    // lands, so the worker is frozen (SIGSTOP) first and the jobs it holds
    // are counted while it cannot finish any; none held: thawed and tried again.
    let inFlight = 0;
    for (let attempt = 0; attempt < 50 && inFlight === 0; attempt++) {
      await waitFor(async () => (await stack.activeJobs()) > 0, 15_000, 20);
      stack.signal('worker-1', 'SIGSTOP');
      inFlight = await stack.activeJobs();
      if (inFlight === 0) stack.signal('worker-1', 'SIGCONT');
    }
    stack.signal('worker-1', 'SIGKILL');
    await sleep(2_000);
    await stack.startService('worker-1');
    await sleep(2_000);
    running = false;
    await sender;
    const to = Date.now() + 1;

    expect(problems).toEqual([]);
    const tokens = [...sentBodies.keys()];
    expect(tokens).toHaveLength(rounds * 4);

    // The killed worker's jobs come back when their lock expires (30 s); wait
    // for the queue to drain so every delivery, redelivered ones included, is done.
    const drainStart = Date.now();
    await stack.waitForMarkers(keys.id, COLLECTION, tokens, 120_000);
    await waitFor(async () => (await stack.queuedJobs()) === 0, 120_000, 500);
    const docs = await stack.storedEvents(keys.id, COLLECTION);
    process.stdout.write(
      `uniqueness-token (${stack.store}): rounds=${rounds} requests=${requests} ` +
        `events sent=${[...sentBodies.values()].reduce((n, s) => n + s.size, 0)} distinct bodies, ` +
        `tokens=${tokens.length} stored=${docs.length} jobs in flight at the kill=${inFlight} ` +
        `drainMs=${Date.now() - drainStart}\n`,
    );
    expect(inFlight).toBeGreaterThan(0);
    await expectOncePerToken(docs, tokens);

    // Replay of the whole window: every event is already stored under its token's id.
    const replayed = await stack.replay(keys.id, from, to);
    expect(replayed).toMatchObject({ requests, inserted: 0, refused: 0, unreadable: 0 });
    const after = await stack.storedEvents(keys.id, COLLECTION);
    expect(byId(after)).toEqual(byId(docs));
    await expectOncePerToken(after, tokens);
  });

  function byId(docs: StoredDoc[]): Record<string, unknown> {
    return Object.fromEntries(docs.map((d) => [d._id, { t: d.t.getTime(), e: d.e }]));
  }

  async function expectOncePerToken(docs: StoredDoc[], tokens: string[]): Promise<void> {
    const perToken = new Map<string, StoredDoc[]>();
    for (const d of docs) perToken.set(d.e.marker, [...(perToken.get(d.e.marker) ?? []), d]);
    expect(tokens.filter((t) => perToken.get(t)?.length !== 1)).toEqual([]);
    expect(docs).toHaveLength(tokens.length);
    // Each stored event is one of the bodies sent for its token, as sent.
    const notSent = docs.filter((d) => {
      const { keen, ...fields } = d.e;
      return (
        keen?.uniqueness_token !== d.e.marker ||
        keen?.id !== d._id ||
        !sentBodies.get(d.e.marker)?.has(JSON.stringify(fields))
      );
    });
    expect(notSent.map((d) => d.e.marker)).toEqual([]);
    expect(docs.filter((d) => d.m !== undefined)).toEqual([]);
    expect(await stack.storeAgreement(keys.id, COLLECTION, docs)).toEqual(STORE_AGREES);
    // (A delivery killed before it inserted anything may leave its marker in
    // the counter document's pending list: it carries no events and no deltas.)
    const counters = await stack.counterDoc(keys.id, COLLECTION);
    const expected = recountCounters(docs);
    expect(expected.marker).toEqual({ string: tokens.length });
    expect(nonZeroCounters(counters?.counts)).toEqual(expected);
  }
});
