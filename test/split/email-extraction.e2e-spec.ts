/**
 * Emailed extractions in the split deployment: through nginx, an extraction
 * with `email` reaches a query process, which answers Keen's "Processing…"
 * at once, runs the job itself and sends the file to a real SMTP server
 * (smtp-server, with AUTH) started here. The attachment holds exactly the
 * synchronous extraction's events (ids and bodies), as JSON and as
 * gzip-compressed CSV; the query process that sent it counts it, the
 * ingest processes run no job. Runs on either event store.
 */
import { gunzipSync } from 'node:zlib';
import { http } from '../support/http';
import { scrape } from '../support/prometheus';
import { SmtpSink } from '../support/smtp-sink';
import { ProjectKeys, SplitStack, STACK_START_TIMEOUT_MS, waitFor } from '../support/split-stack';

jest.setTimeout(300_000);

const PROCESSING = { result: 'Processing. Check the specified email for the extraction results.' };
const EVENTS = 24;

describe('split deployment: emailed extraction on the query pool', () => {
  const smtp = new SmtpSink();
  let stack: SplitStack;
  let keys: ProjectKeys;
  const url = (rest: string) => `${stack.baseUrl}/3.0/projects/${keys.id}/${rest}`;

  beforeAll(async () => {
    await smtp.start();
    stack = await SplitStack.start({
      env: { ...smtp.env('split@example.com'), EXTRACTION_EMAIL_GZIP_BYTES: '2048' },
    });
    keys = await stack.createProject('email-extraction');
    const events = Array.from({ length: EVENTS }, (_, i) => ({
      n: i,
      city: ['Paris', 'Lyon, FR', 'a "quoted" town'][i % 3],
      user: { id: `u${i % 4}` },
      keen: { timestamp: new Date(Date.UTC(2024, 4, 1) + i * 1000).toISOString() },
    }));
    const res = await http('POST', url('events'), {
      key: keys.write_key,
      body: { orders: events },
    });
    expect(res.status).toBe(200);
    const stored = await waitFor(async () => {
      const count = await http('GET', url('queries/count?event_collection=orders'), {
        key: keys.read_key,
      });
      return count.body?.result === EVENTS;
    }, 60_000);
    expect(stored).toBe(true);
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    await stack?.stop();
    await smtp.stop();
  });

  const sentOn = async (ports: number[]) => {
    let total = 0;
    for (const port of ports) {
      const { scrape: s } = await scrape(`http://127.0.0.1:${port}/metrics`);
      total += s.value('tally_query_email_extractions_total', { outcome: 'sent' });
    }
    return total;
  };

  it('mails the extraction from a query process: JSON and gzip-compressed CSV equal the synchronous answer', async () => {
    const sync = await http('POST', url('queries/extraction'), {
      key: keys.read_key,
      body: { event_collection: 'orders' },
    });
    expect(sync.status).toBe(200);
    const expected = sync.body.result as Array<Record<string, any>>;
    expect(expected).toHaveLength(EVENTS);

    const json = await http('POST', url('queries/extraction'), {
      key: keys.read_key,
      body: { event_collection: 'orders', email: 'ops@example.com' },
    });
    expect([json.status, json.body]).toEqual([200, PROCESSING]);
    const mail = await smtp.take('ops@example.com', 60_000);
    expect(mail.from?.value[0].address).toBe('split@example.com');
    expect(mail.attachments).toHaveLength(1);
    const file = mail.attachments[0];
    expect(file.filename).toMatch(/\.json\.gz$/); // 24 events are over the 2 KB threshold
    const body = JSON.parse(gunzipSync(file.content).toString('utf8'));
    expect(body.result.map((e: any) => e.keen.id)).toEqual(expected.map((e) => e.keen.id));
    expect(body.result).toEqual(expected);

    const qs = new URLSearchParams({
      event_collection: 'orders',
      email: 'ops@example.com',
      content_type: 'text/csv',
      content_encoding: 'gzip',
      property_names: JSON.stringify(['keen.id', 'n', 'city']),
    });
    const csvAsk = await http('GET', url(`queries/extraction?${qs}`), { key: keys.read_key });
    expect([csvAsk.status, csvAsk.body]).toEqual([200, PROCESSING]);
    const csvMail = await smtp.take('ops@example.com', 60_000);
    const csvFile = csvMail.attachments[0];
    expect([csvFile.contentType, (csvFile.filename ?? '').endsWith('.csv.gz')]).toEqual([
      'application/gzip',
      true,
    ]);
    const lines = gunzipSync(csvFile.content).toString('utf8').split('\r\n');
    expect(lines[0]).toBe('keen.id,city,n');
    const quote = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    expect(lines.slice(1, -1)).toEqual(expected.map((e) => `${e.keen.id},${quote(e.city)},${e.n}`));
    expect(lines[lines.length - 1]).toBe('');

    // Sent by the query processes; the ingest processes never run a job.
    await waitFor(async () => (await sentOn(stack.ports.query)) === 2, 10_000, 100);
    expect(await sentOn(stack.ports.query)).toBe(2);
    expect(await sentOn(stack.ports.ingest)).toBe(0);
  });

  it('answers 400 to a bad address through nginx and sends nothing', async () => {
    const res = await http('POST', url('queries/extraction'), {
      key: keys.read_key,
      body: { event_collection: 'orders', email: 'ops@example.com;boss@example.com' },
    });
    expect([res.status, res.body.error_code]).toEqual([400, 'InvalidParameterError']);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received).toHaveLength(0);
  });
});
