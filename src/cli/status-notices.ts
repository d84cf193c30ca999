import type { Command } from 'commander';

// knack's notices for deprecated and preview arguments (az's deprecate_info
// and is_preview). argparse calls such an argument's action each time the
// command line names it, and the action appends its notice to a list; az
// prints the deprecations, then the previews, each list in command-line
// order, one line per occurrence, right after parsing: before its validators,
// the login and the command (AzCliCommandInvocation._resolve_preview_and_deprecation_warnings).

export type ArgumentStatus = 'deprecated' | 'preview';

const MESSAGES: Record<ArgumentStatus, (flag: string) => string> = {
  deprecated: (flag) => `Option '${flag}' has been deprecated and will be removed in a future release.`,
  preview: (flag) => `Argument '${flag}' is in preview and under development. Reference and support levels: https://aka.ms/CLI_refstatus`,
};

const given = new WeakMap<Command, Array<{ status: ArgumentStatus; flag: string }>>();

/** Marks options of `cmd` (by their long flags, declared before) deprecated or in preview. */
export function withStatus(cmd: Command, status: ArgumentStatus, ...flags: string[]): Command {
  for (const flag of flags) {
    const option = cmd.options.find((o) => o.long === flag);
    if (!option) throw new Error(`${cmd.name()} has no option ${flag}`);
    cmd.on(`option:${option.name()}`, () => given.set(cmd, [...(given.get(cmd) ?? []), { status, flag }]));
  }
  return cmd;
}

/** The notices the parsed command line calls for, in az's order. */
export function statusNotices(cmd: Command): string[] {
  const all = given.get(cmd) ?? [];
  return (['deprecated', 'preview'] as const).flatMap((status) => all.filter((n) => n.status === status).map((n) => MESSAGES[status](n.flag)));
}
