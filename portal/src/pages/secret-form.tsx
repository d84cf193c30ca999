import { useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../api/http';
import { secretsApi, type SecretsApi } from '../api/secrets';
import { Link, navigate } from '../router';
import { SelectField } from '../ui/select-field';
import { ErrorNotice } from '../ui/feedback';
import { notify } from '../ui/toasts';
import { useAction } from '../ui/use-action';
import { AttributeFields, blockInvalid, emptyAttributes, toWire } from './secret-attributes';
import { SecretValueInput } from './secret-value-input';
import { vaultPage, type VaultContext } from './vault-shell';

// "Create a secret" (+ Generate/Import) and "Create a new version".

/**
 * Key Vault's rule for secret names. Checked here rather than by a pattern
 * attribute, whose only feedback is the browser's generic tooltip.
 */
const NAME_RULE = /^[0-9a-zA-Z-]{1,127}$/;
const NAME_MESSAGE = 'The name must be 1-127 characters long and contain only 0-9, a-z, A-Z, and -.';
const GENERATED_LENGTH = 32;

/** A random value from an unambiguous alphabet, for "Generate". */
function generateValue(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.~!';
  const out: string[] = [];
  // Rejection sampling keeps every character equally likely.
  while (out.length < GENERATED_LENGTH) {
    for (const b of crypto.getRandomValues(new Uint8Array(64))) {
      if (b < 256 - (256 % alphabet.length) && out.length < GENERATED_LENGTH) out.push(alphabet[b % alphabet.length]!);
    }
  }
  return out.join('');
}

/**
 * Whether a secret of this name exists, from its version list (never its value).
 * A PUT to an existing name would add a version without the old tags and
 * dates, which "Create a secret" must not do. A caller who may not list
 * versions cannot tell: the PUT decides, as it would in Azure.
 */
async function nameInUse(api: SecretsApi, name: string): Promise<boolean> {
  try {
    const page = await api.versions(name, undefined, 1);
    return page.value.length > 0 || Boolean(page.nextLink);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.denied)) return false;
    throw err;
  }
}

export function SecretForm({ vault, rg, secret }: VaultContext & { secret?: string }) {
  const [name, setName] = useState(secret ?? '');
  const [value, setValue] = useState('');
  const [attributes, setAttributes] = useState(emptyAttributes);
  // The name found in use by the last Create; cleared by editing the name.
  const [taken, setTaken] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const nameInput = useRef<HTMLInputElement>(null);
  const back = vaultPage(rg, vault.name, secret ? `/secrets/${encodeURIComponent(secret)}` : '/secrets');
  // Shown as soon as a typed name breaks the rule, as Azure's form does; an empty name is left to `required`.
  const nameError = secret === undefined && name !== '' && !NAME_RULE.test(name);
  const nameInvalid = nameError || taken !== null;

  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (nameError) {
      nameInput.current?.focus();
      return;
    }
    if (blockInvalid(e.currentTarget, attributes)) return;
    void run(async () => {
      const api = secretsApi(vault.properties.vaultUri);
      if (secret === undefined && (await nameInUse(api, name))) {
        setTaken(name);
        nameInput.current?.focus();
        return;
      }
      await api.set(name, { value, ...toWire(attributes) });
      notify(secret ? `Successfully created a new version of secret ${name}.` : `The secret ${name} has been successfully created.`);
      navigate(back);
    });
  };

  return (
    <form className="form" onSubmit={submit} aria-label={secret ? 'Create a new version' : 'Create a secret'}>
      <h2>{secret ? 'Create a new version' : 'Create a secret'}</h2>
      <SelectField label="Upload options" value="manual" disabled>
          <option value="manual">Manual</option>
        </SelectField>
      <label>
        Name
        <input
          ref={nameInput}
          required
          value={name}
          readOnly={secret !== undefined}
          onChange={(e) => {
            setName(e.target.value);
            setTaken(null);
          }}
          aria-invalid={nameInvalid ? true : undefined}
          aria-describedby={nameInvalid ? 'secret-name-error secret-name-help' : 'secret-name-help'}
        />
      </label>
      {nameError && (
        <p id="secret-name-error" className="field-error" role="alert">
          {NAME_MESSAGE}
        </p>
      )}
      {taken !== null && !nameError && (
        <p id="secret-name-error" className="field-error" role="alert">
          A secret named {taken} already exists in this vault. To add a value to it, open{' '}
          <Link to={vaultPage(rg, vault.name, `/secrets/${encodeURIComponent(taken)}`)}>{taken}</Link> and use + New Version.
        </p>
      )}
      <p id="secret-name-help" className="help">
        Letters, digits and dashes, up to 127 characters.
      </p>
      <SecretValueInput value={value} onChange={setValue} />
      <button type="button" className="link" onClick={() => setValue(generateValue())}>
        Generate a random value
      </button>
      <AttributeFields value={attributes} onChange={setAttributes} />
      {error && <ErrorNotice error={error} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create'}
        </button>
        <button type="button" onClick={() => navigate(back)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
