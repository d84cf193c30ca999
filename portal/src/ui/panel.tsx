import { useEffect, useRef, type KeyboardEvent, type ReactNode, type RefObject } from 'react';

// A side sheet (Azure's context pane) and a confirmation dialog. Both are
// modal dialogs: focus moves in and stays in (Tab wraps around), Escape
// closes, focus returns on close.

const FOCUSABLE = 'a[href], button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex="-1"])';

function useDialogFocus(onClose: () => void, initial?: RefObject<HTMLElement | null>) {
  const ref = useRef<HTMLDivElement>(null);
  // The latest onClose, so a new callback on each render does not re-run the focus effect.
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = initial?.current ?? ref.current?.querySelector<HTMLElement>('input, select, textarea, button:not(.close)');
    (first ?? ref.current)?.focus();
    const onKey = (e: globalThis.KeyboardEvent) => e.key === 'Escape' && close.current();
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus();
    };
  }, []);
  // Tab from the last control goes to the first, Shift+Tab from the first to the last.
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== 'Tab' || !ref.current) return;
    const items = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (items.length === 0) return e.preventDefault();
    const at = items.indexOf(document.activeElement as HTMLElement);
    const wrapTo = e.shiftKey ? (at <= 0 ? items[items.length - 1] : null) : at === -1 || at === items.length - 1 ? items[0] : null;
    if (!wrapTo) return;
    e.preventDefault();
    wrapTo.focus();
  };
  return { ref, onKeyDown };
}

export function Panel({ title, onClose, children, footer }: { title: string; onClose: () => void; children: ReactNode; footer?: ReactNode }) {
  const { ref, onKeyDown } = useDialogFocus(onClose);
  return (
    <div className="overlay" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="panel" role="dialog" aria-modal="true" aria-label={title} ref={ref} tabIndex={-1} onKeyDown={onKeyDown}>
        <header className="panel-header">
          <h2>{title}</h2>
          <button type="button" className="close" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <div className="panel-body">{children}</div>
        {footer && <footer className="panel-footer">{footer}</footer>}
      </div>
    </div>
  );
}

export function ConfirmDialog(props: { title: string; children: ReactNode; confirmLabel: string; busy?: boolean; danger?: boolean; onConfirm: () => void; onCancel: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  // A destructive action is not the default: Enter on an opened dialog cancels.
  const { ref, onKeyDown } = useDialogFocus(props.onCancel, props.danger ? cancel : undefined);
  return (
    <div className="overlay centered">
      <div className="dialog" role="alertdialog" aria-modal="true" aria-label={props.title} ref={ref} tabIndex={-1} onKeyDown={onKeyDown}>
        <h2>{props.title}</h2>
        <div>{props.children}</div>
        <div className="actions">
          <button type="button" className={props.danger ? 'danger' : 'primary'} disabled={props.busy} onClick={props.onConfirm}>
            {props.confirmLabel}
          </button>
          <button type="button" ref={cancel} onClick={props.onCancel} disabled={props.busy}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
