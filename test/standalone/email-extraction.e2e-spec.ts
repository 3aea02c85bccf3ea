import { gunzipSync } from 'node:zlib';
import { ParsedMail } from 'mailparser';
import { http } from '../support/http';
import { scrape } from '../support/prometheus';
import { BOUNCING_DOMAIN, SmtpSink } from '../support/smtp-sink';
import { StandaloneServer } from '../support/standalone-server';

const PROCESSING = { result: 'Processing. Check the specified email for the extraction results.' };
const GZIP_ABOVE = 4096;
const DAY = Date.UTC(2024, 2, 1);

// Values a CSV writer must quote or keep apart: commas, quotes, line breaks,
// edge blanks, non-ASCII, lists, nested objects, null and absent properties.
const events = Array.from({ length: 40 }, (_, i) => ({
  n: i,
  price: i * 1.25,
  paid: i % 3 === 0,
  note: ['plain', 'a, b', 'say "hi"', 'two\nlines', ' edge ', 'héllo ✓', '=1+1'][i % 7],
  user: { id: `u${i % 5}`, plan: i % 2 ? 'pro' : null, ...(i % 4 === 0 ? { tags: ['x', i] } : {}) },
  ...(i % 6 === 0 ? { coupon: 'SPRING' } : {}),
  keen: { timestamp: new Date(DAY + i * 60_000).toISOString() },
}));

/** RFC 4180 reader, written apart from the server's writer: rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

/** An event's cells as the documented CSV rule reads (docs/keen-compatibility.md). */
function cells(event: Record<string, unknown>, path = '', out = new Map<string, string>()) {
  for (const [key, value] of Object.entries(event)) {
    const p = path ? `${path}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      cells(value as Record<string, unknown>, p, out);
    } else {
      out.set(p, value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));
    }
  }
  return out;
}

function onlyAttachment(mail: ParsedMail) {
  expect(mail.attachments).toHaveLength(1);
  return mail.attachments[0];
}

/**
 * Emailed extractions on the standalone server, received by a real SMTP
 * server (smtp-server, with AUTH) and read with mailparser: the attached
 * file, as JSON, CSV and gzip, holds exactly the synchronous extraction's
 * events; the request is answered with Keen's "Processing…" result; a
 * server without SMTP settings and bad addresses answer 400; the project
 * cap answers 429; a refused recipient is a counted, logged failure.
 */
describe('standalone: emailed extraction', () => {
  const smtp = new SmtpSink();
  let server: StandaloneServer;
  const base = () => `${server.url}/3.0/projects/default`;
  const read = () => server.keys!.read_key;

  beforeAll(async () => {
    await smtp.start();
    server = new StandaloneServer(undefined, {
      ...smtp.env(),
      EXTRACTION_EMAIL_GZIP_BYTES: String(GZIP_ABOVE),
      LOG_LEVEL: 'info',
    });
    await server.start();
    const res = await http('POST', `${base()}/events`, {
      key: server.keys!.write_key,
      body: { purchases: events },
    });
    expect(res.status).toBe(200);
    expect(res.body.purchases.every((r: { success: boolean }) => r.success)).toBe(true);
  });
  afterAll(async () => {
    await server?.stop();
    server?.remove();
    await smtp.stop();
  });

  async function synchronous(params: Record<string, unknown>) {
    const res = await http('POST', `${base()}/queries/extraction`, { key: read(), body: params });
    expect(res.status).toBe(200);
    return res.body.result as Array<Record<string, any>>;
  }

  it('mails the JSON file of the extraction: the same events, ids and bodies, as the synchronous answer', async () => {
    const params = {
      event_collection: 'purchases',
      timeframe: { start: '2024-03-01T00:00:00Z', end: '2024-03-02T00:00:00Z' },
    };
    const expected = await synchronous(params);
    expect(expected).toHaveLength(events.length);

    const res = await http('POST', `${base()}/queries/extraction`, {
      key: read(),
      body: { ...params, email: 'analyst@example.com' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(PROCESSING);

    const mail = await smtp.take('analyst@example.com');
    expect(mail.from?.value[0].address).toBe('tally@example.com');
    expect(mail.subject).toBe(`Tally extraction of "purchases": ${events.length} events`);
    const file = onlyAttachment(mail);
    expect(file.contentType).toBe('application/gzip'); // 40 events are over the 4 KB threshold
    expect(file.filename).toMatch(/^extraction-purchases-.*\.json\.gz$/);
    const body = JSON.parse(gunzipSync(file.content).toString('utf8'));
    expect(body.result.map((e: any) => e.keen.id)).toEqual(expected.map((e) => e.keen.id));
    expect(body.result).toEqual(expected);
    // And they are the events sent, field for field (the server added keen.id and keen.created_at).
    expect(
      body.result.map(({ keen, ...rest }: any) => ({
        ...rest,
        keen: { timestamp: keen.timestamp },
      })),
    ).toEqual(events);
  });

  it('mails a small extraction uncompressed, and compressed when content_encoding asks', async () => {
    const params = {
      event_collection: 'purchases',
      latest: 3,
      property_names: ['n', 'user.id', 'keen.id'],
    };
    const expected = await synchronous(params);
    expect(expected.map((e) => e.n)).toEqual([37, 38, 39]);

    const plain = await http('POST', `${base()}/queries/extraction`, {
      key: read(),
      body: { ...params, email: 'small@example.com', content_type: 'application/json' },
    });
    expect(plain.body).toEqual(PROCESSING);
    const file = onlyAttachment(await smtp.take('small@example.com'));
    expect(file.contentType).toBe('application/json');
    expect(file.filename).toMatch(/\.json$/);
    expect(JSON.parse(file.content.toString('utf8'))).toEqual({ result: expected });

    const zipped = await http('POST', `${base()}/queries/extraction`, {
      key: read(),
      body: { ...params, email: 'small@example.com', content_encoding: 'gzip' },
    });
    expect(zipped.body).toEqual(PROCESSING);
    const gz = onlyAttachment(await smtp.take('small@example.com'));
    expect(gz.contentType).toBe('application/gzip');
    expect(gz.filename).toMatch(/\.json\.gz$/);
    expect(JSON.parse(gunzipSync(gz.content).toString('utf8'))).toEqual({ result: expected });
  });

  it('mails CSV when asked (GET, query string): one row per event, one column per property path', async () => {
    const filters = [{ property_name: 'n', operator: 'lt', property_value: 14 }];
    const expected = await synchronous({ event_collection: 'purchases', filters });
    expect(expected).toHaveLength(14);

    const qs = new URLSearchParams({
      event_collection: 'purchases',
      filters: JSON.stringify(filters),
      email: 'csv@example.com',
      content_type: 'text/csv',
    });
    const res = await http('GET', `${base()}/queries/extraction?${qs}`, { key: read() });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(PROCESSING);

    const file = onlyAttachment(await smtp.take('csv@example.com'));
    expect(file.contentType).toBe('text/csv'); // 14 rows stay under the threshold
    const [header, ...rows] = parseCsv(file.content.toString('utf8'));
    const expectedCells = expected.map((e) => cells(e));
    const columns = [...new Set(expectedCells.flatMap((c) => [...c.keys()]))];
    expect(header.slice(0, 3)).toEqual(['keen.created_at', 'keen.id', 'keen.timestamp']);
    expect([...header].sort()).toEqual([...columns].sort());
    expect(rows).toHaveLength(expected.length);
    rows.forEach((row, i) => {
      expect(row).toHaveLength(header.length);
      expect(new Map(header.map((h, j) => [h, row[j]]))).toEqual(
        new Map(header.map((h) => [h, expectedCells[i].get(h) ?? ''])),
      );
    });
    expect(rows.map((r) => r[header.indexOf('keen.id')])).toEqual(expected.map((e) => e.keen.id));
  });

  it('compresses a CSV file over the threshold', async () => {
    const expected = await synchronous({ event_collection: 'purchases' });
    const res = await http('POST', `${base()}/queries/extraction`, {
      key: read(),
      body: {
        event_collection: 'purchases',
        email: 'bigcsv@example.com',
        content_type: 'text/csv',
      },
    });
    expect(res.body).toEqual(PROCESSING);
    const file = onlyAttachment(await smtp.take('bigcsv@example.com'));
    expect(file.contentType).toBe('application/gzip');
    expect(file.filename).toMatch(/\.csv\.gz$/);
    const csv = gunzipSync(file.content).toString('utf8');
    expect(csv.length).toBeGreaterThan(GZIP_ABOVE);
    const [header, ...rows] = parseCsv(csv);
    expect(rows.map((r) => r[header.indexOf('keen.id')])).toEqual(expected.map((e) => e.keen.id));
    expect(rows.map((r) => r[header.indexOf('note')])).toEqual(expected.map((e) => e.note));
  });

  it('answers 400 to a bad address or file format, before anything runs', async () => {
    const before = smtp.received.length;
    const bad: unknown[] = [
      '',
      'not-an-address',
      'a@example.com,b@example.com',
      'a@example.com b@example.com',
      'Someone <a@example.com>',
      'a@example.com\r\nBcc: b@example.com',
      `${'x'.repeat(250)}@example.com`,
      ['a@example.com'],
      null,
    ];
    for (const email of bad) {
      const res = await http('POST', `${base()}/queries/extraction`, {
        key: read(),
        body: { event_collection: 'purchases', email },
      });
      expect([res.status, res.body.error_code]).toEqual([400, 'InvalidParameterError']);
      expect(res.body.message).toMatch(/"email" must be one address/);
    }
    const format = await http('POST', `${base()}/queries/extraction`, {
      key: read(),
      body: { event_collection: 'purchases', email: 'a@example.com', content_type: 'text/html' },
    });
    expect([format.status, format.body.error_code]).toEqual([400, 'InvalidParameterError']);
    expect(format.body.message).toMatch(/content_type/);
    const query = await http('POST', `${base()}/queries/extraction`, {
      key: read(),
      body: { event_collection: 'purchases', email: 'a@example.com', timeframe: 'this_fortnight' },
    });
    expect([query.status, query.body.error_code]).toEqual([400, 'TimeframeDefinitionError']);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.received.length).toBe(before);
  });

  it('caps running emailed extractions per project (429), and counts and logs every outcome', async () => {
    const metrics0 = (await scrape(`${server.url}/metrics`)).scrape;
    smtp.hold();
    const ask = (email: string) =>
      http('POST', `${base()}/queries/extraction`, {
        key: read(),
        body: { event_collection: 'purchases', latest: 1, email },
      });
    expect((await ask('held1@example.com')).body).toEqual(PROCESSING);
    expect((await ask('held2@example.com')).body).toEqual(PROCESSING);
    await smtp.take('held1@example.com');
    await smtp.take('held2@example.com');
    // Both jobs wait for the SMTP server's answer: the project's two slots are taken.
    const over = await ask('third@example.com');
    expect([over.status, over.body.error_code]).toEqual([429, 'TooManyConcurrentQueriesError']);
    expect(over.headers.get('retry-after')).toBe('10');
    smtp.release();

    // A recipient the server refuses (550) fails at once: no retry of a permanent refusal.
    const start = Date.now();
    for (;;) {
      const res = await ask(`nobody@${BOUNCING_DOMAIN}`);
      if (res.status === 200) break;
      expect(res.status).toBe(429); // the two released jobs are still finishing
      expect(Date.now() - start).toBeLessThan(5000);
      await new Promise((r) => setTimeout(r, 100));
    }
    let metrics = (await scrape(`${server.url}/metrics`)).scrape;
    while (metrics.value('tally_query_email_extractions_total', { outcome: 'failed' }) < 1) {
      expect(Date.now() - start).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 100));
      metrics = (await scrape(`${server.url}/metrics`)).scrape;
    }
    const delta = (name: string, labels = {}) =>
      metrics.value(name, labels) - metrics0.value(name, labels);
    expect(delta('tally_query_email_extractions_total', { outcome: 'sent' })).toBe(2);
    expect(delta('tally_query_email_extractions_total', { outcome: 'failed' })).toBe(1);
    expect(delta('tally_query_email_send_failures_total')).toBe(1);
    // Every job sent before this test too, as one "sent" each.
    expect(metrics.value('tally_query_email_extractions_total', { outcome: 'sent' })).toBe(7);

    const lines = server.output.split('\n').filter((l) => l.includes('email extraction'));
    expect(lines.filter((l) => l.includes('"email extraction sent"'))).toHaveLength(7);
    const failed = lines.filter((l) => l.includes('"email extraction failed"'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain(`"to_domain":"${BOUNCING_DOMAIN}"`);
    expect(failed[0]).toMatch(/550/);
    // Neither a recipient's mailbox name nor the SMTP password ever reaches the log.
    for (const local of ['analyst@', 'nobody@', 'held1@', 'csv@'])
      expect(server.output).not.toContain(local);
    expect(server.output).not.toContain(smtp.password);
  });
});

describe('standalone: emailed extraction without SMTP settings', () => {
  const server = new StandaloneServer();
  beforeAll(async () => {
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('answers 400 naming the missing settings, and the same request without email still works', async () => {
    const url = `${server.url}/3.0/projects/default/queries/extraction`;
    const key = server.keys!.read_key;
    const res = await http('POST', url, {
      key,
      body: { event_collection: 'purchases', email: 'a@example.com' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('InvalidParameterError');
    expect(res.body.message).toMatch(/no SMTP settings.*SMTP_URL.*SMTP_HOST/);
    const get = await http('GET', `${url}?event_collection=purchases&email=a%40example.com`, {
      key,
    });
    expect([get.status, get.body.error_code]).toEqual([400, 'InvalidParameterError']);
    const sync = await http('POST', url, { key, body: { event_collection: 'purchases' } });
    expect([sync.status, sync.body]).toEqual([200, { result: [] }]);
  });
});
