import { isEmailAddress } from './email-address';
import { ConfigError, loadConfig } from './load-config';

describe('loadConfig: SMTP of emailed extractions', () => {
  it('leaves SMTP unset by default, with the documented extraction e-mail limits', () => {
    expect(loadConfig('standalone', {}).extractionEmail).toEqual({
      smtp: undefined,
      gzipAboveBytes: 1024 * 1024,
      maxBytes: 20 * 1024 * 1024,
      maxConcurrentPerProject: 2,
    });
    const c = loadConfig('standalone', {
      EXTRACTION_EMAIL_GZIP_BYTES: '0',
      EXTRACTION_EMAIL_MAX_BYTES: '5000',
      EXTRACTION_EMAIL_CONCURRENCY_PER_PROJECT: '1',
    }).extractionEmail;
    expect([c.gzipAboveBytes, c.maxBytes, c.maxConcurrentPerProject]).toEqual([0, 5000, 1]);
    expect(() =>
      loadConfig('standalone', { EXTRACTION_EMAIL_CONCURRENCY_PER_PROJECT: '0' }),
    ).toThrow(/EXTRACTION_EMAIL_CONCURRENCY_PER_PROJECT must be an integer >= 1/);
  });

  it('reads SMTP_URL, deriving TLS from its scheme', () => {
    const smtp = loadConfig('query', {
      STORE: 'mongo',
      SMTP_URL: 'smtps://mailer:s3cret@mail.example.com:465',
      SMTP_FROM: 'tally@example.com',
    }).extractionEmail.smtp;
    expect(smtp).toEqual({
      url: 'smtps://mailer:s3cret@mail.example.com:465',
      secure: true,
      from: 'tally@example.com',
    });
  });

  it('reads SMTP_HOST and its companions, with the port following SMTP_SECURE', () => {
    const base = { SMTP_HOST: 'mail.example.com', SMTP_FROM: 'tally@example.com' };
    expect(loadConfig('standalone', base).extractionEmail.smtp).toEqual({
      host: 'mail.example.com',
      port: 587,
      secure: false,
      user: undefined,
      password: undefined,
      from: 'tally@example.com',
    });
    expect(
      loadConfig('standalone', { ...base, SMTP_SECURE: 'true' }).extractionEmail.smtp?.port,
    ).toBe(465);
    const auth = loadConfig('standalone', {
      ...base,
      SMTP_PORT: '2525',
      SMTP_USER: 'u',
      SMTP_PASSWORD: 'p',
    });
    expect(auth.extractionEmail.smtp).toMatchObject({ port: 2525, user: 'u', password: 'p' });
  });

  it('names the setting at fault and never echoes a URL or password', () => {
    const secret = 'hunter2-very-secret';
    const refusals: Array<[Record<string, string>, RegExp]> = [
      [
        { SMTP_URL: `http://u:${secret}@mail.example.com`, SMTP_FROM: 'a@example.com' },
        /SMTP_URL must be an smtp:\/\//,
      ],
      [{ SMTP_URL: `smtp://u:${secret}@`, SMTP_FROM: 'a@example.com' }, /SMTP_URL must be/],
      [
        {
          SMTP_URL: 'smtp://mail.example.com',
          SMTP_HOST: 'mail.example.com',
          SMTP_FROM: 'a@example.com',
        },
        /not both/,
      ],
      [{ SMTP_HOST: 'mail.example.com' }, /SMTP_FROM must be one plain address/],
      [{ SMTP_HOST: 'mail.example.com', SMTP_FROM: 'Tally <a@example.com>' }, /SMTP_FROM/],
      [
        { SMTP_HOST: 'mail.example.com', SMTP_FROM: 'a@example.com', SMTP_PASSWORD: secret },
        /SMTP_USER and SMTP_PASSWORD/,
      ],
      [
        { SMTP_HOST: 'mail.example.com', SMTP_FROM: 'a@example.com', SMTP_PORT: '70000' },
        /SMTP_PORT must be at most 65535/,
      ],
      [
        { SMTP_HOST: 'mail.example.com', SMTP_FROM: 'a@example.com', SMTP_SECURE: 'yes' },
        /SMTP_SECURE must be true or false/,
      ],
      [
        { SMTP_URL: 'smtp://mail.example.com', SMTP_FROM: 'a@example.com', SMTP_PASSWORD: secret },
        /SMTP_PASSWORD cannot be combined with SMTP_URL/,
      ],
      [{ SMTP_PASSWORD: secret }, /SMTP_PASSWORD is set but neither SMTP_URL nor SMTP_HOST is/],
    ];
    for (const [env, message] of refusals) {
      let error: unknown;
      try {
        loadConfig('standalone', env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(secret);
    }
  });
});

describe('isEmailAddress', () => {
  it('takes one plain address and nothing else', () => {
    for (const ok of [
      'a@example.com',
      'first.last+tag@mail.example.co.uk',
      "o'brien@x-y.example.org",
    ]) {
      expect(isEmailAddress(ok)).toBe(true);
    }
    const refused = [
      '',
      'plain',
      'a@localhost',
      'a@b@example.com',
      'a@example.com,b@example.com',
      'a@example.com; b@example.com',
      'Name <a@example.com>',
      ' a@example.com',
      'a@example.com\r\nBcc: b@example.com',
      '.a@example.com',
      'a..b@example.com',
      'a@-example.com',
      'a@example..com',
      `${'x'.repeat(65)}@example.com`,
      `a@${Array(5).fill('x'.repeat(60)).join('.')}.com`,
      42,
      null,
      ['a@example.com'],
    ];
    for (const bad of refused) expect(isEmailAddress(bad)).toBe(false);
  });
});
