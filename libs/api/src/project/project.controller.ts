import { Controller, Get, Param } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { KeenOperation, ProjectParam } from '@app/http';
import { ProjectInfoService, ProjectView } from './project-info.service';

const LINK = {
  type: 'object',
  properties: { name: { type: 'string' }, url: { type: 'string' } },
  required: ['name', 'url'],
};

@ApiTags('project')
@ProjectParam()
@Controller('3.0/projects/:projectId')
export class ProjectController {
  constructor(private readonly projects: ProjectInfoService) {}

  @Get()
  @RequireKey('master')
  @KeenOperation({
    summary: "The project: its name, its collections (those with events) and their URLs; Keen's project row resource",
    key: 'master',
  })
  @ApiResponse({
    status: 200,
    description: 'The project.',
    schema: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        url: { type: 'string' },
        events_url: { type: 'string' },
        queries_url: { type: 'string' },
        events: { type: 'array', items: LINK },
        saved_queries: {
          type: 'array',
          items: { type: 'object' },
          description: 'The saved and cached queries, as GET …/queries/saved lists them.',
        },
      },
      required: ['id', 'name', 'url', 'events_url', 'queries_url', 'events', 'saved_queries'],
    },
  })
  describe(@Param('projectId') projectId: string): Promise<ProjectView> {
    return this.projects.describe(projectId);
  }

  @Get('queries')
  @RequireKey('read')
  @KeenOperation({ summary: "One URL per analysis type (Keen's queries resource)", key: 'read' })
  @ApiResponse({
    status: 200,
    description: '`<analysis>_url` for every analysis type.',
    schema: { type: 'object', additionalProperties: { type: 'string' } },
  })
  queries(@Param('projectId') projectId: string): Record<string, string> {
    return this.projects.queryUrls(projectId);
  }
}
