import { createTransport, Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { SmtpConfig } from '@app/config';
import { ExtractionMail, ExtractionMailer, MailSendError } from '@app/core';

/** Bounds on one SMTP exchange, so a silent server fails a send instead of holding a job for ever. */
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 60_000;

/**
 * The ExtractionMailer over SMTP with nodemailer: a small connection pool to
 * the configured server (SMTP_URL, or SMTP_HOST and its companions), sending
 * as SMTP_FROM. Only in-memory attachments are sent: file and URL access are
 * turned off, so no content could ever make nodemailer read a local file or
 * fetch a URL. Errors are rethrown as MailSendError with nodemailer's code
 * and message only (which name the SMTP step and the server's reply, never
 * the credentials), permanent on a 5xx reply.
 */
export class NodemailerExtractionMailer implements ExtractionMailer {
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(private readonly smtp: SmtpConfig) {
    const common = {
      pool: true,
      maxConnections: 2,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: GREETING_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      disableFileAccess: true,
      disableUrlAccess: true,
    };
    this.transport = smtp.url
      ? createTransport({ ...common, url: smtp.url } as SMTPTransport.Options)
      : createTransport({
          ...common,
          host: smtp.host,
          port: smtp.port,
          secure: smtp.secure,
          ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password } } : {}),
        } as SMTPTransport.Options);
  }

  async send(mail: ExtractionMail): Promise<void> {
    try {
      await this.transport.sendMail({
        from: { name: 'Tally', address: this.smtp.from },
        // An address object: nodemailer takes it as one recipient, with no parsing of names or lists.
        to: { name: '', address: mail.to },
        subject: mail.subject,
        text: mail.text,
        attachments: mail.attachment
          ? [
              {
                filename: mail.attachment.filename,
                contentType: mail.attachment.contentType,
                content: mail.attachment.content,
              },
            ]
          : [],
      });
    } catch (error) {
      const { responseCode } = (error ?? {}) as { responseCode?: unknown };
      const permanent =
        typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600;
      throw new MailSendError(this.scrub(describe(error)), permanent);
    }
  }

  close(): void {
    this.transport.close();
  }

  /** Defensive: whatever a server echoed, the configured password never reaches a log. */
  private scrub(message: string): string {
    const secrets = [this.smtp.password, this.smtp.url && safeUrlPassword(this.smtp.url)].filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    );
    return secrets.reduce((m, secret) => m.split(secret).join('[redacted]'), message);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return `SMTP send failed: ${String(error)}`;
  const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
  const tags = [code, responseCode].filter((t) => t !== undefined).join(' ');
  return `SMTP send failed${tags ? ` (${tags})` : ''}: ${error.message}`;
}

function safeUrlPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
