import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { aptInstall, hasCommand } from '../apt-install';
import { withInstallLock } from '../install-lock';
import {
  assertPortFree,
  liveRecord,
  spawnRecorded,
  serviceHandle,
  stopRecorded,
  waitReady,
} from '../process-control';
import { cacheDir, confDir, dataDir } from '../stack-paths';
import { ServiceHandle, ServiceStartOptions } from '../service.types';

/**
 * Cassandra from Maven Central jars (no tarball can be downloaded here):
 *   1. a throwaway pom depending on org.apache.cassandra:cassandra-all:<version>;
 *   2. `mvn -B -q maven-dependency-plugin:3.8.1:copy-dependencies -DincludeScope=runtime`
 *      into ~/.cache/tally/cassandra-<version>/lib (about 100 jars, ~30 s the first time);
 *   3. `java` CassandraDaemon in the foreground with the jamm agent, the Java 17
 *      module flags of conf/jvm17-server.options, a minimal cassandra.yaml and logback.xml.
 * Cassandra 5.0 runs on Java 17 (4.1 does not). Ready when CQL answers (~10 s).
 */
export const CASSANDRA_VERSION = '5.0.9';

export interface CassandraStartOptions extends ServiceStartOptions {
  /** Inter-node (gossip) port; 7000 by default, change it to run two instances. */
  storagePort?: number;
  /** JVM heap, both -Xms and -Xmx (default 1G). */
  heap?: string;
}

export function homeDir(version = CASSANDRA_VERSION): string {
  return join(cacheDir(), `cassandra-${version}`);
}

function libDir(): string {
  return join(homeDir(), 'lib');
}

function pom(version: string): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.tally.local</groupId>
  <artifactId>cassandra-runtime</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>${version}</version>
    </dependency>
  </dependencies>
</project>
`;
}

/** Java 17 and Maven from apt if missing; the jars into the cache once. */
export function install(): void {
  const missing: string[] = [];
  if (!hasCommand('java')) missing.push('openjdk-17-jre-headless');
  if (!hasCommand('mvn')) missing.push('maven');
  if (missing.length) {
    process.stderr.write(`installing ${missing.join(', ')} (apt-get)...\n`);
    aptInstall(missing);
  }
  const lib = libDir();
  const complete = () => existsSync(join(lib, `cassandra-all-${CASSANDRA_VERSION}.jar`));
  if (complete()) return;
  withInstallLock(`cassandra-${CASSANDRA_VERSION}`, () => {
    if (complete()) return;
    const home = homeDir();
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'pom.xml'), pom(CASSANDRA_VERSION));
    process.stderr.write(`downloading Cassandra ${CASSANDRA_VERSION} jars into ${lib} (once)...\n`);
    // Into a temporary dir renamed at the end: an interrupted download is never taken as complete.
    const partial = `${lib}.partial`;
    rmSync(partial, { recursive: true, force: true });
    execFileSync(
      'mvn',
      [
        '-B',
        '-q',
        'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
        `-DoutputDirectory=${partial}`,
        '-DincludeScope=runtime',
      ],
      { cwd: home, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    rmSync(lib, { recursive: true, force: true });
    renameSync(partial, lib);
  });
}

function jammJar(): string {
  const jar = readdirSync(libDir()).find((f) => /^jamm-.*\.jar$/.test(f));
  if (!jar)
    throw new Error(`no jamm jar in ${libDir()}: Cassandra cannot start without its javaagent`);
  return join(libDir(), jar);
}

export function renderYaml(opts: CassandraStartOptions): string {
  const storagePort = opts.storagePort ?? 7000;
  return `# Rendered by tools/stack/services/cassandra.service.ts: a single loopback node.
cluster_name: tally
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
# batch: a write is acknowledged only once the commit log is synced. With
# periodic sync a SIGKILL lost acknowledged writes: replay stops at the last
# sync marker, so up to a period of writes already in the page cache is
# skipped (the store-down spec lost by-id claim rows this way, and a
# redelivery then counted those events twice). One node has no replica to
# cover that window.
commitlog_sync: batch
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:${storagePort}"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: ${storagePort}
native_transport_port: ${opts.port}
start_native_transport: true
`;
}

const LOGBACK = `<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
`;

/** Module flags from Cassandra's conf/jvm17-server.options (5.0 branch and trunk merged). */
export const JVM17_FLAGS = [
  '-Djdk.attach.allowAttachSelf=true',
  '--add-exports',
  'java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports',
  'java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-exports',
  'java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-exports',
  'java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED',
  '--add-exports',
  'java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports',
  'java.rmi/sun.rmi.server=ALL-UNNAMED',
  '--add-exports',
  'java.sql/java.sql=ALL-UNNAMED',
  '--add-exports',
  'java.base/java.lang.ref=ALL-UNNAMED',
  '--add-exports',
  'jdk.unsupported/sun.misc=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang.module=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.loader=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.reflect=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.math=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.module=ALL-UNNAMED',
  '--add-opens',
  'java.base/jdk.internal.util.jar=ALL-UNNAMED',
  '--add-opens',
  'jdk.management/com.sun.management.internal=ALL-UNNAMED',
  '--add-opens',
  'java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.io=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.util=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.nio=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.util.concurrent.atomic=ALL-UNNAMED',
  '--add-opens',
  'java.base/java.lang.ref=ALL-UNNAMED',
  '-Dio.netty.tryReflectionSetAccessible=true',
];

/** The full java command line (also written, verbatim, into docs/operations.md). */
export function javaArgs(opts: CassandraStartOptions, conf: string, storage: string): string[] {
  const heap = opts.heap ?? '1G';
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:+ExitOnOutOfMemoryError',
    `-javaagent:${jammJar()}`,
    ...JVM17_FLAGS,
    '-Dcassandra-foreground=yes',
    `-Dcassandra.config=file://${join(conf, 'cassandra.yaml')}`,
    `-Dcassandra.storagedir=${storage}`,
    `-Dlogback.configurationFile=${join(conf, 'logback.xml')}`,
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    `-Djava.io.tmpdir=${join(storage, 'tmp')}`,
    '-cp',
    `${libDir()}/*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
}

/** Resolves true when a CQL session opens and answers a query on system.local. */
export async function cqlPing(port: number, timeoutMs = 2000): Promise<boolean> {
  const client = new Client({
    contactPoints: [`127.0.0.1:${port}`],
    localDataCenter: 'datacenter1',
    socketOptions: { connectTimeout: timeoutMs, readTimeout: timeoutMs },
  });
  try {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    return rs.rows.length === 1;
  } catch {
    return false;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

export async function start(opts: CassandraStartOptions): Promise<ServiceHandle> {
  const running = liveRecord(opts.stateDir, opts.name);
  if (running) return serviceHandle(opts, running.pid);
  install();
  await assertPortFree(opts.name, opts.port);
  await assertPortFree(`${opts.name} (storage port)`, opts.storagePort ?? 7000);
  const conf = confDir(opts.stateDir, opts.name);
  const storage = dataDir(opts.stateDir, opts.name);
  // JNA unpacks its native library into java.io.tmpdir: keep it in our own dir (and off a noexec /tmp).
  mkdirSync(join(storage, 'tmp'), { recursive: true });
  writeFileSync(join(conf, 'cassandra.yaml'), renderYaml(opts));
  writeFileSync(join(conf, 'logback.xml'), LOGBACK);
  const rec = spawnRecorded({
    name: opts.name,
    kind: 'cassandra',
    port: opts.port,
    stateDir: opts.stateDir,
    command: 'java',
    args: javaArgs(opts, conf, storage),
    probe: 'tcp',
    // SIGTERM runs Cassandra's shutdown hook (flushes memtables); it takes a few seconds.
    stopTimeoutMs: 60_000,
  });
  await waitReady(rec, () => cqlPing(opts.port, 2000), opts.readyTimeoutMs ?? 180_000);
  return serviceHandle(opts, rec.pid);
}

export function stop(stateDir: string, name: string): Promise<boolean> {
  return stopRecorded(stateDir, name);
}
