import { loadConfig } from '@app/config';
import { EventBatch, JsonObject } from '@app/events';
import { IngestQueue } from '@app/queue';
import { CappedCollectionsCache } from '../capped-collections.cache';
import { IngestService } from '../ingest.service';
import { EventAddons } from './apply-addons';

const ADDONS: JsonObject[] = [
  { name: 'keen:ip_to_geo', input: { ip: 'ip_address' }, output: 'ip_geo_info' },
  { name: 'keen:ua_parser', input: { ua_string: 'user_agent' }, output: 'parsed_user_agent' },
  { name: 'keen:url_parser', input: { url: 'page.url' }, output: 'page.info' },
  { name: 'keen:referrer_parser', input: { referrer_url: 'referrer.url', page_url: 'page.url' }, output: 'referrer.info' },
  { name: 'keen:date_time_parser', input: { date_time: 'keen.timestamp' }, output: 'local_time' },
];
const client = {
  ip: '81.2.69.142',
  userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36',
};

/**
 * The write use case with the real add-ons (the packaged databases), above
 * the queue port: a full batch of auto-collector events is enriched in
 * slices, so other work gets the event loop while it runs.
 */
describe('IngestService with keen.addons', () => {
  const queued: EventBatch[] = [];
  const queue: IngestQueue = {
    enqueue: async (batch) => void queued.push(batch),
    ping: async () => undefined,
    close: async () => undefined,
  };
  const capped = { isCapped: () => false } as unknown as CappedCollectionsCache;
  const config = loadConfig('standalone', {});
  const service = new IngestService(config, queue, 's'.repeat(32), capped, undefined, new EventAddons());

  it('enriches a full batch while yielding the loop every few ms, with a bad declaration in its own slot', async () => {
    const total = config.limits.maxBatchEvents;
    const events: JsonObject[] = Array.from({ length: total }, (_, i) => ({
      n: i,
      ip_address: '${keen.ip}',
      user_agent: '${keen.user_agent}',
      page: { url: `https://shop.example.com/products/${i}?color=red` },
      referrer: { url: 'https://www.google.com/search?q=red+shoes' },
      keen: { timestamp: new Date(Date.UTC(2024, 2, 9) + i * 60_000).toISOString(), addons: ADDONS },
    }));
    events[7] = { n: 7, keen: { addons: [{ name: 'keen:nope', input: {}, output: 'x' }] } };

    // A first small batch reads the databases (an fs read) and warms the parsers up.
    const origin = { projectId: 'p', requestId: 'r', receivedAt: Date.now() };
    await service.recordBatch(origin, { views: events.slice(0, 10) }, 0, client);
    queued.length = 0;

    let longestGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    const result = await service.recordBatch(origin, { views: events }, 0, client);
    const elapsed = performance.now() - started;
    clearInterval(ticker);
    longestGap = Math.max(longestGap, performance.now() - last);

    expect(result.views).toHaveLength(total);
    expect(result.views[7]).toMatchObject({ success: false, error: { name: 'InvalidAddonError' } });
    expect(result.views.filter((r) => r.success)).toHaveLength(total - 1);
    const stored = queued.flatMap((b) => b.events);
    expect(stored).toHaveLength(total - 1);
    expect(stored[0].event).toMatchObject({
      ip_address: '81.2.69.142',
      ip_geo_info: { city: 'London', country: 'United Kingdom' },
      parsed_user_agent: { browser: { family: 'Chrome' } },
      page: { info: { domain: 'shop.example.com', path: '/products/0' } },
      referrer: { info: { medium: 'SEARCH', source: 'Google', term: 'red shoes' } },
      local_time: { year: 2024, month: 3, day_of_month: 9 },
    });
    // The work took far longer than any one pause of the loop.
    expect(elapsed).toBeGreaterThan(50);
    expect(longestGap).toBeLessThan(Math.max(30, elapsed / 4));
  });
});
