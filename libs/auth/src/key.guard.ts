import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { StoredKey } from '@app/storage';
import { Access } from './access';
import { KeyCache } from './key-cache';
import { REQUIRED_ACCESS } from './require-key.decorator';

interface KeyedRequest {
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  tallyKey?: StoredKey;
}

/**
 * Authenticates in a guard (not Fastify middleware) so it runs after routing
 * and knows which access the handler needs. Keys come from the raw
 * `Authorization` header or `?api_key=`, as Keen's clients send them.
 */
@Injectable()
export class KeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: KeyCache,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const access = this.reflector.get<Access | readonly Access[] | undefined>(
      REQUIRED_ACCESS,
      context.getHandler(),
    );
    if (!access) return true;
    const request = context.switchToHttp().getRequest<KeyedRequest>();
    const projectId = request.params?.projectId ?? '';
    const header = request.headers.authorization;
    const queryKey = request.query?.api_key;
    const key =
      (typeof header === 'string' && header) ||
      (typeof queryKey === 'string' ? queryKey : undefined);
    request.tallyKey = this.keys.authorize(projectId, key, access);
    return true;
  }
}
