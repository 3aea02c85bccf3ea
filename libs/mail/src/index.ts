import { SmtpConfig } from '@app/config';
import { ExtractionMailer } from '@app/core';

/**
 * The mail adapters. The barrel loads no driver: nodemailer is required only
 * when a deployment has SMTP settings and opens its mailer.
 */
export async function openExtractionMailer(smtp: SmtpConfig): Promise<ExtractionMailer> {
  const { NodemailerExtractionMailer } = await import('./nodemailer/nodemailer-extraction.mailer');
  return new NodemailerExtractionMailer(smtp);
}
