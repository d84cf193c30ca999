// Azure action strings with `*` wildcards ("Microsoft.KeyVault/vaults/*",
// "*/read"), matched case-insensitively. Patterns compile once.

const compiled = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 'i');
    compiled.set(pattern, re);
  }
  return re;
}

export const actionMatches = (pattern: string, action: string): boolean => compile(pattern).test(action);

export const anyMatches = (patterns: readonly string[], action: string): boolean => patterns.some((p) => actionMatches(p, action));
