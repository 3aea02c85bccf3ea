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

  it('masks key-like tokens anywhere in a finished line, keeping shorter ids', () => {
    const line = JSON.stringify({ msg: `bad url '/e?data=x&api_key=${KEY}'`, note: `key ${KEY.toUpperCase()}`, id: '0123456789abcdef01234567' });
    const out = redactLine(line);
    expect(out).not.toContain(KEY);
    expect(out).not.toContain(KEY.toUpperCase());
    expect(out).toContain('0123456789abcdef01234567');
    expect(JSON.parse(out).note).toBe('key [redacted]');
  });
});
