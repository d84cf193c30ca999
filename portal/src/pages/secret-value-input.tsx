import { useState } from 'react';

// The value field of the create forms. A textarea, not a password input: an
// input drops the line breaks of a pasted PEM or JSON value. While hidden,
// the text is masked with CSS, so the value is not on screen unless asked.

export function SecretValueInput({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [shown, setShown] = useState(false);
  const lines = value.split('\n').length;
  return (
    <div className="secret-value-input">
      <label>
        Secret value
        <textarea
          required
          className={shown ? 'mono' : 'mono masked'}
          rows={Math.min(Math.max(lines, 1), 12)}
          autoComplete="off"
          autoCapitalize="off"
          autoCorrect="off"
          spellCheck={false}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      </label>
      <button type="button" className="link" aria-pressed={shown} onClick={() => setShown((s) => !s)}>
        Show value
      </button>
    </div>
  );
}
