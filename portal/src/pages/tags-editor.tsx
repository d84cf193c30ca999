import { useId } from 'react';

// Tags as name/value rows, as Azure's tag grids edit them.

export type TagRow = { name: string; value: string };

export const rowsFromTags = (tags: Record<string, string> | undefined): TagRow[] => Object.entries(tags ?? {}).map(([name, value]) => ({ name, value }));

export function tagsFromRows(rows: TagRow[]): Record<string, string> {
  return Object.fromEntries(rows.filter((r) => r.name.trim() !== '').map((r) => [r.name.trim(), r.value]));
}

/** Names given to more than one row (as sent: trimmed); tags are a map, so one row would silently replace the other. */
export function duplicateTagNames(rows: TagRow[]): Set<string> {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const r of rows) {
    const name = r.name.trim();
    if (name === '') continue;
    if (seen.has(name)) dup.add(name);
    seen.add(name);
  }
  return dup;
}

export const duplicateTagsMessage = (dup: Set<string>): string | null =>
  dup.size === 0 ? null : `Tag names must be unique: ${[...dup].map((n) => `"${n}"`).join(', ')} ${dup.size === 1 ? 'is' : 'are'} used more than once.`;

export function TagsEditor({ rows, onChange }: { rows: TagRow[]; onChange: (rows: TagRow[]) => void }) {
  const errorId = useId();
  const dup = duplicateTagNames(rows);
  const message = duplicateTagsMessage(dup);
  const update = (i: number, patch: Partial<TagRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset>
      <legend>Tags</legend>
      {rows.map((r, i) => {
        const invalid = dup.has(r.name.trim());
        return (
          <div className="tag-row" key={i}>
            <label>
              Tag name {i + 1}
              <input value={r.name} maxLength={512} aria-invalid={invalid || undefined} aria-describedby={invalid ? errorId : undefined} onChange={(e) => update(i, { name: e.target.value })} />
            </label>
            <label>
              Tag value {i + 1}
              <input value={r.value} maxLength={512} onChange={(e) => update(i, { value: e.target.value })} />
            </label>
            <button type="button" className="link" aria-label={`Remove tag ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
        );
      })}
      {message && (
        <p id={errorId} className="field-error" role="alert">
          {message}
        </p>
      )}
      <button type="button" className="link" onClick={() => onChange([...rows, { name: '', value: '' }])} disabled={rows.length >= 15}>
        + Add tag
      </button>
    </fieldset>
  );
}
