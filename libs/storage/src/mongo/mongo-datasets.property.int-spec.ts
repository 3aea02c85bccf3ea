import { loadConfig } from '@app/config';
import { describeDatasetProperty } from '@app/core/testing';
import { openStores } from '../open-stores';
import { startTestMongo } from './testing/test-mongo';

jest.setTimeout(600_000);

/** Datasets on the split wiring with MongoDB: the worker's persister, the change log beside the metadata. */
describeDatasetProperty(
  'mongo',
  async () => {
    const server = await startTestMongo();
    return {
      open: () =>
        openStores(
          loadConfig('worker', {
            STORE: 'mongo',
            MONGO_URL: server.url,
            MONGO_DATABASE: 'datasets_property',
            ID_SECRET: 'datasets-property-secret-0000000001',
          }),
        ),
      dispose: () => server.stop(),
    };
  },
  Number(process.env.FC_RUNS ?? 10),
);
