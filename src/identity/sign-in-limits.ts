// What a pending sign-in may hold. Device codes and authorization codes keep
// their request's parameters in memory for minutes, and anyone may start a
// device sign-in: unbounded parameters (a scope padded with 250 KB of spaces,
// a 250 KB nonce) let a few hundred requests exhaust the server's heap.

/** Longest accepted value of each parameter a pending sign-in keeps. */
export const SIGN_IN_PARAM_LIMITS = {
  scope: 2048,
  redirect_uri: 2048,
  nonce: 512,
  state: 2048,
} as const;

/** The first parameter over its limit, as an AADSTS-style message, or null. */
export function oversizedParam(params: Record<string, string | undefined>): string | null {
  for (const [name, limit] of Object.entries(SIGN_IN_PARAM_LIMITS)) {
    const value = params[name];
    if (value !== undefined && value.length > limit) return `AADSTS90011: The request parameter '${name}' is too long: at most ${limit} characters are accepted.`;
  }
  return null;
}

/** An S256 code challenge is the base64url SHA-256 of the verifier: 43 characters, nothing else. */
export const isS256Challenge = (s: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(s);
