import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { StoredKey } from '@app/storage';
import { Access } from './access';

export const REQUIRED_ACCESS = 'tally:required-access';

/**
 * Marks a handler with the access it needs; `KeyGuard` enforces it. With a
 * list, any one of them lets the request in, and the handler checks the one
 * it finally needs (a saved query's result: saved or cached).
 */
export const RequireKey = (access: Access | readonly Access[]) =>
  SetMetadata(REQUIRED_ACCESS, access);

/** The key the request was authorized with (set by `KeyGuard`). */
export const CallerKey = createParamDecorator(
  (_: unknown, context: ExecutionContext): StoredKey =>
    context.switchToHttp().getRequest<{ tallyKey: StoredKey }>().tallyKey,
);
