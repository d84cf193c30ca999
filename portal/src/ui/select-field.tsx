import { useId, type ReactNode, type SelectHTMLAttributes } from 'react';

// A labelled <select>. The label is tied by id rather than wrapped around the
// control, so a screen reader names it by its label alone, not its options.

export function SelectField({ label, children, ...rest }: SelectHTMLAttributes<HTMLSelectElement> & { label: string; children: ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} {...rest}>
        {children}
      </select>
    </div>
  );
}
