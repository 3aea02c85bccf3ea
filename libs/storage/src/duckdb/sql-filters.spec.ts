import { Filter } from '@app/query-engine';
import { ColumnKind } from './column-layout';
import { filtersSql, literalRegex, PathColumns } from './sql-filters';
import { SqlParams } from './sql-params';

const HOSTILE = `a"; DROP TABLE events; --`;

/** Every path has every kind, named c0…c9 in COLUMN_KINDS order. */
const allKinds: PathColumns = new Map(
  (['n', 's', 'ns', 't', 'b', 'z', 'a', 'e', 'o'] as ColumnKind[]).map((k, i) => [k, `c${i}`]),
);

function compile(filters: Filter[]): { sql: string; params: unknown[] } {
  const params = new SqlParams();
  const sql = filtersSql(filters, {
    columnsOf: () => allKinds,
    params,
    maxInValues: 100,
    maxRegexLength: 100,
  });
  return { sql, params: params.values };
}

describe('filtersSql', () => {
  it('puts no tenant text in SQL: paths become column names, values parameters', () => {
    const value = `x'); DROP TABLE events; --`;
    const ops: Filter['operator'][] = ['eq', 'ne', 'lt', 'gte', 'contains', 'not_contains'];
    for (const operator of ops) {
      const { sql, params } = compile([{ property_name: HOSTILE, operator, property_value: value }]);
      expect(sql).not.toMatch(/DROP|'/);
      expect(params).toContain(value);
    }
    // A regex literal may hold quotes and dashes too.
    const literal = `^x' OR 1=1 --`;
    const regex = compile([{ property_name: HOSTILE, operator: 'regex', property_value: literal }]);
    expect(regex.sql).not.toMatch(/OR 1|'/);
    expect(regex.params).toContain(`x' OR 1=1 --`);
    const { sql, params } = compile([
      { property_name: HOSTILE, operator: 'in', property_value: [value, { [HOSTILE]: 1 }, [value]] },
    ]);
    expect(sql).not.toMatch(/DROP|'/);
    expect(params).toEqual(expect.arrayContaining([value, `{"${HOSTILE.replace(/"/g, '\\"')}":1}`]));
  });

  it('numbers every placeholder it uses, and uses every parameter it binds', () => {
    const { sql, params } = compile([
      { property_name: 'p', operator: 'in', property_value: [1, '2', '2024-03-10', true, null] },
      {
        property_name: 'q',
        operator: 'or',
        operands: [
          { property_name: 'q', operator: 'gt', property_value: '2024-03-10T12:00:00Z' },
          { property_name: 'q', operator: 'eq', property_value: ['x'] },
        ],
      },
    ]);
    const used = new Set([...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    expect([...used].sort((a, b) => a - b)).toEqual(params.map((_, i) => i + 1));
  });
});

describe('literalRegex', () => {
  it('recognises plain literals, optionally anchored', () => {
    expect(literalRegex('^2024-03')).toEqual({ literal: '2024-03', start: true, end: false });
    expect(literalRegex('b$')).toEqual({ literal: 'b', start: false, end: true });
    expect(literalRegex('^ok$')).toEqual({ literal: 'ok', start: true, end: true });
    expect(literalRegex('1')).toEqual({ literal: '1', start: false, end: false });
    expect(literalRegex('')).toEqual({ literal: '', start: false, end: false });
  });

  it('leaves every pattern with a metacharacter to the engine', () => {
    for (const p of ['.*', 'a|B', '^\\s*\\d+\\s*$', 'a+', '(a)', '[ab]', 'a{2}', 'a?', '\\.', '^^a', 'a$$']) {
      expect(literalRegex(p)).toBeUndefined();
    }
  });
});
