import 'reflect-metadata';
import { loadConfig, runMain } from '@app/config';
import { createHttpApp, listen } from '@app/http';
import { METADATA_STORE, MetadataStore } from '@app/storage';
import { KeyCache } from '@app/auth';
import { StandaloneModule } from './standalone.module';
import { ensureDefaultProject } from './first-start';

runMain(async () => {
  const config = loadConfig('standalone');
  const app = await createHttpApp(StandaloneModule.forRoot(config), config);
  const created = await ensureDefaultProject(app.get<MetadataStore>(METADATA_STORE));
  if (created) {
    await app.get(KeyCache).refresh();
    // Printed once: only hashes of the keys are stored.
    process.stdout.write(
      `\nCreated project "default" (keys are shown only now; keep them):\n${JSON.stringify(created, null, 2)}\n\n`,
    );
  }
  await listen(app, config);
  process.stdout.write(
    `Tally standalone listening on http://${config.http.host}:${config.http.port} (data in ${config.storage.dataDir})\n`,
  );
});
