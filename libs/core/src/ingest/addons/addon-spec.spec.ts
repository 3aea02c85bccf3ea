import { TallyError } from '@app/events';
import { MAX_ADDONS_PER_EVENT, parseAddonSpecs } from './addon-spec';

function refusal(addons: unknown): TallyError {
  try {
    parseAddonSpecs(addons as never);
  } catch (error) {
    return error as TallyError;
  }
  throw new Error('expected a refusal');
}

const geo = { name: 'keen:ip_to_geo', input: { ip: 'ip_address' }, output: 'ip_geo_info' };

describe('parseAddonSpecs (keen.addons as sent)', () => {
  it('reads each add-on with the input keys it needs, ignoring extra keys', () => {
    expect(
      parseAddonSpecs([
        geo,
        {
          name: 'keen:referrer_parser',
          input: { referrer_url: 'referrer.full', page_url: 'page.url', extra: 'x' },
          output: 'referrer.info',
        },
      ]),
    ).toEqual([
      { name: 'keen:ip_to_geo', input: { ip: 'ip_address' }, output: 'ip_geo_info' },
      {
        name: 'keen:referrer_parser',
        input: { referrer_url: 'referrer.full', page_url: 'page.url' },
        output: 'referrer.info',
      },
    ]);
    expect(parseAddonSpecs(undefined)).toEqual([]);
    expect(parseAddonSpecs([])).toEqual([]);
  });

  it('refuses an unknown name, naming the entry and the add-ons there are', () => {
    const error = refusal([geo, { name: 'keen:weather', input: {}, output: 'w' }]);
    expect(error).toBeInstanceOf(TallyError);
    expect(error.kind).toBe('invalid');
    expect(error.errorCode).toBe('InvalidAddonError');
    expect(error.message).toContain('keen.addons[1].name');
    expect(error.message).toContain('"keen:weather"');
    expect(error.message).toContain('keen:date_time_parser');
  });

  it('refuses a missing input, or an input that is not a property name', () => {
    const missing = refusal([{ name: 'keen:referrer_parser', input: { referrer_url: 'r' }, output: 'o' }]);
    expect(missing.errorCode).toBe('InvalidAddonError');
    expect(missing.message).toContain('keen.addons[0].input.page_url" is missing');
    expect(refusal([{ name: 'keen:ua_parser', output: 'o' }]).message).toContain('keen.addons[0].input');
    expect(refusal([{ name: 'keen:url_parser', input: { url: 5 }, output: 'o' }]).message).toContain(
      'input.url" is missing',
    );
    expect(refusal([{ name: 'keen:url_parser', input: { url: 'a..b' }, output: 'o' }]).message).toContain(
      'must not be empty',
    );
  });

  it('refuses an output in the keen namespace, a missing one, and one that is no property name', () => {
    for (const output of ['keen', 'keen.location', 'keen.id']) {
      const error = refusal([{ ...geo, output }]);
      expect(error.errorCode).toBe('InvalidAddonError');
      expect(error.message).toContain('keen namespace is reserved');
    }
    expect(refusal([{ ...geo, output: undefined }]).message).toContain('keen.addons[0].output');
    expect(refusal([{ ...geo, output: 'geo.__proto__' }]).message).toContain('reserved');
    expect(refusal([{ ...geo, output: '$geo' }]).message).toContain("'$'");
  });

  it('refuses more than the cap of add-ons and anything but a list of objects', () => {
    const many = Array.from({ length: MAX_ADDONS_PER_EVENT + 1 }, () => geo);
    expect(refusal(many).message).toContain(`at most ${MAX_ADDONS_PER_EVENT}`);
    expect(parseAddonSpecs(many.slice(1))).toHaveLength(MAX_ADDONS_PER_EVENT);
    expect(refusal({ name: 'keen:ip_to_geo' }).message).toContain('must be a list');
    expect(refusal(['keen:ip_to_geo']).message).toContain('keen.addons[0]" must be an object');
  });
});
