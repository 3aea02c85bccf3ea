import { MetadataStore, Project, StoredKey } from '@app/storage';
import { TallyError } from '@app/events';
import { randomBytes } from 'node:crypto';
import { generateKey, hashKey } from '@app/auth';

export interface CreatedProject {
  id: string;
  write_key: string;
  read_key: string;
  master_key: string;
}

const PROJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Creates a project with its three keys; the plain keys are returned once, only hashes are kept. */
export async function createProject(
  metadata: MetadataStore,
  name: string,
  id?: string,
): Promise<CreatedProject> {
  const projectId = id ?? randomBytes(12).toString('hex');
  if (!PROJECT_ID.test(projectId)) {
    throw new TallyError(
      'invalid',
      'InvalidProjectIdError',
      'A project id is 1-64 letters, digits, "_" or "-".',
    );
  }
  if (await metadata.getProject(projectId)) {
    throw new TallyError(
      'conflict',
      'ProjectExistsError',
      `Project "${projectId}" already exists.`,
    );
  }
  const now = new Date().toISOString();
  const project: Project = { id: projectId, name, createdAt: now };
  const plain = { write: generateKey(), read: generateKey(), master: generateKey() };
  const keys: StoredKey[] = (['write', 'read', 'master'] as const).map((role) => ({
    projectId,
    role,
    keyHash: hashKey(plain[role]),
    createdAt: now,
  }));
  await metadata.createProject(project, keys);
  return { id: projectId, write_key: plain.write, read_key: plain.read, master_key: plain.master };
}
