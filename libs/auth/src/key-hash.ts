import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Keys are 64 random hex characters; only their sha-256 is stored. */
export function generateKey(): string {
  return randomBytes(32).toString('hex');
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
