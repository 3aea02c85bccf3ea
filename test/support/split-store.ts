/**
 * Which event store the split e2e suite and the split bench run on: `STORE=mongo`
 * (default) or `STORE=cassandra` (events in Cassandra; metadata and schema
 * counters stay in the Mongo-wire server). Read here, not in the stack scripts,
 * so a bad value fails before any server starts. No project imports: the jest
 * global setup loads this file without the path aliases.
 */
export type SplitStore = 'mongo' | 'cassandra';

export function splitStore(env: Record<string, string | undefined> = process.env): SplitStore {
  const raw = env.STORE || 'mongo';
  if (raw !== 'mongo' && raw !== 'cassandra') {
    throw new Error(`STORE must be mongo or cassandra for the split e2e suite, got "${raw}"`);
  }
  return raw;
}
