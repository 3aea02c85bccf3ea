import { DUCKDB_ALLOCATOR_CONF, tuneDuckdbAllocator } from './duckdb-allocator';

describe('tuneDuckdbAllocator', () => {
  it("sets DuckDB's allocator to return freed memory at once", () => {
    const env: NodeJS.ProcessEnv = {};
    tuneDuckdbAllocator(env);
    expect(env.DUCKDB_JE_MALLOC_CONF).toBe(DUCKDB_ALLOCATOR_CONF);
    expect(DUCKDB_ALLOCATOR_CONF).toBe('dirty_decay_ms:0,muzzy_decay_ms:0');
  });

  it("keeps the operator's own setting", () => {
    const env: NodeJS.ProcessEnv = { DUCKDB_JE_MALLOC_CONF: 'dirty_decay_ms:5000' };
    tuneDuckdbAllocator(env);
    expect(env.DUCKDB_JE_MALLOC_CONF).toBe('dirty_decay_ms:5000');
  });
});
