import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SqliteChangeFeed } from '../../sqlite/sqlite-change-feed';
import { SqliteDatabase } from '../../sqlite/sqlite-database';
import { currentThreadId } from '../../thread-id';
import { openOrRebuild } from '../open-or-rebuild';
import { ColumnarThreadData, FromColumnar, ToColumnar } from './columnar-protocol';

/**
 * The body of the standalone server's columnar thread: it owns the columnar
 * copy (its DuckDB database and its own connections to the SQLite file), so
 * copying events (JSON parsing, flattening, appending) and running compiled
 * queries never take the HTTP thread's time. Queries arrive parsed; answers
 * go back as plain JSON. Anything that goes wrong in a query is a decline:
 * the TypeScript engine on the HTTP thread then answers, and reports errors.
 */
export async function runColumnarThread(): Promise<void> {
  if (isMainThread || !parentPort) throw new Error('the columnar copy runs in a worker thread');
  const port = parentPort;
  const data = workerData as ColumnarThreadData;
  const send = (message: FromColumnar) => port.postMessage(message);
  const db = new SqliteDatabase(data.file);
  const copy = await openOrRebuild(
    new SqliteChangeFeed(db),
    {
      path: data.copyPath,
      threads: data.threads,
      memoryLimit: data.memoryLimit,
      projectColumns: data.projectColumns,
      onError: (error) =>
        send({ type: 'round-failed', message: (error as Error)?.message ?? String(error) }),
      onProgress: (progress) => send({ type: 'progress', progress }),
    },
    (message) => send({ type: 'notice', message }),
  );
  copy.start();
  port.on('message', (message: ToColumnar) => {
    switch (message.type) {
      case 'answer': {
        // The host declines at the deadline and lets the TypeScript engine
        // answer; here the statement is interrupted at the same moment, so an
        // abandoned query does not hold the copy (and the queries behind it).
        const deadline = new AbortController();
        const timer = setTimeout(
          () => deadline.abort(),
          Math.max(0, message.now + (message.limits.deadlineMs ?? 60_000) - Date.now()),
        );
        copy
          .answer(message.projectId, message.query, {
            limits: message.limits,
            now: new Date(message.now),
            signal: deadline.signal,
          })
          .catch((error: unknown) => ({
            declined: `columnar thread: ${(error as Error)?.message ?? String(error)}`,
          }))
          .then((answer) => {
            clearTimeout(timer);
            send({ type: 'answered', id: message.id, answer });
          });
        break;
      }
      case 'close':
        void copy.close().finally(() => {
          db.close();
          send({ type: 'closed' });
          port.close();
        });
        break;
    }
  });
  send({ type: 'ready', tid: currentThreadId() });
}
