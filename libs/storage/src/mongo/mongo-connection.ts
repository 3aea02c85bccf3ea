import { Db, MongoClient } from 'mongodb';

export interface MongoConnectionOptions {
  url: string;
  database: string;
  /** How long an operation waits for a usable server (default 2000 ms): short, so a down store fails fast. */
  serverSelectionTimeoutMs?: number;
  /**
   * TCP connect timeout (default 5000 ms). The driver also uses it as the socket
   * timeout of its server monitor: at 1 s, one slow heartbeat on a busy machine
   * marked the server unknown and cleared the pool, failing every operation in
   * flight (and start-up). A store that is really down still fails fast through
   * the server selection timeout.
   */
  connectTimeoutMs?: number;
  /** Socket read timeout (default 30 000 ms): bounded, long enough for big scans' pages. */
  socketTimeoutMs?: number;
  maxPoolSize?: number;
  /**
   * Write concern of every write through this connection (default
   * `{w: 'majority', journal: true}`): a write is acknowledged only once a
   * majority holds it on disk, so a crash or failover cannot undo it after
   * the worker counted and completed its job (w:1 without the journal can).
   */
  writeConcern?: { w: number | 'majority'; journal: boolean };
}

/**
 * One MongoClient with strict timeouts, shared by the stores of a process.
 * The driver's defaults (30 s server selection, no socket timeout) would let a
 * hung server hold a worker forever.
 */
export class MongoConnection {
  private readonly client: MongoClient;
  private connected: Promise<Db> | undefined;
  private closed = false;

  constructor(readonly options: MongoConnectionOptions) {
    this.client = new MongoClient(options.url, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 2000,
      connectTimeoutMS: options.connectTimeoutMs ?? 5000,
      socketTimeoutMS: options.socketTimeoutMs ?? 30_000,
      maxPoolSize: options.maxPoolSize ?? 20,
      writeConcern: options.writeConcern ?? { w: 'majority', journal: true },
    });
  }

  /** The write concern the driver applies to every write through this connection. */
  get writeConcern(): { w?: number | string; journal?: boolean } {
    const wc = this.client.writeConcern;
    return { w: wc?.w, journal: wc?.journal };
  }

  /** Lazily connects; a failed connect is retried on the next call. */
  db(): Promise<Db> {
    if (this.closed) return Promise.reject(new Error('mongo connection closed'));
    if (!this.connected) {
      this.connected = this.client.connect().then((c) => c.db(this.options.database));
      this.connected.catch(() => (this.connected = undefined));
    }
    return this.connected;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.close();
  }
}

/** Stores accept either connection options (they own the client) or a shared connection. */
export type MongoStoreOptions = MongoConnectionOptions | { connection: MongoConnection };

export function connectionFor(options: MongoStoreOptions): {
  connection: MongoConnection;
  owned: boolean;
} {
  if ('connection' in options) return { connection: options.connection, owned: false };
  return { connection: new MongoConnection(options), owned: true };
}
