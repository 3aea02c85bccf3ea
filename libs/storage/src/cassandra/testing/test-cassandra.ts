import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cassandraService as cassandra, freePorts } from '@tools/stack';

/**
 * Test-only: a single-node Cassandra started by the stack script on free
 * ports in a temporary state dir, or the one named by
 * CASSANDRA_CONTACT_POINTS (comma-separated host:port) when it is set.
 */
export interface TestCassandra {
  contactPoints: string[];
  stop(): Promise<void>;
}

export async function startTestCassandra(): Promise<TestCassandra> {
  const given = process.env.CASSANDRA_CONTACT_POINTS;
  if (given)
    return { contactPoints: given.split(',').map((s) => s.trim()), stop: async () => undefined };
  const stateDir = mkdtempSync(join(tmpdir(), 'tally-cassandra-'));
  const [port, storagePort] = await freePorts(2);
  const handle = await cassandra.start({
    name: 'cassandra',
    port,
    storagePort,
    stateDir,
    heap: '768M',
  });
  return {
    contactPoints: [`127.0.0.1:${port}`],
    stop: async () => {
      await handle.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A keyspace name of its own per test file run, so runs against a shared server never meet. */
export function testKeyspace(tag: string): string {
  return `tally_${tag}_${process.pid}_${Date.now().toString(36)}`.toLowerCase().slice(0, 48);
}
