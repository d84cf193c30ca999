import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { Session } from '../session.js';
import { armList } from '../arm-list.js';

// Python, az and browsers resolve `{vault}.vault.localhost` through the
// system resolver, which usually does not know it. This writes loopback
// entries for the vaults into /etc/hosts, in a block coffer owns.

const BEGIN = '# BEGIN coffer vaults';
const END = '# END coffer vaults';

export function hostsBlock(names: string[], suffix: string): string {
  const lines = names.map((n) => `127.0.0.1 ${n.toLowerCase()}.${suffix}\n::1 ${n.toLowerCase()}.${suffix}`);
  return [BEGIN, ...lines, END].join('\n');
}

export function replaceBlock(current: string, block: string): string {
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const without = start >= 0 && end > start ? current.slice(0, start) + current.slice(end + END.length).replace(/^\n/, '') : current;
  return `${without.replace(/\n*$/, '\n')}${block}\n`;
}

export function registerHostsCommand(program: Command): void {
  program
    .command('hosts')
    .description('Write /etc/hosts entries so that every tool resolves vault host names to this machine.')
    .option('--vault <names...>', 'vault names (default: every vault you can see)')
    .option('--suffix <suffix>', 'vault DNS suffix (default: from the login profile)')
    .option('--file <file>', 'hosts file to edit', '/etc/hosts')
    .option('--print', 'print the block instead of writing it')
    .action(async (o: { vault?: string[]; suffix?: string; file: string; print?: boolean }) => {
      let names = o.vault;
      let suffix = o.suffix;
      if (!names || !suffix) {
        const s = Session.load();
        suffix ??= s.profile.vaultDnsSuffix;
        names ??= (await armList<{ name: string }>(s, `${s.profile.server}/subscriptions/${s.profile.subscriptionId}/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01`)).map((v) => v.name);
      }
      // An identity that sees no vault (a connector's, granted on the data plane only) would empty the block.
      if (names.length === 0) throw new CliError(`this login can see no vaults, so ${o.file} is left as it is; name them with --vault NAME...`);
      const block = hostsBlock(names, suffix);
      if (o.print) {
        process.stdout.write(block + '\n');
        return;
      }
      try {
        writeFileSync(o.file, replaceBlock(readFileSync(o.file, 'utf8'), block));
      } catch (err) {
        throw new CliError(`cannot write ${o.file} (${(err as NodeJS.ErrnoException).code}); run as root, or add these lines yourself:\n${block}`);
      }
      process.stdout.write(`wrote ${names.length} vault host name(s) to ${o.file}\n`);
    });
}
