import { InMemoryDeadLetterStore } from './in-memory-dead-letter.store';
import { describeDeadLetterStoreContract } from '../testing/dead-letter-store.contract';

/** The shared DeadLetterStore contract on the in-memory adapter (standalone and unit tests use it). */
describeDeadLetterStoreContract('memory', async () => {
  const store = new InMemoryDeadLetterStore();
  return { store, close: () => store.close() };
});
