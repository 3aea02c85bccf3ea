import { TallyError } from '@app/events';
import { ANALYSIS_TYPES } from '@app/query-engine';
import { SavedQueryView, SchemaService, toSavedQueryView } from '@app/core';
import { MetadataStore, SavedQueryStore } from '@app/storage';

/** One collection in the project answer: its name and where its schema is. */
export interface ProjectCollectionLink {
  name: string;
  url: string;
}

/**
 * Keen's project row resource (`GET /3.0/projects/:id`). Keen's answer also
 * carried an `api_key`; Tally stores keys hashed and never sends one back, and
 * Keen's clients read no field of this answer, so it is left out.
 */
export interface ProjectView {
  id: string;
  name: string;
  url: string;
  events_url: string;
  queries_url: string;
  events: ProjectCollectionLink[];
  /** The project's saved and cached queries, by name (as `GET …/queries/saved` lists them). */
  saved_queries: SavedQueryView[];
}

/**
 * Project-level reads over the metadata store: the project with its
 * collections, and the list of query URLs (Keen's queries resource). The
 * collections are the ones `GET …/events` lists (those with events).
 */
export class ProjectInfoService {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly schema: SchemaService,
    private readonly savedQueries: SavedQueryStore,
  ) {}

  async describe(projectId: string): Promise<ProjectView> {
    const [project, collections, saved] = await Promise.all([
      this.metadata.getProject(projectId),
      this.schema.listCollections(projectId),
      this.savedQueries.list(projectId),
    ]);
    // The key guard has already matched a key of this project; a project
    // removed since is answered like any unknown resource.
    if (!project) {
      throw new TallyError('not_found', 'ResourceNotFoundError', 'Resource not found.');
    }
    const base = projectUrl(projectId);
    return {
      id: project.id,
      name: project.name,
      url: base,
      events_url: `${base}/events`,
      queries_url: `${base}/queries`,
      events: collections
        .map((c) => ({ name: c.name, url: c.url }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      saved_queries: saved.map(toSavedQueryView),
    };
  }

  /** `{count_url: …, sum_url: …}`: one URL per analysis type Tally answers. */
  queryUrls(projectId: string): Record<string, string> {
    const base = `${projectUrl(projectId)}/queries`;
    const urls: Record<string, string> = Object.create(null);
    for (const analysis of [...ANALYSIS_TYPES].sort()) urls[`${analysis}_url`] = `${base}/${analysis}`;
    return urls;
  }
}

function projectUrl(projectId: string): string {
  return `/3.0/projects/${encodeURIComponent(projectId)}`;
}
