// /devicelogin as a person goes through it: sign in with the code, then
// Continue on the page that names the application (device-login-page.ts).

export interface FormAnswer {
  status: number;
  text: string;
}
export type FormPost = (fields: Record<string, string>) => Promise<FormAnswer>;

/** Posts a form to the server's /devicelogin with fetch. */
export const deviceLoginForm =
  (serverUrl: string): FormPost =>
  async (fields) => {
    const r = await fetch(`${serverUrl}/devicelogin`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    return { status: r.status, text: await r.text() };
  };

/** The confirmation the sign-in step's page carries (null: the page has none). */
export const confirmationOf = (page: string): string | null => /<input type="hidden" name="confirmation" value="([^"]*)">/.exec(page)?.[1] ?? null;

/** Signs in with the code and confirms: the confirmation step's answer, or the sign-in step's when that one refused. */
export async function approveDeviceSignIn(post: FormPost, code: string, username: string, password: string): Promise<FormAnswer> {
  const signedIn = await post({ code, username, password });
  if (signedIn.status !== 200) return signedIn;
  const confirmation = confirmationOf(signedIn.text);
  if (confirmation === null) throw new Error(`no confirmation step after signing in: ${signedIn.text}`);
  return post({ code, confirmation });
}
