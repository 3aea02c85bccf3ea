import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { KeyCache, RequireKey } from '@app/auth';
import { AccessKeys, AccessKeyView } from '@app/core';
import { BODY_ERRORS, JsonBody, KeenErrors, KeenOperation, ProjectParam, ref } from '@app/http';

const KEY_PARAM = ApiParam({
  name: 'key',
  description: 'The access key itself, or its `key_hash` (as a list shows it).',
});
const ONE = ApiResponse({ status: 200, description: 'The access key.', schema: ref('AccessKey') });

/**
 * Keen's access keys (master key only). After a change this process reloads
 * its key cache at once; every other process sees it within its next
 * refresh (KEY_CACHE_REFRESH_MS).
 */
@ApiTags('keys')
@ProjectParam()
@Controller('3.0/projects/:projectId/keys')
export class AccessKeysController {
  constructor(
    private readonly keys: AccessKeys,
    private readonly cache: KeyCache,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireKey('master')
  @KeenOperation({
    summary: 'Create an access key; the answer holds the key, shown only this once',
    key: 'master',
  })
  @JsonBody('AccessKeyBody', 'The new key: name (required), is_active, permitted, options.')
  @ApiResponse({ status: 201, description: 'Created.', schema: ref('AccessKey') })
  @KeenErrors(...BODY_ERRORS)
  async create(
    @Param('projectId') projectId: string,
    @Body() body: unknown,
  ): Promise<AccessKeyView> {
    return this.reloaded(await this.keys.create(projectId, body));
  }

  @Get()
  @RequireKey('master')
  @KeenOperation({
    summary: "The project's access keys, oldest first (without the keys themselves)",
    key: 'master',
  })
  @ApiResponse({
    status: 200,
    description: 'The access keys.',
    schema: { type: 'array', items: ref('AccessKey') },
  })
  list(@Param('projectId') projectId: string): Promise<AccessKeyView[]> {
    return this.keys.list(projectId);
  }

  @Get(':key')
  @RequireKey('master')
  @KeenOperation({ summary: 'One access key', key: 'master' })
  @KEY_PARAM
  @ONE
  get(@Param('projectId') projectId: string, @Param('key') key: string): Promise<AccessKeyView> {
    return this.keys.get(projectId, key);
  }

  @Post(':key')
  @HttpCode(200)
  @RequireKey('master')
  @KeenOperation({
    summary: 'Update an access key: the fields the body names change, the others stay',
    key: 'master',
  })
  @KEY_PARAM
  @JsonBody('AccessKeyBody', 'The fields to change.')
  @ONE
  @KeenErrors(...BODY_ERRORS)
  async update(
    @Param('projectId') projectId: string,
    @Param('key') key: string,
    @Body() body: unknown,
  ): Promise<AccessKeyView> {
    return this.reloaded(await this.keys.update(projectId, key, body));
  }

  @Post(':key/revoke')
  @HttpCode(200)
  @RequireKey('master')
  @KeenOperation({
    summary: 'Revoke an access key: it is kept, and refused until unrevoked',
    key: 'master',
  })
  @KEY_PARAM
  @ONE
  async revoke(
    @Param('projectId') projectId: string,
    @Param('key') key: string,
  ): Promise<AccessKeyView> {
    return this.reloaded(await this.keys.setActive(projectId, key, false));
  }

  @Post(':key/unrevoke')
  @HttpCode(200)
  @RequireKey('master')
  @KeenOperation({ summary: 'Re-enable a revoked access key', key: 'master' })
  @KEY_PARAM
  @ONE
  async unrevoke(
    @Param('projectId') projectId: string,
    @Param('key') key: string,
  ): Promise<AccessKeyView> {
    return this.reloaded(await this.keys.setActive(projectId, key, true));
  }

  @Delete(':key')
  @HttpCode(204)
  @RequireKey('master')
  @KeenOperation({ summary: 'Delete an access key for good', key: 'master' })
  @KEY_PARAM
  @ApiResponse({ status: 204, description: 'Deleted.' })
  async delete(@Param('projectId') projectId: string, @Param('key') key: string): Promise<void> {
    await this.keys.delete(projectId, key);
    await this.cache.refresh();
  }

  private async reloaded(view: AccessKeyView): Promise<AccessKeyView> {
    await this.cache.refresh();
    return view;
  }
}
