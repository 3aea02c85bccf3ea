import { MailSendError } from '@app/core';
import { freePort } from '@test/support/free-port';
import { BOUNCING_DOMAIN, SmtpSink } from '@test/support/smtp-sink';
import { NodemailerExtractionMailer } from './nodemailer-extraction.mailer';

/**
 * The nodemailer adapter against a real SMTP server (smtp-server): SMTP_URL
 * and SMTP_HOST settings with AUTH, the attachment as sent, a 550 refusal as
 * a permanent MailSendError, a wrong password or no server as a failure whose
 * message never holds the password.
 */
describe('NodemailerExtractionMailer', () => {
  const smtp = new SmtpSink();
  beforeAll(async () => {
    await smtp.start();
  });
  afterAll(async () => {
    await smtp.stop();
  });

  const mail = (to: string) => ({
    to,
    subject: 'Tally extraction of "clicks": 2 events',
    text: 'attached',
    attachment: {
      filename: 'extraction-clicks.json',
      contentType: 'application/json',
      content: Buffer.from('{"result":[{"n":1},{"n":2}]}'),
    },
  });

  it('sends through SMTP_URL with credentials in the URL', async () => {
    const url = `smtp://${smtp.user}:${encodeURIComponent(smtp.password)}@127.0.0.1:${smtp.port}`;
    const mailer = new NodemailerExtractionMailer({
      url,
      secure: false,
      from: 'tally@example.com',
    });
    try {
      await mailer.send(mail('url@example.com'));
    } finally {
      mailer.close();
    }
    const got = await smtp.take('url@example.com');
    expect(got.from?.value[0]).toEqual({ name: 'Tally', address: 'tally@example.com' });
    expect(got.subject).toBe('Tally extraction of "clicks": 2 events');
    expect(got.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([
      ['extraction-clicks.json', 'application/json', '{"result":[{"n":1},{"n":2}]}'],
    ]);
  });

  it('sends through SMTP_HOST settings; a notice carries no attachment', async () => {
    const mailer = new NodemailerExtractionMailer({
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      user: smtp.user,
      password: smtp.password,
      from: 'tally@example.com',
    });
    try {
      await mailer.send({ to: 'host@example.com', subject: 'too large', text: 'narrow it' });
    } finally {
      mailer.close();
    }
    const got = await smtp.take('host@example.com');
    expect([got.subject, got.text?.trim(), got.attachments]).toEqual([
      'too large',
      'narrow it',
      [],
    ]);
  });

  it('reports a refused recipient as permanent, a wrong password and a dead server as failures without the password', async () => {
    const good = new NodemailerExtractionMailer({
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      user: smtp.user,
      password: smtp.password,
      from: 'tally@example.com',
    });
    const refused = await good.send(mail(`x@${BOUNCING_DOMAIN}`)).catch((e: unknown) => e);
    good.close();
    expect(refused).toBeInstanceOf(MailSendError);
    expect((refused as MailSendError).permanent).toBe(true);
    expect((refused as Error).message).toMatch(/550/);

    const wrongPassword = 'not-the-password-0123';
    const bad = new NodemailerExtractionMailer({
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      user: smtp.user,
      password: wrongPassword,
      from: 'tally@example.com',
    });
    const denied = await bad.send(mail('a@example.com')).catch((e: unknown) => e);
    bad.close();
    expect(denied).toBeInstanceOf(MailSendError);
    expect((denied as Error).message).toMatch(/EAUTH/);
    expect((denied as Error).message).not.toContain(wrongPassword);

    const dead = new NodemailerExtractionMailer({
      url: `smtp://u:${wrongPassword}@127.0.0.1:${await freePort()}`,
      secure: false,
      from: 'tally@example.com',
    });
    const down = await dead.send(mail('a@example.com')).catch((e: unknown) => e);
    dead.close();
    expect(down).toBeInstanceOf(MailSendError);
    expect((down as MailSendError).permanent).toBe(false);
    expect((down as Error).message).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    expect((down as Error).message).not.toContain(wrongPassword);
  });
});
