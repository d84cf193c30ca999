import { useId } from 'react';
import type { SecretUpdate } from '../api/secrets';
import type { SecretAttributes } from '../api/types';
import { fromLocalInput, toLocalInput } from '../ui/format';
import { duplicateTagNames, duplicateTagsMessage, TagsEditor, tagsFromRows, type TagRow } from './tags-editor';

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

/** For a new secret or version (PUT): empty fields are left out, so they stay unset. */
export function toWire(v: AttributeValues): { contentType?: string; tags: Record<string, string>; attributes: SecretAttributes } {
  return {
    ...(v.contentType ? { contentType: v.contentType } : {}),
    tags: tagsFromRows(v.tags),
    attributes: { enabled: v.enabled, nbf: fromLocalInput(v.activation), exp: fromLocalInput(v.expiration) },
  };
}

/**
 * For an existing version (PATCH): a field left out is kept as it is, so an
 * emptied field must be sent as null, which the vault stores as "not set".
 * Dates go out only when edited: a round trip through the date input could
 * otherwise shift a stored time the user never touched.
 */
export function toUpdateWire(v: AttributeValues, loaded: AttributeValues): SecretUpdate {
  const attributes: NonNullable<SecretUpdate['attributes']> = { enabled: v.enabled };
  if (v.activation !== loaded.activation) attributes.nbf = fromLocalInput(v.activation) ?? null;
  if (v.expiration !== loaded.expiration) attributes.exp = fromLocalInput(v.expiration) ?? null;
  return { contentType: v.contentType === '' ? null : v.contentType, tags: tagsFromRows(v.tags), attributes };
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

const datesMessage = (v: AttributeValues): string | null => {
  const nbf = fromLocalInput(v.activation);
  const exp = fromLocalInput(v.expiration);
  return nbf !== undefined && exp !== undefined && exp <= nbf ? 'The expiration date must be later than the activation date.' : null;
};

/** Why the values cannot be saved (empty when they can); the fields show the same messages. */
export const attributeErrors = (v: AttributeValues): string[] =>
  [datesMessage(v), duplicateTagsMessage(duplicateTagNames(v.tags))].filter((m): m is string => m !== null);

/** Refuses a submit while a field is invalid, moving focus to the first invalid field so its message is read. */
export function blockInvalid(form: HTMLFormElement, v: AttributeValues): boolean {
  if (attributeErrors(v).length === 0) return false;
  form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  return true;
}

export function AttributeFields({ value, onChange }: { value: AttributeValues; onChange: (v: AttributeValues) => void }) {
  const set = (patch: Partial<AttributeValues>) => onChange({ ...value, ...patch });
  const datesErrorId = useId();
  const datesError = datesMessage(value);
  return (
    <>
      <label>
        Content type (optional)
        <input value={value.contentType} maxLength={255} onChange={(e) => set({ contentType: e.target.value })} />
      </label>
      <label>
        Activation date (optional)
        <input type="datetime-local" step="1" value={value.activation} onChange={(e) => set({ activation: e.target.value })} />
      </label>
      <label>
        Expiration date (optional)
        <input
          type="datetime-local"
          step="1"
          value={value.expiration}
          aria-invalid={datesError ? true : undefined}
          aria-describedby={datesError ? datesErrorId : undefined}
          onChange={(e) => set({ expiration: e.target.value })}
        />
      </label>
      {datesError && (
        <p id={datesErrorId} className="field-error" role="alert">
          {datesError}
        </p>
      )}
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
