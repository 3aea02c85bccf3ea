import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** Recipients at this domain are refused with 550 at RCPT TO (a permanent failure). */
export const BOUNCING_DOMAIN = 'bounce.example.com';

/**
 * A real SMTP server for the emailed-extraction specs (the `smtp-server`
 * package, the server side of nodemailer's project), on a loopback port:
 * plain SMTP without STARTTLS, AUTH PLAIN/LOGIN required with its own user
 * and password, every accepted message parsed with mailparser. `hold()`
 * keeps accepted messages unanswered (the client waits at DATA) until
 * `release()`, so a spec can keep a send in flight.
 */
export class SmtpSink {
  readonly user = 'tally-mailer';
  readonly password = `pw-${randomBytes(9).toString('base64url')}`;
  readonly received: ParsedMail[] = [];
  /** Failed logins and other session errors seen by the server. */
  readonly errors: string[] = [];
  port = 0;
  private server: SMTPServer | null = null;
  private held: Array<() => void> | null = null;
  private waiters: Array<() => void> = [];

  async start(): Promise<this> {
    const server = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      size: 64 * 1024 * 1024,
      onAuth: (auth, _session, callback) => {
        if (auth.username === this.user && auth.password === this.password) {
          callback(null, { user: auth.username });
        } else {
          this.errors.push('bad login');
          callback(new Error('Invalid username or password'));
        }
      },
      onRcptTo: (address, _session, callback) => {
        if (address.address.toLowerCase().endsWith(`@${BOUNCING_DOMAIN}`)) {
          const error = new Error('No such user here') as Error & { responseCode: number };
          error.responseCode = 550;
          callback(error);
          return;
        }
        callback();
      },
      onData: (stream, _session, callback) => {
        simpleParser(stream)
          .then((mail) => {
            this.received.push(mail);
            for (const wake of this.waiters.splice(0)) wake();
            if (this.held) this.held.push(() => callback());
            else callback();
          })
          .catch((error: Error) => {
            this.errors.push(error.message);
            callback(error);
          });
      },
    });
    server.on('error', (error) => this.errors.push(error.message));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
    return this;
  }

  /** The standalone/query process settings that point at this server. */
  env(from = 'tally@example.com'): Record<string, string> {
    return {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(this.port),
      SMTP_USER: this.user,
      SMTP_PASSWORD: this.password,
      SMTP_FROM: from,
    };
  }

  /** Messages from now on are taken in but not acknowledged until release(). */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const answer of held) answer();
  }

  /** The first message to `to` not yet taken, waiting for it up to `timeoutMs`. */
  async take(to: string, timeoutMs = 20_000): Promise<ParsedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((m) => recipients(m).includes(to.toLowerCase()));
      if (i >= 0) return this.received.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no message to ${to} within ${timeoutMs} ms (errors: ${this.errors.join('; ')})`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    this.release();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Addresses of a parsed message's To header, lower-cased. */
export function recipients(mail: ParsedMail): string[] {
  const to = mail.to ? (Array.isArray(mail.to) ? mail.to : [mail.to]) : [];
  return to.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
}
