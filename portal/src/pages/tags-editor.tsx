// Tags as name/value rows, as Azure's tag grids edit them.

export type TagRow = { name: string; value: string };

export const rowsFromTags = (tags: Record<string, string> | undefined): TagRow[] => Object.entries(tags ?? {}).map(([name, value]) => ({ name, value }));

export function tagsFromRows(rows: TagRow[]): Record<string, string> {
  return Object.fromEntries(rows.filter((r) => r.name.trim() !== '').map((r) => [r.name.trim(), r.value]));
}

export function TagsEditor({ rows, onChange }: { rows: TagRow[]; onChange: (rows: TagRow[]) => void }) {
  const update = (i: number, patch: Partial<TagRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset>
      <legend>Tags</legend>
      {rows.map((r, i) => (
        <div className="tag-row" key={i}>
          <label>
            Tag name {i + 1}
            <input value={r.name} maxLength={512} onChange={(e) => update(i, { name: e.target.value })} />
          </label>
          <label>
            Tag value {i + 1}
            <input value={r.value} maxLength={512} onChange={(e) => update(i, { value: e.target.value })} />
          </label>
          <button type="button" className="link" aria-label={`Remove tag ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="link" onClick={() => onChange([...rows, { name: '', value: '' }])} disabled={rows.length >= 15}>
        + Add tag
      </button>
    </fieldset>
  );
}
