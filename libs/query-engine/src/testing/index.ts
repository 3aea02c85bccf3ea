// Test helpers, kept out of the main entry point so production code cannot
// depend on them. The store contract suite reuses these against real stores.
export { InMemoryEventSource, storedEvent } from './in-memory-event-source';
export type { InMemoryEventSourceOptions } from './in-memory-event-source';
export { referenceEvaluate, ReferenceLimitError } from './reference-evaluator';
export type { CollectionData } from './reference-evaluator';
export * from './event-arbitraries';
export * from './query-arbitraries';
export { expectSameAnswer } from './same-answer';
export {
  assertEngineMatchesReference,
  checkAgainstReference,
  loadInMemory,
} from './engine-vs-reference';
export type { LoadEvents, ReferencePropertyOptions } from './engine-vs-reference';
