/**
 * The four answers the store-scan benchmark asks every store for, and how to
 * compare Tally's result with a store's native one.
 */
export type ScanQueryKey = 'count' | 'filtered' | 'group' | 'sum';

export interface ScanQuery {
  key: ScanQueryKey;
  label: string;
  analysis: string;
  params: Record<string, unknown>;
}

export const SCAN_QUERIES: ScanQuery[] = [
  { key: 'count', label: 'count', analysis: 'count', params: {} },
  {
    key: 'filtered',
    label: 'count, country = FR',
    analysis: 'count',
    params: { filters: [{ property_name: 'country', operator: 'eq', property_value: 'FR' }] },
  },
  {
    key: 'group',
    label: 'count group_by country',
    analysis: 'count',
    params: { group_by: 'country' },
  },
  {
    key: 'sum',
    label: 'sum price group_by country',
    analysis: 'sum',
    params: { target_property: 'price', group_by: 'country' },
  },
];

/** A total, or a value per group. */
export type Answer = number | Map<string, number>;

/** One store's native way of computing each answer, and what it is called. */
export type NativeAnswers = Record<ScanQueryKey, { best: string; run: () => Promise<Answer> }>;

/** Tally's `{result}` as an Answer: a number, or a group_by array keyed by the group value. */
export function tallyAnswer(result: unknown, groupBy?: string): Answer {
  if (!groupBy) return result as number;
  const groups = new Map<string, number>();
  for (const row of result as Array<Record<string, unknown>>) {
    groups.set(String(row[groupBy]), row.result as number);
  }
  return groups;
}

/** Adds `value` to a group of a Map answer. */
export function addTo(groups: Map<string, number>, key: unknown, value: number): void {
  groups.set(String(key), (groups.get(String(key)) ?? 0) + value);
}

/** Exact equality (the generated prices sum exactly in any order); describes the first difference. */
export function sameAnswer(a: Answer, b: Answer): string | null {
  if (typeof a === 'number' || typeof b === 'number') {
    return a === b ? null : `${describe(a)} != ${describe(b)}`;
  }
  const keys = new Set([...a.keys(), ...b.keys()]);
  for (const k of keys) {
    if (a.get(k) !== b.get(k)) return `group ${k}: ${a.get(k)} != ${b.get(k)}`;
  }
  return null;
}

function describe(a: Answer): string {
  return typeof a === 'number' ? String(a) : JSON.stringify([...a]);
}
