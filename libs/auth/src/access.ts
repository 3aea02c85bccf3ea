import { TallyError } from '@app/events';
import { KeyRole, StoredKey } from '@app/storage';

/** What an operation needs; a master key can do everything. */
export type Access = 'write' | 'read' | 'master';

export function roleAllows(role: KeyRole, access: Access): boolean {
  return role === 'master' || role === access;
}

export function missingKey(): TallyError {
  return new TallyError('unauthorized', 'InvalidApiKeyError', "Specified API Key is invalid. API Key: 'None'.");
}

export function invalidKey(): TallyError {
  return new TallyError('unauthorized', 'InvalidApiKeyError', 'Specified API Key is invalid for this project.');
}

export function forbidden(key: StoredKey, access: Access): TallyError {
  return new TallyError(
    'forbidden',
    access === 'master' ? 'AdminOnlyEndpointError' : 'InsufficientKeyPermissionsError',
    `This operation needs a ${access} key${access === 'master' ? '' : ' or the master key'}; a ${key.role} key was given.`,
  );
}

export function unknownProject(projectId: string): TallyError {
  return new TallyError('not_found', 'ProjectNotFoundError', `Project "${projectId.slice(0, 100)}" does not exist.`);
}
