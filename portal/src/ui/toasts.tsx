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
          <span>{t.text}</span>
          <button type="button" className="link" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
