import { CollectionEvent, parseJsonText, prepareImportedEvent, TallyError } from '@app/events';
import { EventPersister, isRejectedEventsError } from '@app/storage';

export interface ImportOutcome {
  /** Events stored by this import. */
  imported: number;
  /** Events whose keen.id was already stored (or earlier in the same input). */
  duplicates: number;
  /** Lines refused (invalid JSON or event, or refused by the store); each is reported. */
  refused: number;
}

export interface RefusedLine {
  line: number;
  reason: string;
}

export interface ImportOptions {
  maxEventBytes: number;
  /** Events per persister call (default 500). */
  batchSize?: number;
  /** Each refused line as it is found (line numbers start at 1). */
  onRefused?: (refused: RefusedLine) => void;
  /** After each batch: lines read so far and the running outcome. */
  onProgress?: (progress: ImportOutcome & { lines: number }) => void;
}

/**
 * Imports exported events (one JSON event per line; blank lines are skipped)
 * into a collection through the deployment's own persister, in bounded
 * batches, so schema counters stay exact. Every line is parsed with the safe
 * parser and validated like a write; each event keeps its keen.id and
 * keen.timestamp, so importing the same file again stores nothing twice.
 */
export async function importEvents(
  persister: Pick<EventPersister, 'persist'>,
  projectId: string,
  collection: string,
  lines: AsyncIterable<string>,
  options: ImportOptions,
): Promise<ImportOutcome> {
  const batchSize = options.batchSize ?? 500;
  const outcome: ImportOutcome = { imported: 0, duplicates: 0, refused: 0 };
  let lineNo = 0;
  let batch: CollectionEvent[] = [];
  let lineOf = new Map<string, number>();
  const refuse = (line: number, reason: string) => {
    outcome.refused++;
    options.onRefused?.({ line, reason });
  };

  const flush = async () => {
    if (batch.length > 0) {
      try {
        const stored = await persister.persist(projectId, batch);
        outcome.imported += stored.inserted;
        outcome.duplicates += stored.duplicates;
      } catch (error) {
        if (!isRejectedEventsError(error)) throw error;
        // The rest of the batch was stored and counted; these never will be.
        outcome.imported += error.persisted.inserted;
        outcome.duplicates += error.persisted.duplicates;
        for (const r of error.rejected)
          refuse(lineOf.get(r.id) ?? 0, `refused by the store: ${r.reason}`);
      }
    }
    batch = [];
    lineOf = new Map();
    options.onProgress?.({ ...outcome, lines: lineNo });
  };

  for await (const text of lines) {
    lineNo++;
    if (text.trim().length === 0) continue;
    let event: CollectionEvent;
    try {
      event = prepareImportedEvent(collection, parseJsonText(text, 'The line'), {
        maxEventBytes: options.maxEventBytes,
      });
    } catch (error) {
      if (!(error instanceof TallyError)) throw error;
      refuse(lineNo, error.message);
      continue;
    }
    if (lineOf.has(event.id)) {
      // The same keen.id twice in one batch: the first one is the one stored.
      outcome.duplicates++;
      continue;
    }
    lineOf.set(event.id, lineNo);
    batch.push(event);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return outcome;
}
