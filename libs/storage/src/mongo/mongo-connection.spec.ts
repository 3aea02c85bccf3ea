import { loadConfig } from '@app/config';
import { MongoConnection } from './mongo-connection';
import { mongoMetadataSide } from './open-mongo';

describe('MongoConnection write concern', () => {
  it('acknowledges writes only once a majority journaled them, by default', () => {
    const connection = new MongoConnection({ url: 'mongodb://127.0.0.1:1', database: 'x' });
    expect(connection.writeConcern).toEqual({ w: 'majority', journal: true });
  });

  it('takes the configured concern through the stores the apps open', async () => {
    const env = {
      STORE: 'mongo',
      QUEUE: 'redis',
      ID_SECRET: 'x'.repeat(32),
      MONGO_URL: 'mongodb://127.0.0.1:1',
      MONGO_WRITE_CONCERN: '2',
      MONGO_JOURNAL: 'false',
    };
    const side = mongoMetadataSide(loadConfig('worker', env));
    expect(side.connection.writeConcern).toEqual({ w: 2, journal: false });
    await side.connection.close();
  });
});
