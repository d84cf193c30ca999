import type { KeyboardEvent } from 'react';

// Tabs with the ARIA tabs pattern (arrow keys move between tabs).

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
    if (step === 0 || i < 0) return;
    e.preventDefault();
    onSelect(enabled[(i + step + enabled.length) % enabled.length]!.id);
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
