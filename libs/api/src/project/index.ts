export * from './project-api.module';
export * from './project-info.service';
export * from './project.controller';
