import {
  EventPersister,
  PersistOutcome,
  DeadLetter,
  DeadLetterStore,
  isRejectedEventsError,
} from '@app/storage';

/**
 * Persists dead-lettered events again (after their cause was fixed), then
 * removes the entries that were stored. Persisting first and removing after
 * makes an interrupted requeue safe to repeat: the write is idempotent by
 * keen.id. Events still refused stay, with the new reason.
 */
export async function requeueDeadLetters(
  store: DeadLetterStore,
  persister: Pick<EventPersister, 'persist'>,
  ids: string[],
): Promise<PersistOutcome & { stillRejected: number }> {
  const entries = await store.get(ids);
  const total = { inserted: 0, duplicates: 0, stillRejected: 0 };
  const byProject = new Map<string, DeadLetter[]>();
  for (const entry of entries)
    byProject.set(entry.projectId, [...(byProject.get(entry.projectId) ?? []), entry]);
  for (const [projectId, group] of byProject) {
    let refused = new Map<string, string>();
    try {
      const outcome = await persister.persist(
        projectId,
        group.map((e) => e.event),
      );
      total.inserted += outcome.inserted;
      total.duplicates += outcome.duplicates;
    } catch (error) {
      if (!isRejectedEventsError(error)) throw error;
      refused = new Map(error.rejected.map((r) => [r.id, r.reason]));
      // What the same write did with the others: an event already stored is a duplicate, not new.
      total.inserted += error.persisted.inserted;
      total.duplicates += error.persisted.duplicates;
    }
    total.stillRejected += refused.size;
    await store.add(
      group
        .filter((e) => refused.has(e.event.id))
        .map((e) => ({ ...e, reason: refused.get(e.event.id)! })),
    );
    await store.remove(group.filter((e) => !refused.has(e.event.id)).map((e) => e.id));
  }
  return total;
}
