/** Injection token for the secret keying keen.id derivation. */
export const ID_SECRET = Symbol('ID_SECRET');
