/**
 * DuckDB allocates through its own jemalloc, which reads its settings from
 * DUCKDB_JE_MALLOC_CONF once, at its first allocation. By default it keeps
 * freed pages for seconds before returning them to the system, and a copy's
 * fill frees a great deal: each window's vectors, strings and checkpointed
 * blocks. Returning them at once kept a server filling 200,000 events ~110
 * MiB lower (docs/benchmarks.md, "engine-rss"), which is what keeps the query
 * process under 1 GiB at 10M events.
 */
export const DUCKDB_ALLOCATOR_CONF = 'dirty_decay_ms:0,muzzy_decay_ms:0';

/**
 * Sets DUCKDB_JE_MALLOC_CONF unless the operator did. Call it in the main
 * thread before DuckDB first allocates (opening a database): a worker
 * thread's process.env is its own copy, while jemalloc reads the process's.
 */
export function tuneDuckdbAllocator(env: NodeJS.ProcessEnv = process.env): void {
  env.DUCKDB_JE_MALLOC_CONF ??= DUCKDB_ALLOCATOR_CONF;
}
