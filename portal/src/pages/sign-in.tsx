import { signIn } from '../auth/session';
import { Notice } from '../ui/feedback';

// Shown when nobody is signed in: after sign-out, on expiry, or first visit.

export function SignInPage({ notice }: { notice: string | null }) {
  return (
    <main className="sign-in" id="content">
      <h1>coffer</h1>
      <p>Manage key vaults, secrets and who may read them.</p>
      {notice && <Notice kind={/expired|signed out/i.test(notice) ? 'info' : 'error'}>{notice}</Notice>}
      <button type="button" className="primary" onClick={() => void signIn()}>
        Sign in
      </button>
    </main>
  );
}
