import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { loadConfig } from './config';
import { startSession } from './auth/session';
import { navigate } from './router';
import './styles.css';

// Boot: read the deployment's facts, restore or finish the sign-in, render.

const root = createRoot(document.getElementById('root')!);

async function boot(): Promise<void> {
  const config = await loadConfig();
  // The portal works at one origin only, the server's own (its authority):
  // the sign-in redirect URI, the vault hosts' CORS and the session storage
  // are all tied to it. Opened under another name for the same server
  // (https://127.0.0.1:8443 for https://localhost:8443), go there first.
  const home = new URL(config.authority).origin;
  if (window.location.origin !== home) {
    window.location.replace(`${home}${window.location.pathname}${window.location.search}${window.location.hash}`);
    return;
  }
  const goTo = await startSession();
  if (goTo) navigate(goTo, { replace: true });
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

boot().catch((err: Error) => {
  root.render(
    <main className="sign-in" role="alert">
      <h1>coffer</h1>
      <p>The portal could not start: {err.message}</p>
    </main>,
  );
});
