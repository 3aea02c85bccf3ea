import 'reflect-metadata';
import { loadConfig, runMain } from '@app/config';
import { createHttpApp, listen } from '@app/http';
import { IngestAppModule } from './ingest-app.module';

runMain(async () => {
  const config = loadConfig('ingest');
  const app = await createHttpApp(IngestAppModule.forRoot(config), config);
  await listen(app, config);
  process.stdout.write(
    `Tally ingest listening on http://${config.http.host}:${config.http.port}\n`,
  );
});
