/** A running server or app process started by the stack scripts. */
export interface ServiceHandle {
  name: string;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Options every service's start() accepts. */
export interface ServiceStartOptions {
  /** Instance name, unique within the state dir: it names the pid record, log and data dir. */
  name: string;
  /** Loopback port the service listens on. */
  port: number;
  /** Absolute state dir (default `<repo>/.stack`). */
  stateDir: string;
  /** How long to wait for readiness before giving up (ms). */
  readyTimeoutMs?: number;
}

/** How `status` decides that a recorded process is serving, not merely alive. */
export type ProbeKind = 'tcp' | 'redis' | 'pid';

/**
 * What `.stack/run/<name>.json` holds for each process: enough to prove that a pid is
 * still the process we started (pid reuse) and to probe and restart it.
 */
export interface ProcessRecord {
  name: string;
  kind: string;
  pid: number;
  port: number;
  /** Field 22 of /proc/<pid>/stat at spawn: a reused pid has another start time. */
  startTime: string;
  probe: ProbeKind;
  command: string;
  args: string[];
  logFile: string;
  startedAt: string;
  /** Signal for a graceful stop (nginx drains on SIGQUIT, the others on SIGTERM). */
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
}
