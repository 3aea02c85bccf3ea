export * from './marked-event-writer.port';
export * from './counter-ledger.port';
export * from './marked-event.persister';
