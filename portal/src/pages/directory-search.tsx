import { useEffect, useState } from 'react';
import { detailOf, kindOf, searchDirectory } from '../api/directory';
import type { DirectoryObject } from '../api/types';
import { ErrorNotice, Loading } from '../ui/feedback';
import { Panel } from '../ui/panel';

// Searching users, groups and service principals, inline (access policy
// wizard) or in the "Select members" pane (role assignment wizard).

export function DirectorySearch(props: { label: string; selected: DirectoryObject[]; onToggle: (o: DirectoryObject) => void; only?: DirectoryObject['@odata.type'] }) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<DirectoryObject[] | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      searchDirectory(query.trim()).then(
        (r) => {
          if (!live) return;
          setResults(r.value.filter((o) => !props.only || o['@odata.type'] === props.only));
          setError(null);
        },
        (err: Error) => live && setError(err),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [query, props.only]);
  const isSelected = (o: DirectoryObject) => props.selected.some((s) => s.id === o.id);
  return (
    <div className="directory-search">
      <label>
        {props.label}
        <input type="search" value={query} placeholder="Search by name or email address" onChange={(e) => setQuery(e.target.value)} />
      </label>
      {error && <ErrorNotice error={error} />}
      {!results && !error && <Loading label="Searching" />}
      {results && (
        <ul className="results" aria-label="Search results">
          {results.map((o) => (
            <li key={o.id}>
              <button type="button" className="result" aria-pressed={isSelected(o)} onClick={() => props.onToggle(o)}>
                <span className="result-name">{o.displayName}</span>
                <span className="muted">
                  {kindOf(o)}
                  {detailOf(o) ? ` · ${detailOf(o)}` : ''}
                </span>
              </button>
            </li>
          ))}
          {results.length === 0 && <li className="empty">No results.</li>}
        </ul>
      )}
    </div>
  );
}

/** The "Select members" pane: pick one or more principals, then Select. */
export function MemberPicker({ initial, single, onDone, onClose }: { initial: DirectoryObject[]; single?: boolean; onDone: (picked: DirectoryObject[]) => void; onClose: () => void }) {
  const [picked, setPicked] = useState<DirectoryObject[]>(initial);
  const toggle = (o: DirectoryObject) => setPicked((p) => (p.some((x) => x.id === o.id) ? p.filter((x) => x.id !== o.id) : single ? [o] : [...p, o]));
  return (
    <Panel
      title={single ? 'Select a member' : 'Select members'}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="primary" onClick={() => onDone(picked)}>
            Select
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </>
      }
    >
      <DirectorySearch label="Select" selected={picked} onToggle={toggle} />
      <h3>Selected members:</h3>
      {picked.length === 0 ? (
        <p className="muted">No members selected.</p>
      ) : (
        <ul className="picked" aria-label="Selected members">
          {picked.map((o) => (
            <li key={o.id}>
              {o.displayName} <span className="muted">({kindOf(o)})</span>
              <button type="button" className="link" aria-label={`Remove ${o.displayName}`} onClick={() => toggle(o)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
