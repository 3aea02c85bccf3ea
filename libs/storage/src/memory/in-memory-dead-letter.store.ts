import {
  DeadLetter,
  DeadLetterEntry,
  DeadLetterQuery,
  DeadLetterStore,
  deadLetterId,
} from '../ports/dead-letter-store.port';

/** For unit tests and the standalone process. */
export class InMemoryDeadLetterStore implements DeadLetterStore {
  private readonly entries = new Map<string, DeadLetter>();

  async add(entries: DeadLetterEntry[]): Promise<void> {
    for (const entry of entries) {
      const id = deadLetterId(entry.projectId, entry.event.id);
      this.entries.set(id, { ...structuredClone(entry), id, failedAt: new Date().toISOString() });
    }
  }

  async list(query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    return [...this.entries.values()]
      .filter(
        (e) =>
          (query.projectId === undefined || e.projectId === query.projectId) &&
          (!query.after || e.id > query.after),
      )
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, query.limit ?? 100)
      .map((e) => structuredClone(e));
  }

  async remove(ids: string[]): Promise<number> {
    return ids.filter((id) => this.entries.delete(id)).length;
  }

  async get(ids: string[]): Promise<DeadLetter[]> {
    return ids
      .map((id) => this.entries.get(id))
      .filter((e): e is DeadLetter => !!e)
      .map((e) => structuredClone(e));
  }

  async close(): Promise<void> {}
}
