// What an error message repeats of a value the client sent. Azure's messages
// quote the client's client_id, scope, resource or name; a value of normal
// length is quoted whole, as Azure does, but a request padded to hundreds of
// kilobytes must not have them sent back (and logged) whole.

/** Longest id or name quoted whole (ARM's resource group names, the longest, are 90 characters). */
export const ECHO_LIMIT = 100;
/** Longest scope or resource URI quoted whole: a few scopes of ordinary URIs fit. */
export const ECHO_URI_LIMIT = 256;

/** `value` whole when it is at most `limit` characters, else its first `limit` (never half a surrogate pair) and '…'. */
export function echo(value: string, limit = ECHO_LIMIT): string {
  if (value.length <= limit) return value;
  const cut = value.slice(0, limit);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

export const echoUri = (value: string): string => echo(value, ECHO_URI_LIMIT);
