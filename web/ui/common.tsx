/** Small pieces every page uses: errors, loading and empty states, page headers. */
import type { ComponentChildren } from 'preact';
import { AuthenticationError, WeirError } from '../../sdk/index.js';
import { useSignOut } from './api.js';
import type { Async } from './use-async.js';

/** The server's own message (`error` of its JSON body) when there is one. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorBox(props: { error: unknown; testId?: string }) {
  const signOut = useSignOut();
  const { error } = props;
  const code = error instanceof WeirError ? error.code : undefined;
  return (
    <div class="error-box" role="alert" data-testid={props.testId}>
      <span class="error-text">{errorMessage(error)}</span>
      {code && <span class="error-code">{code}</span>}
      {error instanceof AuthenticationError && (
        <button type="button" class="link-button" onClick={signOut}>
          Sign in again
        </button>
      )}
    </div>
  );
}

export const Loading = (props: { what?: string }) => (
  <div class="muted loading">Loading{props.what ? ` ${props.what}` : ''}…</div>
);

export const Empty = (props: { children: ComponentChildren }) => (
  <div class="muted empty">{props.children}</div>
);

/** Renders an async value: a loading line, the error, or the children given the value. */
export function AsyncView<T>(props: {
  value: Async<T>;
  what?: string;
  children: (value: T) => ComponentChildren;
}) {
  const { value } = props;
  if (value.state === 'loading') return <Loading what={props.what} />;
  if (value.state === 'failed') return <ErrorBox error={value.error} />;
  return <>{props.children(value.value)}</>;
}

export function PageHeader(props: { title: ComponentChildren; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1>{props.title}</h1>
      <div class="page-actions">{props.children}</div>
    </header>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`}>{props.status}</span>;
}
