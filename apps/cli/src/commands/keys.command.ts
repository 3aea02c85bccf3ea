import { Command } from 'commander';
import {
  assertKeyRole,
  createProjectKey,
  KeyView,
  listProjectKeys,
  revokeProjectKey,
  rotateProjectKey,
} from '@app/core';
import { print, withStores } from '../cli-stores';

const line = (k: KeyView) => `${k.role.padEnd(6)}  ${k.hash_prefix}  ${k.created_at}`;

/** Running servers reload their key caches every KEY_CACHE_REFRESH_MS (their own setting). */
const REFRESH_NOTE =
  'running servers refuse it after their next key-cache refresh (KEY_CACHE_REFRESH_MS, default 2 s)';

/** `tally keys list|create|revoke|rotate`: a project's keys, never shown again after creation. */
export function registerKeyCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('API keys of a project (only their hashes are stored)');

  keys
    .command('list <project>')
    .description('List the keys of a project: role, hash prefix, created (never the key)')
    .option('--json', 'print [{"role","hash_prefix","created_at"}]')
    .action(async (project: string, opts: { json?: boolean }) => {
      const list = await withStores((s) => listProjectKeys(s.metadata, project));
      print(list, Boolean(opts.json), () =>
        list.length === 0
          ? `project ${project} has no keys`
          : ['role    hash prefix   created', ...list.map(line)].join('\n'),
      );
    });

  keys
    .command('create <project>')
    .description('Create a key and print it (shown only once)')
    .requiredOption('--role <role>', 'write, read or master')
    .option('--json', 'print {"role","hash_prefix","created_at","key"}')
    .action(async (project: string, opts: { role: string; json?: boolean }) => {
      const role = assertKeyRole(opts.role);
      const created = await withStores((s) => createProjectKey(s.metadata, project, role));
      print(created, Boolean(opts.json), () =>
        [
          `${created.role} key of ${project} (hash ${created.hash_prefix}), shown only once:`,
          created.key,
        ].join('\n'),
      );
    });

  keys
    .command('revoke <project> <hash-prefix>')
    .description('Revoke the key whose hash starts with <hash-prefix> (see keys list)')
    .option('--json', 'print {"revoked":{"role","hash_prefix","created_at"}}')
    .action(async (project: string, prefix: string, opts: { json?: boolean }) => {
      const revoked = await withStores((s) => revokeProjectKey(s.metadata, project, prefix));
      print(
        { revoked },
        Boolean(opts.json),
        () => `revoked the ${revoked.role} key ${revoked.hash_prefix}; ${REFRESH_NOTE}`,
      );
    });

  keys
    .command('rotate <project>')
    .description('Create a new key of a role, then revoke the older keys of that role')
    .requiredOption('--role <role>', 'write, read or master')
    .option('--json', 'print {"created":{…,"key"},"revoked":[…]}')
    .action(async (project: string, opts: { role: string; json?: boolean }) => {
      const role = assertKeyRole(opts.role);
      const rotated = await withStores((s) => rotateProjectKey(s.metadata, project, role));
      print(rotated, Boolean(opts.json), () =>
        [
          `new ${role} key of ${project} (hash ${rotated.created.hash_prefix}), shown only once:`,
          rotated.created.key,
          rotated.revoked.length === 0
            ? `no older ${role} key to revoke`
            : `revoked ${rotated.revoked.map((k) => k.hash_prefix).join(', ')}; ${REFRESH_NOTE}`,
        ].join('\n'),
      );
    });
}
