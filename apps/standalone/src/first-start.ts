import { createProject, CreatedProject } from '@app/core';
import { MetadataStore } from '@app/storage';

/** On a fresh data dir, creates project `default` so the server is usable at once. */
export async function ensureDefaultProject(
  metadata: MetadataStore,
): Promise<CreatedProject | null> {
  if ((await metadata.listProjects()).length > 0) return null;
  return createProject(metadata, 'default', 'default');
}
