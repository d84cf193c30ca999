// Entra ID's password policy for cloud users, checked wherever a user's
// password is set (Graph's user creation and reset, the --dev bootstrap).
// Sign-in does not check it: a user whose password was set before keeps it.
//
// The policy: 8 to 256 characters, only A-Z a-z 0-9, the ASCII symbols and
// the blank space, and at least three of four kinds: lowercase, uppercase,
// digits, symbols. (The blank space is allowed but is not counted as a kind.)

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

const ALLOWED = /^[\x20-\x7e]*$/;
const KINDS = [/[a-z]/, /[A-Z]/, /[0-9]/, /[!-/:-@[-`{-~]/];

/** Whether the characters and their kinds meet the policy (length is checked apart: a too-long password has its own message). */
export function meetsComplexity(password: string): boolean {
  if (password.length < MIN_PASSWORD_LENGTH || !ALLOWED.test(password)) return false;
  return KINDS.filter((kind) => kind.test(password)).length >= 3;
}
