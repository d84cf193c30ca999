import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { loadConfig } from './config';
import { startSession } from './auth/session';
import { navigate } from './router';
import './styles.css';

// Boot: read the deployment's facts, restore or finish the sign-in, render.

const root = createRoot(document.getElementById('root')!);

loadConfig()
  .then(startSession)
  .then((goTo) => {
    if (goTo) navigate(goTo, { replace: true });
    root.render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
  })
  .catch((err: Error) => {
    root.render(
      <main className="sign-in" role="alert">
        <h1>coffer</h1>
        <p>The portal could not start: {err.message}</p>
      </main>,
    );
  });
