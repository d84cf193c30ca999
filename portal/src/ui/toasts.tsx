import { useSyncExternalStore } from 'react';

// Notifications after an action ("Successfully created ..."), as the Azure
// portal shows them; read out by screen readers through a live region.

interface Toast {
  id: number;
  kind: 'success' | 'error';
  text: string;
}
let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
const publish = (next: Toast[]) => {
  toasts = next;
  listeners.forEach((l) => l());
};

export function notify(text: string, kind: Toast['kind'] = 'success') {
  const id = nextId++;
  publish([...toasts, { id, kind, text }].slice(-4));
  setTimeout(() => dismiss(id), 8000);
}
const dismiss = (id: number) => publish(toasts.filter((t) => t.id !== id));

/**
 * The text with each hyphenated word (a vault or secret name) kept in one
 * piece: browsers may break a line after any hyphen, which split names as
 * "my-" and "vault". Such a word moves to the next line whole; one wider
 * than the notification still breaks, as a last resort (styles.css).
 */
function Words({ text }: { text: string }) {
  return (
    <>
      {text.split(/(\s+)/).map((part, i) =>
        /[-/]/.test(part) ? (
          <span key={i} className="toast-word">
            {part}
          </span>
        ) : (
          part
        ),
      )}
    </>
  );
}

export function Toasts() {
  const list = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => toasts,
  );
  return (
    <div className="toasts" role="region" aria-live="polite" aria-label="Notifications">
      {list.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'}>
          <span className="toast-text">
            <Words text={t.text} />
          </span>
          <button type="button" className="link" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
