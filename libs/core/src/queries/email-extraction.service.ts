import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isEmailAddress, TallyConfig } from '@app/config';
import { JsonObject, parseJsonText, TallyError } from '@app/events';
import { QueryErrorCode } from '@app/query-engine';
import { Log } from '../log.port';
import { emailExtractionSendFailures, emailExtractions, secondsSince } from '../metrics';
import { buildExtractionFile, ExtractionFileFormat, extractionFileFormat } from './extraction-file';
import { ExtractionMail, ExtractionMailer, MailSendError } from './extraction-mailer.port';
import { QueryService } from './query.service';
import { QueryScope } from './query-scope';

/** Keen's answer to an extraction with `email` (its clients' tests expect this text). */
export const EMAIL_EXTRACTION_ANSWER =
  'Processing. Check the specified email for the extraction results.';

/** The waits of a job; specs shorten them. */
export interface EmailExtractionTiming {
  /** How long a job waits for one of its project's query slots before it gives up. */
  slotWaitMs: number;
  /** Pause between two tries for a slot. */
  slotRetryMs: number;
  /** Pauses before the second and third attempt to hand the message to the SMTP server. */
  sendRetryDelaysMs: number[];
}

const TIMING: EmailExtractionTiming = {
  slotWaitMs: 120_000,
  slotRetryMs: 1000,
  sendRetryDelaysMs: [2000, 10_000],
};
/** How long shutdown waits for running jobs to notice the abort. */
const STOP_GRACE_MS = 5000;

export type EmailExtractionSettings = TallyConfig['extractionEmail'];

export type EmailExtractionOutcome = 'sent' | 'failed' | 'too_large' | 'interrupted';

interface Job {
  id: string;
  projectId: string;
  collection: string;
  to: string;
  format: ExtractionFileFormat;
  params: unknown;
  /** The forced filters of the key that asked for it. */
  scope?: QueryScope;
}

class TooLarge extends Error {}

/**
 * Extractions with `email` (Keen's asynchronous extraction). The request is
 * checked in full — SMTP configured, one valid address, the file format, the
 * query itself, the project's cap on running email jobs — and answered at
 * once with Keen's "Processing…" result; the extraction then runs in this
 * process as a streamed extraction (holding one of the project's query slots
 * while it reads, waiting for one when all are busy) and the file is sent
 * through the ExtractionMailer. Jobs live in memory: one interrupted by a
 * restart is logged as such and not resumed (the client asks again).
 *
 * Every job ends with one log line and one count of
 * `tally_query_email_extractions_total` by outcome. Logs carry the job id,
 * the project and the recipient's domain only, never the address or a key.
 */
export class EmailExtractionService {
  private readonly running = new Map<string, number>();
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly queries: QueryService,
    private readonly mailer: ExtractionMailer | null,
    private readonly settings: EmailExtractionSettings,
    private readonly log: Log,
    private readonly timing: EmailExtractionTiming = TIMING,
  ) {}

  /** Whether a query request is an emailed extraction (an extraction with an `email` parameter). */
  static wants(analysisType: string, params: unknown): boolean {
    return (
      analysisType.trim().toLowerCase() === 'extraction' &&
      typeof params === 'object' &&
      params !== null &&
      Object.hasOwn(params, 'email')
    );
  }

  /** Checks the request, starts its job, and answers Keen's "Processing…" result. */
  start(projectId: string, params: unknown, scope?: QueryScope): { result: string } {
    if (!this.mailer) {
      throw new TallyError(
        'invalid',
        QueryErrorCode.parameter,
        'Emailed extractions are not available: this server has no SMTP settings (its operator sets SMTP_URL ' +
          'or SMTP_HOST and SMTP_FROM). Leave out "email" to get the extraction in the answer, or use extraction/stream.',
      );
    }
    const p = params as Record<string, unknown>;
    if (!isEmailAddress(p.email)) {
      throw new TallyError(
        'invalid',
        QueryErrorCode.parameter,
        '"email" must be one address such as user@example.com (at most 254 characters, no name or list)',
      );
    }
    const format = extractionFileFormat(p.content_type, p.content_encoding);
    // Parses the query now, so a bad one is a 400 here and not a silent failure later;
    // the stream reads nothing until it is pulled.
    this.queries.streamExtraction(projectId, params, undefined, scope);
    const current = this.running.get(projectId) ?? 0;
    if (current >= this.settings.maxConcurrentPerProject) {
      throw new TallyError(
        'rate_limited',
        'TooManyConcurrentQueriesError',
        `Project "${projectId}" already has ${current} emailed extractions running (the limit is ` +
          `${this.settings.maxConcurrentPerProject}, EXTRACTION_EMAIL_CONCURRENCY_PER_PROJECT); retry once one is sent.`,
        10,
      );
    }
    this.running.set(projectId, current + 1);
    const job: Job = {
      id: randomUUID(),
      projectId,
      collection: String(p.event_collection),
      to: p.email,
      format,
      params,
      scope,
    };
    const done = this.run(job).finally(() => {
      this.jobs.delete(job.id);
      const left = (this.running.get(projectId) ?? 1) - 1;
      if (left <= 0) this.running.delete(projectId);
      else this.running.set(projectId, left);
    });
    this.jobs.set(job.id, done);
    return { result: EMAIL_EXTRACTION_ANSWER };
  }

  /** Emailed extractions running now for a project on this process. */
  inUse(projectId: string): number {
    return this.running.get(projectId) ?? 0;
  }

  /** Stops running jobs (logged as interrupted) and closes the SMTP connections. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort(new Error('shutting down'));
    await Promise.race([
      Promise.allSettled(this.jobs.values()),
      sleep(STOP_GRACE_MS, undefined, { ref: false }),
    ]);
    this.mailer?.close();
  }

  private async run(job: Job): Promise<void> {
    const start = performance.now();
    const fields = { job_id: job.id, project: job.projectId, to_domain: job.to.split('@')[1] };
    let outcome: EmailExtractionOutcome = 'failed';
    let detail: Record<string, unknown> = {};
    try {
      const { events, texts, bytes } = await this.collect(job);
      const count = texts.length;
      const file = await buildExtractionFile(
        events,
        texts,
        job.format,
        this.settings.gzipAboveBytes,
        `extraction-${safeName(job.collection)}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      );
      detail = {
        events: count,
        file_bytes: file.content.length,
        raw_bytes: file.rawBytes,
        format: job.format.type,
        compressed: file.compressed,
      };
      await this.send(job, {
        to: job.to,
        subject: `Tally extraction of "${headerSafe(job.collection)}": ${count} events`,
        text:
          `The extraction you asked for is attached: ${count} events of the collection ` +
          `"${job.collection}" in project ${job.projectId}, oldest first, as ${describe(job.format.type, file.compressed)} ` +
          `(${file.filename}, ${bytes} bytes of event JSON).\n`,
        attachment: {
          filename: file.filename,
          contentType: file.contentType,
          content: file.content,
        },
      });
      outcome = 'sent';
    } catch (error) {
      if (error instanceof TooLarge) {
        outcome = 'too_large';
        await this.notifyTooLarge(job).catch(() => undefined);
      } else if (this.stopping.signal.aborted) {
        outcome = 'interrupted';
      }
      detail = { ...detail, error: describeError(error) };
    } finally {
      emailExtractions.inc({ outcome });
      const line = { ...fields, outcome, seconds: secondsSince(start), ...detail };
      if (outcome === 'sent') this.log.log(line, 'email extraction sent');
      else this.log.warn(line, `email extraction ${outcome}`);
    }
  }

  /**
   * Reads the extraction as a stream (one query slot), keeping each event's
   * JSON text until the file is built, and the event itself only for CSV
   * (its columns are known once every event is read); past
   * EXTRACTION_EMAIL_MAX_BYTES of JSON it stops reading. A busy project (every
   * query slot taken) is waited for, up to two minutes.
   */
  private async collect(
    job: Job,
  ): Promise<{ events: JsonObject[]; texts: string[]; bytes: number }> {
    const signal = this.stopping.signal;
    const waitUntil = Date.now() + this.timing.slotWaitMs;
    for (;;) {
      const events: JsonObject[] = [];
      const texts: string[] = [];
      let bytes = 2;
      try {
        const stream = this.queries.streamExtraction(job.projectId, job.params, signal, job.scope);
        for await (const page of stream.pages) {
          for (const text of page) {
            bytes += Buffer.byteLength(text) + 1;
            if (bytes > this.settings.maxBytes)
              throw new TooLarge(`over ${this.settings.maxBytes} bytes`);
            if (job.format.type === 'csv')
              events.push(parseJsonText(text, 'An extracted event') as JsonObject);
            texts.push(text);
          }
        }
        return { events, texts, bytes };
      } catch (error) {
        const busy =
          error instanceof TallyError && error.errorCode === 'TooManyConcurrentQueriesError';
        if (!busy || texts.length > 0 || Date.now() >= waitUntil) throw error;
        await sleep(this.timing.slotRetryMs, undefined, { signal });
      }
    }
  }

  /**
   * Hands the message to the SMTP server, retrying a failed attempt twice
   * unless the server refused it for good (5xx); each failure is counted.
   */
  private async send(job: Job, mail: ExtractionMail): Promise<void> {
    const signal = this.stopping.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.mailer!.send(mail);
        return;
      } catch (error) {
        emailExtractionSendFailures.inc();
        const permanent = error instanceof MailSendError && error.permanent;
        if (permanent || attempt >= this.timing.sendRetryDelaysMs.length) throw error;
        this.log.warn(
          {
            job_id: job.id,
            project: job.projectId,
            attempt: attempt + 1,
            error: describeError(error),
          },
          'email extraction: sending failed, will retry',
        );
        await sleep(this.timing.sendRetryDelaysMs[attempt], undefined, { signal });
      }
    }
  }

  private async notifyTooLarge(job: Job): Promise<void> {
    await this.mailer!.send({
      to: job.to,
      subject: `Tally extraction of "${headerSafe(job.collection)}": too large to send`,
      text:
        `The extraction of the collection "${job.collection}" in project ${job.projectId} holds more than ` +
        `${this.settings.maxBytes} bytes of events, the most this server sends by e-mail ` +
        '(EXTRACTION_EMAIL_MAX_BYTES). Narrow its timeframe or filters, or export it with extraction/stream.\n',
    });
  }
}

/** A collection name as a file name part: letters, digits, `-` and `_`, at most 64. */
function safeName(collection: string): string {
  return collection.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 64) || 'events';
}

/** No control characters in a header, and a bounded length. */
function headerSafe(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}

function describe(type: 'json' | 'csv', compressed: boolean): string {
  const name =
    type === 'json' ? 'JSON ({"result": [events]})' : 'CSV (one column per property path)';
  return compressed ? `gzip-compressed ${name}` : name;
}

/** The error for a log line: its code and first 300 characters (adapters put no credentials in messages). */
function describeError(error: unknown): string {
  if (error instanceof TallyError) return `${error.errorCode}: ${error.message}`.slice(0, 300);
  if (error instanceof Error) return error.message.slice(0, 300);
  return String(error).slice(0, 300);
}
