// What tests (jest globalSetup, fault tests) and the CLI import from the stack scripts.
export {
  DEFAULT_PORTS,
  planStack,
  restartService,
  signalService,
  stackDown,
  stackStatus,
  stackUp,
  startService,
  stopService,
} from './stack';
export type { ServiceStatus, StackOptions, StackPorts, StackStore, StackUpResult } from './stack';
export { freePorts } from './process-control';
export { ensureChromium, ensureCommand } from './apt-install';
export { readStackConfig, readStackFile, stackConfigPath } from './stack-config';
export type { ServiceHandle, ServiceStartOptions } from './service.types';
export * as redisService from './services/redis.service';
export * as nginxService from './services/nginx.service';
export * as mongoService from './services/mongo.service';
export * as cassandraService from './services/cassandra.service';
export * as appService from './services/app.service';
