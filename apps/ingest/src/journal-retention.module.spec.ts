import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@app/config';
import { JournalRetentionModule } from './journal-retention.module';

/** The ingest pool's wiring of the journal's retention: on with JOURNAL_DIR, off without. */
describe('JournalRetentionModule', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-journal-module-'));
    fs.writeFileSync(path.join(dir, 'journal-2020-01-01.jsonl'), '{}\n');
    fs.writeFileSync(
      path.join(dir, `journal-${new Date().toISOString().slice(0, 10)}.jsonl`),
      '{}\n',
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const boot = async (env: Record<string, string>) => {
    const config = loadConfig('ingest', { STORE: 'mongo', QUEUE: 'redis', ...env });
    const app = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), JournalRetentionModule],
    }).compile();
    await app.init();
    return app;
  };

  it('removes day files past JOURNAL_KEEP_DAYS when the process starts', async () => {
    const app = await boot({ JOURNAL_DIR: dir, JOURNAL_KEEP_DAYS: '7' });
    expect(fs.readdirSync(dir)).toEqual([`journal-${new Date().toISOString().slice(0, 10)}.jsonl`]);
    await app.close();
  });

  it('leaves the directory alone without JOURNAL_DIR', async () => {
    const app = await boot({});
    expect(fs.readdirSync(dir)).toHaveLength(2);
    await app.close();
  });
});
