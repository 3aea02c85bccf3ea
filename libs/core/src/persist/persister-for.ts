import { EventPersister, Stores } from '@app/storage';
import { MarkedEventPersister } from './marked-event.persister';
import { UnitOfWorkEventPersister } from './unit-of-work.persister';

/**
 * The one persister a process runs over its stores, chosen by how the store
 * keeps counters exact. Every writer uses it: the inline queue, the worker,
 * requeued dead letters, so no path writes without exact counters.
 */
export function persisterFor(
  stores: Pick<Stores, 'events' | 'metadata' | 'unitOfWork' | 'writes' | 'maxProperties'> &
    Partial<Pick<Stores, 'datasets'>>,
  options: { takeoverAfterMs?: number } = {},
): EventPersister {
  const w = stores.writes;
  if (w.kind === 'transactional') {
    return new UnitOfWorkEventPersister(
      stores.events,
      stores.metadata,
      stores.unitOfWork,
      stores.maxProperties,
      stores.datasets,
    );
  }
  return new MarkedEventPersister({
    writer: w.writer,
    ledger: w.ledger,
    maxProperties: stores.maxProperties,
    takeoverAfterMs: options.takeoverAfterMs,
    datasets: stores.datasets,
  });
}
