import type { SecretAttributes } from '../api/types';
import { fromLocalInput, toLocalInput } from '../ui/format';
import { TagsEditor, tagsFromRows, type TagRow } from './tags-editor';

// The editable properties of a secret version, shared by the create form and
// the version page: content type, activation and expiration, enabled, tags.

export interface AttributeValues {
  contentType: string;
  activation: string;
  expiration: string;
  enabled: boolean;
  tags: TagRow[];
}

export const emptyAttributes = (): AttributeValues => ({ contentType: '', activation: '', expiration: '', enabled: true, tags: [] });

export function toWire(v: AttributeValues): { contentType?: string; tags: Record<string, string>; attributes: SecretAttributes } {
  return {
    ...(v.contentType ? { contentType: v.contentType } : {}),
    tags: tagsFromRows(v.tags),
    attributes: { enabled: v.enabled, nbf: fromLocalInput(v.activation), exp: fromLocalInput(v.expiration) },
  };
}

export function fromWire(item: { contentType?: string; tags?: Record<string, string>; attributes: SecretAttributes }): AttributeValues {
  return {
    contentType: item.contentType ?? '',
    activation: toLocalInput(item.attributes.nbf),
    expiration: toLocalInput(item.attributes.exp),
    enabled: item.attributes.enabled !== false,
    tags: Object.entries(item.tags ?? {}).map(([name, value]) => ({ name, value })),
  };
}

export function AttributeFields({ value, onChange }: { value: AttributeValues; onChange: (v: AttributeValues) => void }) {
  const set = (patch: Partial<AttributeValues>) => onChange({ ...value, ...patch });
  return (
    <>
      <label>
        Content type (optional)
        <input value={value.contentType} maxLength={255} onChange={(e) => set({ contentType: e.target.value })} />
      </label>
      <label>
        Activation date (optional)
        <input type="datetime-local" value={value.activation} onChange={(e) => set({ activation: e.target.value })} />
      </label>
      <label>
        Expiration date (optional)
        <input type="datetime-local" value={value.expiration} onChange={(e) => set({ expiration: e.target.value })} />
      </label>
      <fieldset>
        <legend>Enabled</legend>
        <label className="inline">
          <input type="radio" name="enabled" checked={value.enabled} onChange={() => set({ enabled: true })} />
          Yes
        </label>
        <label className="inline">
          <input type="radio" name="enabled" checked={!value.enabled} onChange={() => set({ enabled: false })} />
          No
        </label>
      </fieldset>
      <TagsEditor rows={value.tags} onChange={(tags) => set({ tags })} />
    </>
  );
}
