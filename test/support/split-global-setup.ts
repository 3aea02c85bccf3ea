/**
 * Global setup of the `e2e-split` jest project: installs the stack's servers
 * once (apt packages, the Mongo-wire server jar, and with STORE=cassandra Java 17
 * plus Cassandra's jars from Maven Central) before any spec starts a stack.
 * A fresh machine spends minutes here, which no beforeAll timeout should have
 * to cover; each spec's beforeAll then pays only for starting its servers.
 */
// Relative, not '@tools/stack': jest loads a global setup without the moduleNameMapper.
// eslint-disable-next-line boundaries/no-relative-cross-unit -- the alias cannot resolve here
import { cassandraService, mongoService, nginxService, redisService } from '../../tools/stack';
import { splitStore } from './split-store';

export default function splitGlobalSetup(): void {
  redisService.install();
  nginxService.install();
  mongoService.install();
  if (splitStore() === 'cassandra') cassandraService.install();
}
