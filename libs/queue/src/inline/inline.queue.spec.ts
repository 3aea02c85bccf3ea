import { EventBatch, TallyError } from '@app/events';
import { EventPersister, PersistOutcome } from '@app/storage';
import { InlineQueue } from './inline.queue';

/** A persister whose commits finish when the test says so; it records every group it was given. */
class ManualPersister implements EventPersister {
  readonly groups: string[][] = [];
  private readonly finish: Array<(error?: Error) => void> = [];

  onSchemaCapped(): void {}

  persist(): Promise<PersistOutcome> {
    throw new Error('the queue commits with persistAll');
  }

  persistAll(batches: EventBatch[]): Promise<PersistOutcome> {
    this.groups.push(batches.map((b) => b.batchId));
    return new Promise((resolve, reject) => {
      this.finish.push((error) =>
        error ? reject(error) : resolve({ inserted: batches.length, duplicates: 0 }),
      );
    });
  }

  /** Ends the oldest commit still running. */
  complete(error?: Error): void {
    this.finish.shift()!(error);
  }

  get running(): number {
    return this.finish.length;
  }
}

function batch(id: string, events = 1): EventBatch {
  return {
    batchId: id,
    projectId: 'p',
    events: Array.from({ length: events }, (_, i) => ({
      collection: 'c',
      id: `${id}-${i}`,
      timestamp: 0,
      event: { i },
    })),
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('InlineQueue', () => {
  it('groups what arrives while commits run, with at most maxInFlight commits at once', async () => {
    const persister = new ManualPersister();
    const queue = new InlineQueue(persister, { maxInFlight: 2 });
    const settled: string[] = [];
    const send = (id: string) => queue.enqueue(batch(id)).then(() => settled.push(id));
    const first = [send('a'), send('b')];
    await turn();
    const second = [send('c')];
    await turn();
    const third = [send('d'), send('e'), send('f')];
    await turn();
    // a and b shared the first commit, c the second; d, e, f wait for a free slot.
    expect(persister.groups).toEqual([['a', 'b'], ['c']]);
    expect(persister.running).toBe(2);
    persister.complete();
    await Promise.all(first);
    await turn();
    expect(persister.groups).toEqual([['a', 'b'], ['c'], ['d', 'e', 'f']]);
    persister.complete();
    persister.complete();
    await Promise.all([...second, ...third]);
    expect(settled.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(queue.queued).toBe(0);
  });

  it('answers 503 past maxQueuedEvents at once, stores nothing of it, and takes events again once commits free room', async () => {
    const persister = new ManualPersister();
    const queue = new InlineQueue(persister, { maxQueuedEvents: 10 });
    const accepted = [queue.enqueue(batch('a', 6)), queue.enqueue(batch('b', 4))];
    await turn();
    expect(queue.queued).toBe(10);
    const refused = await queue.enqueue(batch('c', 1)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TallyError);
    expect(refused).toMatchObject({
      kind: 'unavailable',
      errorCode: 'ServiceUnavailableError',
      retryAfterSeconds: 1,
    });
    expect((refused as Error).message).toContain('10 events not yet committed');
    persister.complete();
    await Promise.all(accepted);
    expect(queue.queued).toBe(0);
    // A batch larger than the cap is taken when nothing else waits.
    const big = queue.enqueue(batch('d', 25));
    await turn();
    persister.complete();
    await big;
    expect(persister.groups).toEqual([['a', 'b'], ['d']]);
  });

  it('fails every request of a failed commit with its error and keeps going', async () => {
    const persister = new ManualPersister();
    const queue = new InlineQueue(persister);
    const failed = [queue.enqueue(batch('a')), queue.enqueue(batch('b'))].map((p) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    await turn();
    persister.complete(new Error('disk on fire'));
    expect(await Promise.all(failed)).toEqual(['disk on fire', 'disk on fire']);
    const next = queue.enqueue(batch('c'));
    await turn();
    persister.complete();
    await next;
    expect(persister.groups).toEqual([['a', 'b'], ['c']]);
    expect(queue.queued).toBe(0);
  });

  it('close() refuses new events and resolves once the accepted ones are committed', async () => {
    const persister = new ManualPersister();
    const queue = new InlineQueue(persister);
    const accepted = queue.enqueue(batch('a'));
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await expect(queue.enqueue(batch('b'))).rejects.toMatchObject({
      errorCode: 'ServiceUnavailableError',
    });
    await turn();
    expect(closed).toBe(false);
    persister.complete();
    await accepted;
    await closing;
    expect(closed).toBe(true);
    expect(persister.groups).toEqual([['a']]);
  });
});
