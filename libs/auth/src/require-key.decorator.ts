import { SetMetadata } from '@nestjs/common';
import { Access } from './access';

export const REQUIRED_ACCESS = 'tally:required-access';

/** Marks a handler with the key it needs; `KeyGuard` enforces it. */
export const RequireKey = (access: Access) => SetMetadata(REQUIRED_ACCESS, access);
