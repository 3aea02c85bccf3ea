// The embedded engine's adapter: DuckDB typed columns and the compiled query
// path (docs/storage-engine.md, "The compiled query path"). Only plain types
// cross this boundary; @duckdb/node-api stays inside this folder.
export { DuckdbQueryEngine } from './duckdb-query-engine';
export type { CompiledQueryContext } from './duckdb-query-engine';
export { DuckdbEventTable } from './event-table';
export type { EventTableOptions } from './event-table';
export type { Compilation, CompiledQuery } from './compile-query';
export { flattenEvent } from './column-layout';
export type { Cell, ColumnKind } from './column-layout';
export { ColumnarCopy } from './columnar-copy';
export type { CopyProgress } from './columnar-copy';
export { openColumnarCopy } from './open-columnar-copy';
export { DUCKDB_ALLOCATOR_CONF, tuneDuckdbAllocator } from './duckdb-allocator';
export { ColumnarThread } from './columnar-thread/columnar-thread';
export { runColumnarThread } from './columnar-thread/columnar-thread.body';
export { threadpoolSize } from './columnar-thread/query-priority';
