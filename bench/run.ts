/**
 * `npm run bench -- <name>`: runs bench/<name>.bench.ts (compiled). Without a
 * name, lists the benchmarks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const name = process.argv[2];
const available = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.replace(/\.bench\.js$/, ''));
if (!name || !available.includes(name)) {
  process.stdout.write(`usage: npm run bench -- <${available.join('|')}>\n`);
  process.exit(name ? 1 : 0);
}
require(path.join(__dirname, `${name}.bench.js`));
