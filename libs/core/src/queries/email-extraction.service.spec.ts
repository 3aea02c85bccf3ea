import { gunzipSync } from 'node:zlib';
import { TallyConfig } from '@app/config';
import { TallyError } from '@app/events';
import { InMemoryEventSource, storedEvent } from '@app/query-engine/testing';
import { EventStore } from '@app/storage';
import { emailExtractionSendFailures, emailExtractions } from '../metrics';
import {
  EMAIL_EXTRACTION_ANSWER,
  EmailExtractionService,
  EmailExtractionSettings,
} from './email-extraction.service';
import { toCsv } from './extraction-file';
import { ExtractionMail, ExtractionMailer, MailSendError } from './extraction-mailer.port';
import { QueryService } from './query.service';

const T0 = Date.UTC(2024, 0, 1);
const events = Array.from({ length: 10 }, (_, n) => ({
  n,
  label: `e${n}`,
  keen: { id: `id${String(n).padStart(3, '0')}`, timestamp: new Date(T0 + n * 1000).toISOString() },
}));

/** A mailer above the port: records messages; `failures` are thrown first, one per attempt. */
class RecordingMailer implements ExtractionMailer {
  readonly sent: ExtractionMail[] = [];
  attempts = 0;
  failures: Error[] = [];
  hold?: Promise<void>;
  closed = false;
  async send(mail: ExtractionMail): Promise<void> {
    this.attempts++;
    if (this.hold) await this.hold;
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.sent.push(mail);
  }
  close(): void {
    this.closed = true;
  }
}

class RecordingLog {
  readonly lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  log = (fields: Record<string, unknown>, message: string) =>
    this.lines.push({ level: 'log', fields, message });
  warn = (fields: Record<string, unknown>, message: string) =>
    this.lines.push({ level: 'warn', fields, message });
  error = (fields: Record<string, unknown>, message: string) =>
    this.lines.push({ level: 'error', fields, message });
}

function setup(
  settings: Partial<EmailExtractionSettings> = {},
  mailer: RecordingMailer | null = new RecordingMailer(),
) {
  const store = new InMemoryEventSource({ pageSize: 3 }).add(
    'p',
    'clicks',
    events.map(storedEvent),
  );
  const config = {
    query: {
      deadlineMs: 60_000,
      maxConcurrentPerProject: 1,
      maxGroups: 10_000,
      maxExtractionEvents: 100_000,
      maxInValues: 10_000,
      streamDeadlineMs: 60_000,
      cacheEntries: 0,
    },
  } as TallyConfig;
  const queries = new QueryService(store as unknown as EventStore, config);
  const log = new RecordingLog();
  const service = new EmailExtractionService(
    queries,
    mailer,
    { gzipAboveBytes: 1 << 20, maxBytes: 1 << 20, maxConcurrentPerProject: 2, ...settings },
    log,
    { slotWaitMs: 2000, slotRetryMs: 10, sendRetryDelaysMs: [10, 10] },
  );
  return { service, queries, mailer: mailer!, log };
}

const counted = async (outcome: string) =>
  (await emailExtractions.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
const sendFailures = async () => (await emailExtractionSendFailures.get()).values[0]?.value ?? 0;

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const refusal = (fn: () => unknown): TallyError => {
  try {
    fn();
  } catch (error) {
    return error as TallyError;
  }
  throw new Error('not refused');
};

describe('EmailExtractionService', () => {
  it('recognises an emailed extraction by its analysis and an own email parameter', () => {
    expect(EmailExtractionService.wants('extraction', { email: 'a@example.com' })).toBe(true);
    expect(EmailExtractionService.wants(' Extraction ', { email: '' })).toBe(true);
    expect(EmailExtractionService.wants('count', { email: 'a@example.com' })).toBe(false);
    expect(EmailExtractionService.wants('extraction', {})).toBe(false);
    expect(
      EmailExtractionService.wants('extraction', Object.create({ email: 'a@example.com' })),
    ).toBe(false);
    expect(EmailExtractionService.wants('extraction', null)).toBe(false);
  });

  it('answers Processing at once and mails the events of the extraction, logging the domain only', async () => {
    const { service, mailer, log } = setup();
    const sent0 = await counted('sent');
    const answer = service.start('p', {
      event_collection: 'clicks',
      latest: 4,
      email: 'ana@example.com',
    });
    expect(answer).toEqual({ result: EMAIL_EXTRACTION_ANSWER });
    expect(service.inUse('p')).toBe(1);
    await until(() => service.inUse('p') === 0);
    expect(mailer.sent).toHaveLength(1);
    const [mail] = mailer.sent;
    expect(mail.to).toBe('ana@example.com');
    expect(mail.attachment!.contentType).toBe('application/json');
    expect(JSON.parse(mail.attachment!.content.toString())).toEqual({ result: events.slice(6) });
    expect(await counted('sent')).toBe(sent0 + 1);
    expect(log.lines).toEqual([
      expect.objectContaining({ level: 'log', message: 'email extraction sent' }),
    ]);
    expect(log.lines[0].fields).toMatchObject({
      project: 'p',
      to_domain: 'example.com',
      outcome: 'sent',
      events: 4,
    });
    expect(JSON.stringify(log.lines)).not.toContain('ana@');
  });

  it('refuses before running: no SMTP, a bad address, a bad format, a bad query, over the project cap', async () => {
    const none = setup({}, null);
    expect(
      refusal(() =>
        none.service.start('p', { event_collection: 'clicks', email: 'a@example.com' }),
      ),
    ).toMatchObject({
      kind: 'invalid',
      errorCode: 'InvalidParameterError',
    });
    const { service, mailer } = setup({ maxConcurrentPerProject: 1 });
    for (const params of [
      { event_collection: 'clicks', email: 'a@example.com, b@example.com' },
      { event_collection: 'clicks', email: 'a@example.com', content_type: 'text/xml' },
      { event_collection: 'clicks', email: 'a@example.com', content_encoding: 'br' },
      { event_collection: 'clicks', email: 'a@example.com', group_by: 'n' },
      { email: 'a@example.com' },
    ]) {
      expect(refusal(() => service.start('p', params)).kind).toBe('invalid');
    }
    mailer.hold = new Promise(() => undefined); // the first job never finishes sending
    service.start('p', { event_collection: 'clicks', email: 'a@example.com' });
    const over = refusal(() =>
      service.start('p', { event_collection: 'clicks', email: 'a@example.com' }),
    );
    expect([over.kind, over.errorCode, over.retryAfterSeconds]).toEqual([
      'rate_limited',
      'TooManyConcurrentQueriesError',
      10,
    ]);
    // Another project has its own cap.
    expect(service.start('q', { event_collection: 'clicks', email: 'a@example.com' })).toEqual({
      result: EMAIL_EXTRACTION_ANSWER,
    });
    // Both jobs reach the mailer; nothing was sent for the refused requests.
    await until(() => mailer.attempts === 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(mailer.attempts).toBe(2);
  });

  it('retries a transient send failure, counting each failed attempt', async () => {
    const { service, mailer, log } = setup();
    const failures0 = await sendFailures();
    mailer.failures = [new MailSendError('SMTP send failed (ETIMEDOUT): timeout', false)];
    service.start('p', { event_collection: 'clicks', email: 'a@example.com' });
    await until(() => service.inUse('p') === 0);
    expect(mailer.attempts).toBe(2);
    expect(mailer.sent).toHaveLength(1);
    expect(await sendFailures()).toBe(failures0 + 1);
    expect(log.lines.map((l) => l.message)).toEqual([
      'email extraction: sending failed, will retry',
      'email extraction sent',
    ]);
  });

  it('gives up at once on a permanent refusal, and after three transient failures', async () => {
    const { service, mailer, log } = setup();
    const failed0 = await counted('failed');
    const failures0 = await sendFailures();
    mailer.failures = [new MailSendError('SMTP send failed (EENVELOPE 550): no such user', true)];
    service.start('p', { event_collection: 'clicks', email: 'a@example.com' });
    await until(() => service.inUse('p') === 0);
    expect(mailer.attempts).toBe(1);
    mailer.failures = [1, 2, 3].map((i) => new MailSendError(`SMTP send failed: try ${i}`, false));
    service.start('p', { event_collection: 'clicks', email: 'a@example.com' });
    await until(() => service.inUse('p') === 0);
    expect(mailer.attempts).toBe(4);
    expect(mailer.sent).toHaveLength(0);
    expect(await counted('failed')).toBe(failed0 + 2);
    expect(await sendFailures()).toBe(failures0 + 4);
    const ends = log.lines.filter((l) => l.message === 'email extraction failed');
    expect(ends.map((l) => l.fields.error)).toEqual([
      'SMTP send failed (EENVELOPE 550): no such user',
      'SMTP send failed: try 3',
    ]);
  });

  it('mails a notice instead of a file over EXTRACTION_EMAIL_MAX_BYTES', async () => {
    const { service, mailer } = setup({ maxBytes: 300 });
    const tooLarge0 = await counted('too_large');
    service.start('p', { event_collection: 'clicks', email: 'a@example.com' });
    await until(() => service.inUse('p') === 0);
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0].attachment).toBeUndefined();
    expect(mailer.sent[0].text).toMatch(/more than 300 bytes.*EXTRACTION_EMAIL_MAX_BYTES/s);
    expect(await counted('too_large')).toBe(tooLarge0 + 1);
  });

  it('compresses above the threshold or when asked, and writes CSV when asked', async () => {
    const { service, mailer } = setup({ gzipAboveBytes: 200 });
    service.start('p', {
      event_collection: 'clicks',
      email: 'a@example.com',
      content_type: 'text/csv',
    });
    await until(() => service.inUse('p') === 0);
    service.start('p', {
      event_collection: 'clicks',
      latest: 1,
      email: 'a@example.com',
      content_encoding: 'GZIP',
    });
    await until(() => service.inUse('p') === 0);
    const [csv, small] = mailer.sent.map((m) => m.attachment!);
    expect([csv.contentType, csv.filename.endsWith('.csv.gz')]).toEqual(['application/gzip', true]);
    expect(gunzipSync(csv.content).toString()).toBe(await toCsv(events));
    expect([small.contentType, small.filename.endsWith('.json.gz')]).toEqual([
      'application/gzip',
      true,
    ]);
    expect(JSON.parse(gunzipSync(small.content).toString())).toEqual({ result: events.slice(9) });
  });

  it('waits for a free query slot of its project instead of failing', async () => {
    const { service, queries, mailer } = setup();
    const busy = queries
      .streamExtraction('p', { event_collection: 'clicks' })
      .pages[Symbol.asyncIterator]();
    await busy.next(); // holds the project's only query slot
    service.start('p', { event_collection: 'clicks', email: 'a@example.com' });
    await new Promise((r) => setTimeout(r, 60));
    expect(mailer.attempts).toBe(0);
    await busy.return?.();
    await until(() => service.inUse('p') === 0);
    expect(mailer.sent).toHaveLength(1);
  });

  it('stops running jobs at shutdown, counted as interrupted, and closes the mailer', async () => {
    const { service, queries, mailer, log } = setup();
    const interrupted0 = await counted('interrupted');
    const busy = queries
      .streamExtraction('p', { event_collection: 'clicks' })
      .pages[Symbol.asyncIterator]();
    await busy.next();
    service.start('p', { event_collection: 'clicks', email: 'a@example.com' });
    await service.beforeApplicationShutdown();
    await busy.return?.();
    expect(await counted('interrupted')).toBe(interrupted0 + 1);
    expect(log.lines.map((l) => l.message)).toEqual(['email extraction interrupted']);
    expect(mailer.closed).toBe(true);
    expect(mailer.sent).toHaveLength(0);
  });
});

describe('toCsv', () => {
  it('quotes what needs quoting and keeps every path as a column, __proto__ included', async () => {
    const rows = [
      JSON.parse(
        '{"keen":{"id":"a"},"s":"x, \\"y\\"\\nz","__proto__":{"polluted":1},"list":[1,"b"],"empty":{},"nil":null}',
      ),
      { keen: { id: 'b' }, s: ' pad', n: 2.5, ok: false },
    ];
    expect(await toCsv(rows)).toBe(
      [
        'keen.id,__proto__.polluted,empty,list,n,nil,ok,s',
        'a,1,{},"[1,""b""]",,,,"x, ""y""\nz"',
        'b,,,,2.5,,false," pad"',
        '',
      ].join('\r\n'),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
