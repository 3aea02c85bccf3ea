import { DynamicModule, Global, Module } from '@nestjs/common';
import { TallyConfig } from './tally-config';

export const TALLY_CONFIG = Symbol('TALLY_CONFIG');

/** Makes the validated config injectable everywhere under one token. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: TallyConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: TALLY_CONFIG, useValue: config }],
      exports: [TALLY_CONFIG],
    };
  }
}
