import { applyDecorators } from '@nestjs/common';
import { ApiExtension, ApiOperation, ApiSecurity } from '@nestjs/swagger';
import { ErrorStatus, KeenErrors, TRANSPORT_ERRORS } from './keen-errors';

/** The security schemes registered in openapi.ts: Keen's clients send either. */
export const KEY_HEADER_SCHEME = 'key';
export const KEY_QUERY_SCHEME = 'api_key';

/**
 * Which key an operation needs; `none` is for the unauthenticated health
 * check, `read|write` for the one URL that is a schema read without `data=`
 * and a beacon write with it.
 */
export type KeyKind = 'write' | 'read' | 'master' | 'read|write' | 'none';

const KEY_TEXT: Record<KeyKind, string> = {
  write: 'Key: the project\'s write key or master key (a read key gets 403).',
  read: 'Key: the project\'s read key or master key (a write key gets 403).',
  master: 'Key: the project\'s master key only (a write or read key gets 403).',
  'read|write':
    'Key: without `data`, the read key or master key; with `data` (a beacon write), the write key or master key.',
  none: 'No key.',
};

export interface KeenOperationOptions {
  summary: string;
  description?: string;
  key: KeyKind;
}

/**
 * One decorator per operation for what every operation has: its summary, the
 * key it needs (in words, in `security` and as `x-tally-key`, since an OpenAPI
 * apiKey scheme cannot name a role) and the errors any keyed request can meet.
 */
export function KeenOperation({ summary, description, key }: KeenOperationOptions): MethodDecorator {
  const keyErrors: ErrorStatus[] = key === 'none' ? [] : [401, 403, 404];
  const security =
    key === 'none' ? [] : [ApiSecurity(KEY_HEADER_SCHEME), ApiSecurity(KEY_QUERY_SCHEME)];
  return applyDecorators(
    ApiOperation({ summary, description: [KEY_TEXT[key], description].filter(Boolean).join('\n\n') }),
    ApiExtension('x-tally-key', key),
    ...security,
    KeenErrors(...keyErrors, ...TRANSPORT_ERRORS),
  );
}
