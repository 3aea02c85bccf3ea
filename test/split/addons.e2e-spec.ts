/**
 * keen.addons through nginx: `${keen.ip}` is the address nginx accepted the
 * client's connection from (it sends it upstream as X-Real-IP and
 * X-Forwarded-For, overwriting the client's own), never a header the client
 * sent; `${keen.user_agent}` is the client's User-Agent. The ingest pool
 * enriches before it queues, so the worker stores the enriched event and the
 * schema counters count its properties. The client connects from 127.0.0.2,
 * while nginx reaches the ingest pool from 127.0.0.1: only the edge's view
 * can give 127.0.0.2. Runs on either event store.
 */
import * as nodeHttp from 'node:http';
import { nonZeroCounters, recountCounters } from '../support/counter-recount';
import { http } from '../support/http';
import { ProjectKeys, SplitStack, STACK_START_TIMEOUT_MS } from '../support/split-stack';

jest.setTimeout(300_000);

const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36';

/** A POST from a chosen local address (fetch cannot pick its source address). */
function postFrom(
  localAddress: string,
  url: string,
  key: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = nodeHttp.request(
      url,
      {
        method: 'POST',
        localAddress,
        headers: { ...headers, authorization: key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        let data = '';
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

describe('split deployment: add-ons and the client address nginx saw', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('addons');
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
  });

  it('fills ${keen.ip} with the address nginx saw, ignores client-sent proxy headers, and stores the enriched events; a replay re-creates them', async () => {
    const from = Date.now();
    const spoofed = { 'x-real-ip': '8.8.8.8', 'x-forwarded-for': '8.8.8.8', 'user-agent': UA };
    const addons = [
      { name: 'keen:ip_to_geo', input: { ip: 'ip' }, output: 'geo' },
      { name: 'keen:ua_parser', input: { ua_string: 'ua' }, output: 'tech' },
    ];
    const single = await postFrom(
      '127.0.0.2',
      stack.url(keys.id, '/events/visits'),
      keys.write_key,
      { marker: 'edge', ip: '${keen.ip}', ua: '${keen.user_agent}', keen: { addons } },
      spoofed,
    );
    expect(single).toEqual({ status: 201, body: { created: true } });
    // A literal public address is placed by the ingest pool's own copy of the database.
    const batch = await postFrom(
      '127.0.0.3',
      stack.url(keys.id, '/events'),
      keys.write_key,
      {
        visits: [
          { marker: 'public', ip: '81.2.69.142', seen_from: '${keen.ip}', keen: { addons: [addons[0]] } },
          { marker: 'bad', keen: { addons: [{ name: 'keen:ip_to_geo', input: {}, output: 'geo' }] } },
        ],
      },
      {},
    );
    expect(batch.status).toBe(200);
    expect(batch.body.visits[0]).toEqual({ success: true });
    expect(batch.body.visits[1]).toMatchObject({ success: false, error: { name: 'InvalidAddonError' } });

    const docs = await stack.waitForMarkers(keys.id, 'visits', ['edge', 'public'], 120_000);
    const byMarker = Object.fromEntries(docs.map((d) => [d.e.marker, d.e]));
    expect(Object.keys(byMarker).sort()).toEqual(['edge', 'public']);

    const edge = byMarker.edge;
    expect(edge.ip).toBe('127.0.0.2');
    expect(edge.ua).toBe(UA);
    // A loopback address has no place: nothing is written for it.
    expect(edge.geo).toBeUndefined();
    expect(edge.tech).toEqual({
      browser: { family: 'Chrome', major: '120', minor: '0', patch: '6099' },
      os: { family: 'Mac OS X', major: '10', minor: '15', patch: '7', patch_minor: null },
      device: { family: 'Other' },
    });
    expect(Object.keys(edge.keen).sort()).toEqual(['created_at', 'id', 'timestamp']);

    const pub = byMarker.public;
    expect(pub.seen_from).toBe('127.0.0.3');
    expect(pub.geo).toEqual({
      city: 'London',
      province: 'England',
      country: 'United Kingdom',
      continent: 'Europe',
      postal_code: null,
      coordinates: [-0.0912, 51.5143],
    });

    const schema = await http('GET', stack.url(keys.id, '/events/visits'), { key: keys.read_key });
    expect(schema.status).toBe(200);
    expect(schema.body.properties).toMatchObject({
      ip: 'string',
      'geo.city': 'string',
      'geo.country': 'string',
      'geo.coordinates': 'list',
      'tech.browser.family': 'string',
      'tech.device.family': 'string',
      seen_from: 'string',
    });
    const counters = await stack.counterDoc(keys.id, 'visits');
    expect(nonZeroCounters(counters?.counts)).toEqual(recountCounters(docs));

    // Both events lost behind Tally's back: a replay of the edge journal (which
    // records the address and user agent nginx saw) re-creates them exactly.
    const to = Date.now() + 1;
    expect(await stack.loseEvents(keys.id, 'visits', docs.map((d) => d._id))).toBe(2);
    expect(await stack.replay(keys.id, from, to)).toMatchObject({
      requests: 2,
      inserted: 2,
      duplicates: 0,
      refused: 1,
    });
    const replayed = await stack.storedEvents(keys.id, 'visits');
    const byId = (list: typeof docs) => Object.fromEntries(list.map((d) => [d._id, d.e]));
    expect(byId(replayed)).toEqual(byId(docs));
  });
});
