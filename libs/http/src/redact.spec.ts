import { redactLine, redactUrl } from './redact';

const KEY = 'ab'.repeat(32);

describe('log redaction', () => {
  it('masks api_key values in URLs, first or later parameter', () => {
    expect(redactUrl(`/3.0/projects/p/queries/count?api_key=${KEY}&event_collection=a`)).toBe(
      '/3.0/projects/p/queries/count?api_key=[redacted]&event_collection=a',
    );
    expect(redactUrl(`/x?a=1&API_KEY=${KEY}`)).toBe('/x?a=1&API_KEY=[redacted]');
    expect(redactUrl('/x?mykey_api_key=1')).toBe('/x?mykey_api_key=1');
  });

  it('masks api_key however its name and value are percent-encoded', () => {
    const encoded = [...KEY].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    expect(redactUrl(`/x?ap%69_key=${encoded}&a=1`)).toBe('/x?ap%69_key=[redacted]&a=1');
    expect(redactUrl(`/x?a=1&api%5Fkey=${encoded}`)).toBe('/x?a=1&api%5Fkey=[redacted]');
    expect(redactUrl(`/x?API%5fKEY=${encoded}#f`)).toBe('/x?API%5fKEY=[redacted]#f');
    expect(redactUrl(`/x?api%ZZkey=${encoded}`)).toBe(`/x?api%ZZkey=${encoded}`);
    const line = JSON.stringify({ url: `/x?ap%69%5f%4bey=${encoded}` });
    expect(redactLine(line)).not.toContain(encoded);
  });

  it('masks key-like tokens anywhere in a finished line, keeping shorter ids', () => {
    const line = JSON.stringify({
      msg: `bad url '/e?data=x&api_key=${KEY}'`,
      note: `key ${KEY.toUpperCase()}`,
      id: '0123456789abcdef01234567',
    });
    const out = redactLine(line);
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(KEY.toUpperCase());
    expect(out).toContain('0123456789abcdef01234567');
    expect(JSON.parse(out).note).toBe('key [redacted]');
  });
});
