import { DynamicModule, Module, Type } from '@nestjs/common';
import { MetricsController } from './metrics.controller';

/**
 * The root of every HTTP process built by createHttpApp: the app's own root
 * module plus the platform's `/metrics`, so no pool can be started without it
 * and no app module has to remember it.
 */
@Module({})
export class PlatformRootModule {
  static around(rootModule: Type<unknown> | DynamicModule): DynamicModule {
    return {
      module: PlatformRootModule,
      imports: [rootModule],
      controllers: [MetricsController],
    };
  }
}
