import { uaParser } from './ua-parser.addon';

const MAC_CHROME =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36';
const IPHONE_SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1';
const ANDROID_CHROME =
  'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36';

describe('keen:ua_parser', () => {
  it('parses a desktop browser into browser, os and device families with version parts', () => {
    expect(uaParser(MAC_CHROME)).toEqual({
      browser: { family: 'Chrome', major: '120', minor: '0', patch: '6099' },
      os: { family: 'Mac OS X', major: '10', minor: '15', patch: '7', patch_minor: null },
      device: { family: 'Other' },
    });
  });

  it('names phones by model, with the vendor when the model does not carry it', () => {
    expect(uaParser(IPHONE_SAFARI)).toEqual({
      browser: { family: 'Mobile Safari', major: '17', minor: '1', patch: '2' },
      os: { family: 'iOS', major: '17', minor: '1', patch: '2', patch_minor: null },
      device: { family: 'iPhone' },
    });
    expect(uaParser(ANDROID_CHROME)).toEqual({
      browser: { family: 'Chrome', major: '119', minor: '0', patch: '0' },
      os: { family: 'Android', major: '13', minor: null, patch: null, patch_minor: null },
      device: { family: 'Samsung SM-S911B' },
    });
  });

  it('gives "Other" for what it does not recognise, and nothing for a non-string', () => {
    expect(uaParser('curl-ish/0')).toEqual({
      browser: { family: 'Other', major: null, minor: null, patch: null },
      os: { family: 'Other', major: null, minor: null, patch: null, patch_minor: null },
      device: { family: 'Other' },
    });
    expect(uaParser(undefined)).toBeUndefined();
    expect(uaParser({ ua: 'x' })).toBeUndefined();
  });

  it('parses a hostile, very long string quickly (only its head is read)', () => {
    const start = performance.now();
    const result = uaParser(`Mozilla/5.0 (${'('.repeat(200_000)}`);
    expect(result?.browser).toBeDefined();
    // A bound against backtracking over the whole string (seconds to minutes),
    // not a speed figure: a loaded CI machine took over 200 ms for the head alone.
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});
