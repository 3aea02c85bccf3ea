import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { TALLY_CONFIG, TallyConfig } from '@app/config';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(@Inject(TALLY_CONFIG) private readonly config: TallyConfig) {}

  @Get('healthz')
  health(): { status: 'ok'; pool: string } {
    return { status: 'ok', pool: this.config.pool };
  }
}
