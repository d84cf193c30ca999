import { useEffect, useState } from 'react';
import { parseSecretId, secretsApi, type SecretsApi } from '../api/secrets';
import type { SecretItem } from '../api/types';
import { ErrorNotice, Loaded } from '../ui/feedback';
import { copyText, formatTime } from '../ui/format';
import { notify } from '../ui/toasts';
import { useAction } from '../ui/use-action';
import { useAsync } from '../ui/use-async';
import { AttributeFields, blockInvalid, fromWire, toUpdateWire, type AttributeValues } from './secret-attributes';
import type { VaultContext } from './vault-shell';

// One version of a secret: its properties (editable), and its value only when
// asked for: reading the value is a separate, audited Get.

async function findVersion(api: SecretsApi, secret: string, version: string): Promise<SecretItem> {
  let next: string | undefined;
  do {
    const page = await api.versions(secret, next);
    const hit = page.value.find((v) => parseSecretId(v.id).version === version);
    if (hit) return hit;
    next = page.nextLink ?? undefined;
  } while (next);
  throw new Error(`Version ${version} of secret ${secret} was not found.`);
}

function SecretValue({ api, secret, version }: { api: SecretsApi; secret: string; version: string }) {
  const [value, setValue] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const show = () => run(async () => setValue((await api.get(secret, version)).value ?? ''));
  return (
    <div className="secret-value">
      {value === null ? (
        <button type="button" onClick={show} disabled={busy}>
          {busy ? 'Loading…' : 'Show Secret Value'}
        </button>
      ) : (
        <>
          <label>
            Secret value
            {/* A textarea keeps a multi-line value's line breaks; sized to the value, within limits. */}
            <textarea readOnly value={value} className="mono" rows={Math.min(Math.max(value.split('\n').length, 1), 15)} spellCheck={false} />
          </label>
          <button type="button" onClick={async () => notify((await copyText(value)) ? 'Secret value copied to clipboard.' : 'Copy failed: select the value and copy it.')}>
            Copy to clipboard
          </button>
          <button type="button" onClick={() => setValue(null)}>
            Hide Secret Value
          </button>
        </>
      )}
      {error && <ErrorNotice error={error} />}
    </div>
  );
}

function Properties({ api, item, secret, version, onSaved }: { api: SecretsApi; item: SecretItem; secret: string; version: string; onSaved: () => void }) {
  const [values, setValues] = useState<AttributeValues>(() => fromWire(item));
  const { busy, error, run } = useAction();
  useEffect(() => setValues(fromWire(item)), [item]);
  const save = () =>
    run(async () => {
      await api.update(secret, version, toUpdateWire(values, fromWire(item)));
      notify(`Successfully updated the properties of secret ${secret}.`);
      onSaved();
    });
  return (
    <form
      className="form"
      aria-label="Secret version properties"
      onSubmit={(e) => {
        e.preventDefault();
        if (!blockInvalid(e.currentTarget, values)) void save();
      }}
    >
      <dl className="essentials">
        <div>
          <dt>Secret Identifier</dt>
          <dd className="mono">{item.id}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatTime(item.attributes.created)}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>{formatTime(item.attributes.updated)}</dd>
        </div>
      </dl>
      <AttributeFields value={values} onChange={setValues} />
      {error && <ErrorNotice error={error} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" disabled={busy} onClick={() => setValues(fromWire(item))}>
          Discard changes
        </button>
      </div>
    </form>
  );
}

export function SecretVersion({ vault, secret, version }: VaultContext & { secret: string; version: string }) {
  const api = secretsApi(vault.properties.vaultUri);
  const [state, reload] = useAsync(() => findVersion(api, secret, version), [vault.properties.vaultUri, secret, version]);
  return (
    <>
      <h2 className="mono">{version}</h2>
      <SecretValue api={api} secret={secret} version={version} />
      <Loaded state={state} label="Loading secret version" onRetry={reload}>
        {(item) => <Properties api={api} item={item} secret={secret} version={version} onSaved={reload} />}
      </Loaded>
    </>
  );
}
