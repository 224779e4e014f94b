/** Small pieces the pages share. */
import type { ComponentChildren } from 'preact';
import { isApiError, type Identity } from '../../src/client/index.js';
import { short } from './format.js';

export function Page(props: { title: string; intro?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title">{props.title}</h1>
      {props.intro !== undefined && <p class="intro">{props.intro}</p>}
      {props.children}
    </section>
  );
}

export function Panel(props: { title: string; children: ComponentChildren; class?: string }) {
  const id = `panel-${props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section class={`panel ${props.class ?? ''}`} aria-labelledby={id}>
      <h2 id={id}>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** What went wrong, in words: the node's reason and status, or the browser's error. */
export function describeError(error: unknown): string {
  if (isApiError(error)) {
    if (error.status === 403 && error.code === 'ACCESS_READ_ONLY') return 'These credentials are read-only: they cannot change anything.';
    if (error.status === 403 && error.code === 'ACCESS_USERS_ONLY') return 'API tokens are managed by users of the node: sign in with a user name and password.';
    return error.message;
  }
  if (error instanceof Error) return error.name === 'TypeError' ? `The node could not be reached (${error.message}).` : error.message;
  return String(error);
}

export function ErrorNote(props: { error: unknown }) {
  if (props.error === undefined || props.error === null) return null;
  return (
    <p class="error" role="alert">
      {describeError(props.error)}
    </p>
  );
}

/** A 64-hex-digit identifier, shortened; the whole value is its title and can be selected. */
export function HexId(props: { value: string | null | undefined; label?: string }) {
  if (!props.value) return <span class="muted">—</span>;
  return (
    <code class="hex" title={props.value} aria-label={props.label ? `${props.label} ${props.value}` : undefined}>
      {short(props.value)}
    </code>
  );
}

export function identityName(id: Identity): string {
  return id.name || id.did || short(id.sid);
}

/** A select of the unlocked identities, by SID (or by Signing ID for MeshMB). */
export function IdentitySelect(props: {
  label: string;
  identities: readonly Identity[];
  value: string;
  onChange: (value: string) => void;
  by?: 'sid' | 'identity';
  none?: string;
}) {
  const by = props.by ?? 'sid';
  return (
    <label class="field">
      <span>{props.label}</span>
      <select value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.none !== undefined && <option value="">{props.none}</option>}
        {props.identities.map((id) => (
          <option key={id.sid} value={id[by]}>
            {identityName(id)} ({short(id[by])})
          </option>
        ))}
      </select>
    </label>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

/** What an action did (a status line) or what went wrong (an alert). */
export function Outcome(props: { message: string | undefined; error: unknown }) {
  return (
    <>
      <ErrorNote error={props.error} />
      {props.message !== undefined && (
        <p class="ok" role="status">
          {props.message}
        </p>
      )}
    </>
  );
}

/**
 * A table in its scrolling wrapper (cards on a phone), with a header row of `columns`; an empty
 * column name is the actions column, named for screen readers only.
 */
export function Table(props: { label: string; columns: readonly string[]; numeric?: readonly string[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table aria-label={props.label}>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c} scope="col" class={props.numeric?.includes(c) ? 'num' : undefined}>
                {c === '' ? <span class="sr-only">Actions</span> : c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
