import { requestClient } from './request-origin';

const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0';

describe('requestClient (the address behind ${keen.ip})', () => {
  const proxied = { 'x-real-ip': '81.2.69.142', 'x-forwarded-for': '81.2.69.142', 'user-agent': UA };

  it('believes the proxy headers only with TRUST_PROXY and a peer on loopback or a private network', () => {
    expect(requestClient(proxied, '127.0.0.1', true)).toEqual({ ip: '81.2.69.142', userAgent: UA });
    expect(requestClient(proxied, '::ffff:127.0.0.1', true)).toEqual({ ip: '81.2.69.142', userAgent: UA });
    expect(requestClient(proxied, '172.18.0.5', true).ip).toBe('81.2.69.142');
    expect(requestClient(proxied, '::1', true).ip).toBe('81.2.69.142');
    // Without TRUST_PROXY, or from a public peer, the header is the client's own word.
    expect(requestClient(proxied, '127.0.0.1', false).ip).toBe('127.0.0.1');
    expect(requestClient(proxied, '203.0.113.9', true).ip).toBe('203.0.113.9');
    expect(requestClient(proxied, '::ffff:203.0.113.9', false).ip).toBe('203.0.113.9');
  });

  it('takes the last X-Forwarded-For entry (the one the nearest proxy added) when there is no X-Real-IP', () => {
    const headers = { 'x-forwarded-for': '1.2.3.4, 8.8.8.8' };
    expect(requestClient(headers, '10.0.0.2', true).ip).toBe('8.8.8.8');
    expect(requestClient({ 'x-real-ip': 'garbage', 'x-forwarded-for': 'junk' }, '10.0.0.2', true).ip).toBe('10.0.0.2');
  });

  it('gives no address or user agent it does not have', () => {
    expect(requestClient({}, undefined, true)).toEqual({});
    expect(requestClient({ 'user-agent': ['a', 'b'] }, 'nonsense', false)).toEqual({ userAgent: 'a' });
  });
});
