import { requestLogLevel, requestLogLine } from './request-log';

describe('request log', () => {
  it('logs failures only: 4xx and expected 5xx as warnings, other 5xx as errors', () => {
    expect(requestLogLevel(200)).toBeUndefined();
    expect(requestLogLevel(201)).toBeUndefined();
    expect(requestLogLevel(304)).toBeUndefined();
    expect(requestLogLevel(400)).toBe('warn');
    expect(requestLogLevel(429)).toBe('warn');
    expect(requestLogLevel(503)).toBe('warn');
    expect(requestLogLevel(504)).toBe('warn');
    expect(requestLogLevel(507)).toBe('warn');
    expect(requestLogLevel(500)).toBe('error');
    expect(requestLogLevel(502)).toBe('error');
  });

  it('writes the id, method, redacted URL and harmless headers, never a key', () => {
    const key = 'a'.repeat(64);
    const line = requestLogLine(
      {
        id: 'req-1',
        method: 'POST',
        url: `/3.0/projects/p/events/c?api_key=${key}&x=1`,
        headers: {
          authorization: key,
          'user-agent': 'keen-tracking-js',
          'content-type': 'application/json',
          'content-length': '12',
        },
        socket: { remoteAddress: '127.0.0.1' },
      },
      400,
      3.6,
    );
    expect(line).toEqual({
      req: {
        id: 'req-1',
        method: 'POST',
        url: '/3.0/projects/p/events/c?api_key=[redacted]&x=1',
        user_agent: 'keen-tracking-js',
        content_type: 'application/json',
        content_length: '12',
        remote_address: '127.0.0.1',
      },
      res: { status_code: 400 },
      responseTime: 4,
    });
    expect(JSON.stringify(line)).not.toContain(key);
  });
});
