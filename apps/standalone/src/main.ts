import 'reflect-metadata';
import { ConfigError, loadConfig } from '@app/config';
import { createHttpApp, listen } from '@app/http';
import { METADATA_STORE, MetadataStore } from '@app/storage';
import { KeyCache } from '@app/auth';
import { StandaloneModule } from './standalone.module';
import { ensureDefaultProject } from './first-start';

async function main(): Promise<void> {
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
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`Configuration error: ${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
