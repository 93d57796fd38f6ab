import { DcrError } from './errors.js';

/** An access token as cached between calls. */
export interface CachedToken {
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** DPoP-bound: sent with the `DPoP` scheme and a fresh proof per request. */
  bound?: boolean;
}

/** What an install keeps: the credentials forever, the token while it lives. */
export interface Credentials {
  clientId: string;
  /** Absent for an install that authenticates with its key (`private_key_jwt`). */
  clientSecret?: string;
  /** The install key's private JWK, when no {@link KeyStore} keeps it (Node). */
  installKey?: JsonWebKey;
  /** RFC 7638 thumbprint of the install key the registration holds. */
  keyThumbprint?: string;
  /** Token requests carry a DPoP proof: the application's policy asks for bound tokens. */
  dpop?: boolean;
  /** RFC 7592: deletes this registration ({@link DcrClient.unregister}). */
  registrationAccessToken?: string;
  registrationClientUri?: string;
  /** The server these credentials belong to. */
  baseUrl: string;
  /** The application (the statement's `software_id`) they belong to. */
  softwareId?: string;
  token?: CachedToken;
}

/**
 * Where credentials live: two methods, sync or async. `save(null)` forgets them
 * (after {@link DcrClient.unregister}). Implement it over Keychain, Android's
 * encrypted preferences, a TV platform's secure storage, ...
 */
export interface CredentialStore {
  load(): Promise<Credentials | null> | Credentials | null;
  save(credentials: Credentials | null): Promise<void> | void;
}

/** Keeps the credentials in memory only (tests; apps that must not persist). */
export class MemoryStore implements CredentialStore {
  private value: Credentials | null = null;

  load(): Credentials | null {
    return this.value ? { ...this.value } : null;
  }

  save(credentials: Credentials | null): void {
    this.value = credentials ? { ...credentials } : null;
  }
}

/**
 * Keeps the credentials in the browser's `localStorage` (web apps, Tizen and webOS
 * web runtimes). Anything on the page's origin can read them: keep third-party
 * scripts off pages that use it.
 */
export class LocalStorageStore implements CredentialStore {
  constructor(private readonly key: string = 'dcr-client.credentials') {}

  private storage(): Storage {
    if (typeof localStorage === 'undefined') {
      throw new DcrError('corrupt_store', 'localStorage is not available in this environment');
    }
    return localStorage;
  }

  load(): Credentials | null {
    const text = this.storage().getItem(this.key);
    return text === null ? null : parseCredentials(text);
  }

  save(credentials: Credentials | null): void {
    if (credentials === null) {
      this.storage().removeItem(this.key);
    } else {
      this.storage().setItem(this.key, JSON.stringify(credentials));
    }
  }
}

/** Parses stored credentials; anything else is `corrupt_store`. */
export function parseCredentials(text: string): Credentials {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DcrError('corrupt_store', 'the stored credentials are not JSON', { cause: e });
  }
  return checkCredentials(value);
}

/** Checks the shape of stored credentials (what a custom store returned, too). */
export function checkCredentials(value: unknown): Credentials {
  const bad = (why: string) => new DcrError('corrupt_store', `the stored credentials are unusable: ${why}`);
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const c = value as Record<string, unknown>;
  for (const field of ['clientId', 'baseUrl']) {
    if (typeof c[field] !== 'string' || c[field] === '') throw bad(`${field} is missing`);
  }
  for (const field of ['clientSecret', 'registrationAccessToken', 'registrationClientUri', 'softwareId', 'keyThumbprint']) {
    if (c[field] !== undefined && typeof c[field] !== 'string') throw bad(`${field} is not a string`);
  }
  if (c.clientSecret === undefined && c.keyThumbprint === undefined) throw bad('neither clientSecret nor keyThumbprint');
  if (c.installKey !== undefined && (typeof c.installKey !== 'object' || c.installKey === null)) throw bad('installKey is not a JWK');
  if (c.dpop !== undefined && typeof c.dpop !== 'boolean') throw bad('dpop is not a boolean');
  if (c.token !== undefined) {
    const t = c.token as Record<string, unknown> | null;
    if (typeof t !== 'object' || t === null || typeof t.accessToken !== 'string' || typeof t.expiresAt !== 'number') {
      throw bad('token is malformed');
    }
  }
  return c as unknown as Credentials;
}
