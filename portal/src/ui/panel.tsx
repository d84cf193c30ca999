import { useEffect, useRef, type ReactNode } from 'react';

// A side sheet (Azure's context pane) and a confirmation dialog. Both are
// modal dialogs: focus moves in, Escape closes, focus returns on close.

function useDialogFocus(onClose: () => void) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, button:not(.close)');
    (first ?? ref.current)?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus();
    };
  }, [onClose]);
  return ref;
}

export function Panel({ title, onClose, children, footer }: { title: string; onClose: () => void; children: ReactNode; footer?: ReactNode }) {
  const ref = useDialogFocus(onClose);
  return (
    <div className="overlay" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="panel" role="dialog" aria-modal="true" aria-label={title} ref={ref} tabIndex={-1}>
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
  const ref = useDialogFocus(props.onCancel);
  return (
    <div className="overlay centered">
      <div className="dialog" role="alertdialog" aria-modal="true" aria-label={props.title} ref={ref} tabIndex={-1}>
        <h2>{props.title}</h2>
        <div>{props.children}</div>
        <div className="actions">
          <button type="button" className={props.danger ? 'danger' : 'primary'} disabled={props.busy} onClick={props.onConfirm}>
            {props.confirmLabel}
          </button>
          <button type="button" onClick={props.onCancel} disabled={props.busy}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
