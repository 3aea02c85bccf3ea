import 'reflect-metadata';
import { loadConfig, runMain } from '@app/config';
import { createHttpApp, listen } from '@app/http';
import { QueryAppModule } from './query-app.module';

runMain(async () => {
  const config = loadConfig('query');
  const app = await createHttpApp(QueryAppModule.forRoot(config), config);
  await listen(app, config);
  process.stdout.write(`Tally query listening on http://${config.http.host}:${config.http.port}\n`);
});
