import { JsonObject } from '@app/events';
import { Cell, flattenEvent, valueFromColumns } from './column-layout';

const cellsOf = (body: JsonObject): string[] =>
  flattenEvent(body).map((c: Cell) => `${c.path}:${c.kind}=${JSON.stringify(c.value)}`);

describe('flattenEvent', () => {
  it('gives each JSON type of the mixed-type score its own column', () => {
    expect(cellsOf({ score: 75 })).toEqual(['score:n=75']);
    expect(cellsOf({ score: 'high' })).toEqual(['score:s="high"']);
    expect(cellsOf({ score: ' 7.5 ' })).toEqual(['score:s=" 7.5 "', 'score:ns=7.5']);
    expect(cellsOf({ score: '1e3' })).toEqual(['score:s="1e3"', 'score:ns=1000']);
    expect(cellsOf({ score: null })).toEqual(['score:z=true']);
    expect(cellsOf({ score: true })).toEqual(['score:b=true']);
    expect(cellsOf({})).toEqual([]);
  });

  it('fills the numeric-string column by the engine rule only (no hex, Infinity or blank)', () => {
    for (const s of ['0x10', 'Infinity', '', ' ', '1,5', '1e999']) {
      expect(cellsOf({ v: s })).toEqual([`v:s=${JSON.stringify(s)}`]);
    }
  });

  it('records the instant of datetime strings in any ISO notation', () => {
    const instant = Date.UTC(2024, 2, 10, 12);
    expect(cellsOf({ at: '2024-03-10T08:00:00-04:00' })).toEqual([
      'at:s="2024-03-10T08:00:00-04:00"',
      `at:t=${instant}`,
    ]);
    expect(cellsOf({ at: '2024-03-10T12:00:00Z' })).toContain(`at:t=${instant}`);
    expect(cellsOf({ at: '2024-02-30' })).toEqual(['at:s="2024-02-30"']);
  });

  it('walks nested objects by dotted path and keeps each object as canonical JSON', () => {
    expect(cellsOf({ user: { plan: 'pro', geo: { country: 'FR' } } })).toEqual([
      'user:o="{\\"geo\\":{\\"country\\":\\"FR\\"},\\"plan\\":\\"pro\\"}"',
      'user.plan:s="pro"',
      'user.geo:o="{\\"country\\":\\"FR\\"}"',
      'user.geo.country:s="FR"',
    ]);
  });

  it('keeps arrays whole (canonical JSON) plus typed elements, and does not walk into them', () => {
    expect(cellsOf({ tags: [{ b: 1, a: 2 }, ' 5', null, [1], true] })).toEqual([
      'tags:a="[{\\"a\\":2,\\"b\\":1},\\" 5\\",null,[1],true]"',
      'tags:e=[{"o":"{\\"a\\":2,\\"b\\":1}"},{"s":" 5","ns":5},{"z":true},{},{"b":true}]',
    ]);
  });

  it('leaves out keys no query path can address (they contain a dot)', () => {
    expect(cellsOf({ 'a.b': 1, a: { b: 2 } })).toEqual(['a:o="{\\"b\\":2}"', 'a.b:n=2']);
  });

  it('takes hostile keys as plain paths: own __proto__, quotes and SQL', () => {
    const body = JSON.parse('{"__proto__": {"x": 1}, "a\\"; DROP TABLE x; --": "v"}') as JsonObject;
    expect(cellsOf(body)).toEqual([
      '__proto__:o="{\\"x\\":1}"',
      '__proto__.x:n=1',
      'a"; DROP TABLE x; --:s="v"',
    ]);
  });

  it('marks strings UTF-8 cannot carry and treats -0 as 0', () => {
    expect(cellsOf({ s: 'a\ud800' })).toEqual(['s:u=true']);
    // The whole array is safe as JSON text (the surrogate is escaped); its elements are not.
    const l = ['ok', '\udc00'];
    expect(cellsOf({ l })).toEqual([`l:a=${JSON.stringify(JSON.stringify(l))}`, 'l:u=true']);
    expect(flattenEvent({ n: -0 })[0].value).toBe(0);
    expect(Object.is(flattenEvent({ n: -0 })[0].value, -0)).toBe(false);
  });
});

describe('valueFromColumns', () => {
  it('rebuilds the JSON value from the value-kind columns (n, s, b, a, o)', () => {
    expect(valueFromColumns([2.5, null, null, null, null])).toBe(2.5);
    expect(valueFromColumns([null, '2.5', null, null, null])).toBe('2.5');
    expect(valueFromColumns([null, null, false, null, null])).toBe(false);
    expect(valueFromColumns([null, null, null, '[1,"1"]', null])).toEqual([1, '1']);
    expect(valueFromColumns([null, null, null, null, '{"x":null}'])).toEqual({ x: null });
    expect(valueFromColumns([null, null, null, null, null])).toBeNull();
  });
});
