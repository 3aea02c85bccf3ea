/** The file of an emailed extraction, as attached to the message. */
export interface ExtractionAttachment {
  filename: string;
  /** `application/json`, `text/csv`, or `application/gzip` for a compressed file. */
  contentType: string;
  content: Buffer;
}

/** One message to one recipient; the sender is the deployment's (SMTP_FROM). */
export interface ExtractionMail {
  /** One plain address, already checked (isEmailAddress). */
  to: string;
  subject: string;
  text: string;
  /** Absent on a notice that carries no file (an extraction too large to send). */
  attachment?: ExtractionAttachment;
}

/**
 * Sends the result of an emailed extraction. Implemented over SMTP by
 * `@app/mail` (nodemailer); a deployment without SMTP settings has none, and
 * its emailed extractions are refused before anything runs. `send` resolves
 * once the server accepted the message and rejects with an error whose
 * message holds no credentials.
 */
export interface ExtractionMailer {
  send(mail: ExtractionMail): Promise<void>;
  /** Closes pooled connections at shutdown. */
  close(): void;
}

/** Nest injection token of the mailer (null when SMTP is not configured). */
export const EXTRACTION_MAILER = 'EXTRACTION_MAILER';

/**
 * What `send` rejects with. `permanent`: the server refused the message for
 * good (an SMTP 5xx reply, such as an unknown recipient), so trying again
 * cannot help; otherwise (4xx, connection or timeout) a later attempt may pass.
 */
export class MailSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'MailSendError';
  }
}
