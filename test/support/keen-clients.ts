import * as http from 'node:http';
import { StandaloneServer } from './standalone-server';

// The CommonJS module objects themselves: the ones the SDKs' require() gets.
const https = require('https');
const KeenTracking = require('keen-tracking');
const KeenAnalysis = require('keen-analysis');

/**
 * Unmodified Keen SDK clients pointed at a local server. keen-analysis' Node
 * build always calls https.request with the hostname only (port and protocol
 * dropped): that quirk is handled here, in the test, by pointing
 * https.request at the plain-HTTP port while the clients are in use.
 */
export function keenClients(server: StandaloneServer): { tracking: any; analysis: any; restore(): void } {
  const realRequest = https.request;
  https.request = (options: http.RequestOptions, callback: (res: http.IncomingMessage) => void) =>
    http.request({ ...options, host: '127.0.0.1', port: server.port }, callback);
  const tracking = new KeenTracking({
    projectId: 'default',
    writeKey: server.keys!.write_key,
    host: '127.0.0.1',
    protocol: 'http',
    nodeRequestConfig: { host: '127.0.0.1', port: server.port },
  });
  const analysis = new KeenAnalysis({
    projectId: 'default',
    readKey: server.keys!.read_key,
    masterKey: server.keys!.master_key,
    host: '127.0.0.1',
    protocol: 'https',
  });
  return { tracking, analysis, restore: () => (https.request = realRequest) };
}
