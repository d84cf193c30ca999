import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { progress, run, withOutput } from '../command-kit.js';
import { GUID, resolvePrincipal } from '../principal-lookup.js';
import type { Session } from '../session.js';
import { auditListTable } from '../table-views.js';

// coffer audit list | verify: the audit trail through the server's API.

const RESULTS = ['Success', 'Failure'];

/** The object id the trail records for a caller named any way the directory knows it; a GUID it does not know is taken as one (a deleted principal's). */
async function callerId(s: Session, who: string): Promise<string> {
  try {
    return (await resolvePrincipal(s, who)).id;
  } catch (err) {
    if (err instanceof CliError && GUID.test(who)) return who;
    throw err;
  }
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('Query and verify the audit trail.');

  withOutput(audit.command('list').description('List audit records, oldest first.'))
    .option('--vault <name>', 'only this vault')
    .option('--secret <name>', 'only this secret')
    .option('--principal <who>', "only this caller: object id, appId, UPN or display name (a deleted principal's object id too)")
    .option('--operation <name>', 'only this operation, e.g. SecretGet')
    .option('--result <type>', 'Success or Failure (any case)')
    .option('--from <iso8601>', 'from this time')
    .option('--to <iso8601>', 'before this time')
    .option('--max <n>', 'at most this many records', '1000')
    .addHelpText('after', '\nExamples:\n  coffer audit list --vault my-vault --operation SecretGet -o table\n  coffer audit list --principal OBJECT_ID --result Failure --from 2026-11-01T00:00:00Z')
    .action(
      run<{ vault?: string; secret?: string; principal?: string; operation?: string; result?: string; from?: string; to?: string; max: string }>(async (o, s) => {
        const max = Number(o.max);
        if (!Number.isInteger(max) || max < 1) throw new CliError('--max must be a positive integer', undefined, 2);
        const q = new URLSearchParams({ maxresults: String(Math.min(max, 1000)) });
        const principal = o.principal === undefined ? undefined : await callerId(s, o.principal);
        const resultType = o.result === undefined ? undefined : (RESULTS.find((r) => r.toLowerCase() === o.result!.toLowerCase()) ?? o.result);
        for (const [k, v] of Object.entries({ vault: o.vault, secret: o.secret, principal, operation: o.operation, resultType, from: o.from, to: o.to })) {
          if (v !== undefined) q.set(k, v);
        }
        const out: unknown[] = [];
        let url: string | null = `${s.profile.server}/coffer/audit?${q}`;
        while (url && out.length < max) {
          const page: { value: unknown[]; nextLink: string | null } = await s.call('GET', url, s.managementResource);
          out.push(...page.value);
          url = page.nextLink;
          progress(`audit records: ${out.length}`);
        }
        return out.slice(0, max);
      }, auditListTable),
    );

  withOutput(audit.command('verify').description("Check the trail's hash chain; names the first edited, deleted or reordered record."))
    .addHelpText('after', '\nExamples:\n  coffer audit verify')
    .action(
      run(async (_o, s) => {
        const result = await s.call<{ ok: boolean; firstBadSeq?: number; reason?: string }>('GET', `${s.profile.server}/coffer/audit/verify`, s.managementResource);
        if (!result.ok) throw new CliError(`the audit trail is broken at record ${result.firstBadSeq}: ${result.reason}`, 'AuditChainBroken');
        return result;
      }),
    );
}
