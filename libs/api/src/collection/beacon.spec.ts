import { TallyError } from '@app/events';
import { beaconRedirect, decodeBeaconData, redirectHostAllowed } from './beacon';

const ALLOWED = ['shop.example.com', '*.example.org', 'xn--bcher-kva.example'];

function refusal(raw: unknown, allowed: string[] = ALLOWED): TallyError {
  try {
    beaconRedirect(raw, allowed);
  } catch (error) {
    if (error instanceof TallyError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

describe('beaconRedirect', () => {
  it('answers no redirect when none is asked for', () => {
    expect(beaconRedirect(undefined, ALLOWED)).toBeUndefined();
    expect(beaconRedirect('', ALLOWED)).toBeUndefined();
  });

  it('gives the serialised URL: percent-encoded, punycode host, ASCII only', () => {
    expect(beaconRedirect('https://shop.example.com/päth?q=é ü#frag', ALLOWED)).toBe(
      'https://shop.example.com/p%C3%A4th?q=%C3%A9%20%C3%BC#frag',
    );
    expect(beaconRedirect('HTTP://SHOP.example.com:8443', ALLOWED)).toBe(
      'http://shop.example.com:8443/',
    );
    expect(beaconRedirect('https://www.example.org/a', ALLOWED)).toBe('https://www.example.org/a');
    expect(beaconRedirect('https://bücher.example/x', ALLOWED)).toBe(
      'https://xn--bcher-kva.example/x',
    );
  });

  it('refuses control characters and line separators instead of letting the parser drop them', () => {
    for (const raw of [
      'https://shop.example.com/\r\nSet-Cookie: a=b',
      'https://shop.example.com/\nx',
      'https://shop.example.com/\tx',
      'https://shop.example.com/\u0000',
      'https://shop.example.com/\u0085',
      'https://shop.example.com/\u2028x',
      'https://shop.example.com/\u2029x',
    ]) {
      const error = refusal(raw);
      expect(error.errorCode).toBe('InvalidRedirectError');
      expect(error.message).toMatch(/control character or line separator/);
    }
  });

  it('refuses relative, non-http and credential-carrying URLs', () => {
    for (const raw of [
      '/next',
      '//evil.com/',
      'javascript:alert(1)',
      'ftp://shop.example.com/',
      'data:text/html,x',
    ]) {
      expect(refusal(raw).message).toMatch(/absolute http\(s\) URL/);
    }
    expect(refusal('https://user:pw@shop.example.com/').message).toMatch(/user name or password/);
    expect(refusal(['https://shop.example.com/', 'https://evil.com/']).message).toMatch(/once/);
    expect(refusal(`https://shop.example.com/${'a'.repeat(2048)}`).message).toMatch(/longer than/);
  });

  it('is not an open redirect: only the hosts the deployment lists', () => {
    for (const raw of [
      'https://evil.com/',
      'https://shop.example.com.evil.com/',
      'https://evil.com\\@shop.example.com/',
      'https://shop.example.com@evil.com/',
      'https://example.org/', // *.example.org is subdomains only
      'https://evilexample.org/',
    ]) {
      expect(refusal(raw).errorCode).toBe('InvalidRedirectError');
    }
    expect(refusal('https://evil.com/').message).toMatch(
      /"evil\.com" is not one this server redirects to/,
    );
  });

  it('refuses every redirect when no host is configured, saying so', () => {
    expect(refusal('https://shop.example.com/', []).message).toMatch(
      /disabled on this server \(BEACON_REDIRECT_HOSTS lists no host\)/,
    );
  });
});

describe('redirectHostAllowed', () => {
  it('matches exact names and *.domain subdomains at any depth', () => {
    expect(redirectHostAllowed('a.b.example.org', ALLOWED)).toBe(true);
    expect(redirectHostAllowed('shop.example.com', ALLOWED)).toBe(true);
    expect(redirectHostAllowed('x.shop.example.com', ALLOWED)).toBe(false);
    expect(redirectHostAllowed('.example.org', ALLOWED)).toBe(false);
  });
});

describe('decodeBeaconData', () => {
  it('reads standard, space-mangled and URL-safe base64 JSON', () => {
    const event = { page: '/a?b=c', n: 1, s: '\u00ff\u00fe>>' };
    const b64 = Buffer.from(JSON.stringify(event)).toString('base64');
    expect(decodeBeaconData(b64)).toEqual(event);
    expect(decodeBeaconData(b64.replace(/\+/g, ' '))).toEqual(event);
    expect(decodeBeaconData(b64.replace(/\+/g, '-').replace(/\//g, '_'))).toEqual(event);
  });

  it('answers 400-kind errors for missing, repeated or non-JSON data', () => {
    expect(() => decodeBeaconData(undefined)).toThrow(/must be a base64-encoded JSON event/);
    expect(() => decodeBeaconData(['a', 'b'])).toThrow(/must be a base64-encoded JSON event/);
    expect(() => decodeBeaconData(Buffer.from('{nope').toString('base64'))).toThrow(
      /"data" parameter \(base64-decoded\) is not valid JSON/,
    );
  });
});
