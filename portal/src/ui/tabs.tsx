import type { KeyboardEvent } from 'react';

// Tabs with the ARIA tabs pattern (arrow keys, Home and End move the selection and the focus).

export interface TabItem {
  id: string;
  label: string;
  disabled?: boolean;
}

export function Tabs({ tabs, active, onSelect, label }: { tabs: TabItem[]; active: string; onSelect: (id: string) => void; label: string }) {
  const enabled = tabs.filter((t) => !t.disabled);
  const onKey = (e: KeyboardEvent) => {
    const i = enabled.findIndex((t) => t.id === active);
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    const to = e.key === 'Home' ? 0 : e.key === 'End' ? enabled.length - 1 : step === 0 || i < 0 ? -1 : (i + step + enabled.length) % enabled.length;
    if (to < 0) return;
    e.preventDefault();
    const id = enabled[to]!.id;
    onSelect(id);
    // The selected tab takes the focus, as the ARIA tabs pattern has it (it is the one tab in the tab order).
    document.getElementById(`tab-${id}`)?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label={label} onKeyDown={onKey}>
      {tabs.map((t) => (
        <button
          key={t.id}
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={t.id === active}
          tabIndex={t.id === active ? 0 : -1}
          disabled={t.disabled}
          onClick={() => onSelect(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
