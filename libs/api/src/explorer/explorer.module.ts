import { Module } from '@nestjs/common';
import { ExplorerController } from './explorer.controller';

/** The data explorer page (`/`), for the processes that serve the read API. */
@Module({ controllers: [ExplorerController] })
export class ExplorerModule {}
