/**
 * The signed-in session: one WeirClient for the page, over the token kept in localStorage.
 * Pages take the client from context so none of them handles tokens.
 */
import { type ComponentChildren, createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { type Permission, WeirClient } from '../../sdk/index.js';

const TOKEN_KEY = 'weir.token';

export interface Session {
  readonly client: WeirClient;
  readonly tenant: string;
  readonly tokenName: string;
  readonly permissions: readonly Permission[];
  /** The databases a scoped token may use; null for every database (and tenant-wide facts). */
  readonly databases: readonly string[] | null;
}

export class SignInError extends Error {
  override name = 'SignInError';
}

/** Checks a token with the server (`GET /api/v1/auth/verify`) and opens a session over it. */
export async function openSession(token: string): Promise<Session> {
  const client = new WeirClient({ url: location.origin, token });
  const verification = await client.tokens.verify();
  if (!verification.valid) throw new SignInError(`Token rejected: ${verification.error ?? 'not valid'}`);
  return {
    client,
    tenant: verification.tenant ?? '',
    tokenName: verification.token_info?.name ?? '',
    permissions: verification.permissions ?? [],
    databases: verification.databases ?? null,
  };
}

export const storedToken = (): string | null => localStorage.getItem(TOKEN_KEY);
export const storeToken = (token: string): void => localStorage.setItem(TOKEN_KEY, token);
export const forgetToken = (): void => localStorage.removeItem(TOKEN_KEY);

interface SessionContextValue {
  readonly session: Session;
  readonly signOut: () => void;
}

const SessionContext = createContext<SessionContextValue | undefined>(undefined);

export function SessionProvider(props: { value: SessionContextValue; children: ComponentChildren }) {
  return <SessionContext.Provider value={props.value}>{props.children}</SessionContext.Provider>;
}

function useSessionContext(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('no session: render inside SessionProvider');
  return value;
}

export const useSession = (): Session => useSessionContext().session;
export const useClient = (): WeirClient => useSessionContext().session.client;
export const useSignOut = (): (() => void) => useSessionContext().signOut;
