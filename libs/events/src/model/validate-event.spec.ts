import { TallyError } from '../errors';
import { validateEventShape } from './validate-event';

function codeOf(body: unknown): string | undefined {
  try {
    validateEventShape(body);
    return undefined;
  } catch (error) {
    return error instanceof TallyError ? error.errorCode : String(error);
  }
}

describe('validateEventShape: lists', () => {
  it('accepts lists of strings, numbers, booleans and null, nested in objects too', () => {
    expect(codeOf({ tags: ['a', 1, true, null], user: { ids: [1, 2] }, empty: [] })).toBeUndefined();
    expect(codeOf({ keen: { location: { coordinates: [2.35, 48.85] } } })).toBeUndefined();
  });

  it('refuses a list holding an object or a list, at any depth, with the path in the message', () => {
    expect(codeOf({ items: [{ sku: 'a' }] })).toBe('ListsOfNonPrimitivesNotAllowedError');
    expect(codeOf({ matrix: [[1, 2]] })).toBe('ListsOfNonPrimitivesNotAllowedError');
    expect(codeOf({ a: { b: [1, { c: 1 }] } })).toBe('ListsOfNonPrimitivesNotAllowedError');
    expect(() => validateEventShape({ a: { b: [1, { c: 1 }] } })).toThrow(/"a\.b" is a list holding an object/);
  });

  it('names a bad property name inside a list before refusing the list', () => {
    expect(codeOf({ l: [{ $bad: 1 }] })).toBe('InvalidPropertyNameError');
  });

  it('lets keen.addons, the server-read list of add-on declarations, through', () => {
    const addons = [{ name: 'keen:url_parser', input: { url: 'page' }, output: 'parsed' }];
    expect(codeOf({ page: 'https://example.com/', keen: { addons } })).toBeUndefined();
    expect(codeOf({ user: { keen: { addons } } })).toBe('ListsOfNonPrimitivesNotAllowedError');
  });
});
