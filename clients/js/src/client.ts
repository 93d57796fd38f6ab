import { DcrError } from './errors.js';
import { deviceInfo as defaultDeviceInfo } from './device.js';
import {
  InstallKey,
  KeyStore,
  IndexedDbKeyStore,
  clientAssertion,
  dpopProof,
  exportPrivateJwk,
  generateKeyPair,
  importPrivateJwk,
  installKeyOf,
} from './pop.js';
import { CachedToken, CredentialStore, Credentials, checkCredentials } from './store.js';

/** How an install proves that it holds its credentials (see {@link DcrClientOptions.binding}). */
export type Binding = 'auto' | 'always' | 'never';

/** Time for renewals and waits, injectable so tests need not wait (proofs and assertions carry the real time: the server judges them). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface DcrClientOptions {
  /** The dcr server (its issuer URL), e.g. `https://dcr.example.com`. */
  baseUrl: string;
  /** The application's software statement (a JWS), as shipped with the app. */
  softwareStatement: string;
  /** Where the credentials are kept, forever. */
  store: CredentialStore;
  /** `X-Device-Info`: a header value, or a function giving one; by default built by {@link deviceInfo}. `null` sends none. */
  deviceInfo?: string | null | (() => string | Promise<string>);
  /** Sent at registration as `redirect_uri`. */
  redirectUri?: string;
  /** The `fetch` to use (default: the platform's). */
  fetch?: typeof fetch;
  /** Called after the client had to register again (its credentials were revoked or expired): the user must authenticate again. */
  onReregistered?: (clientId: string) => void;
  clock?: Clock;
  /** Renew this long before expiry (default 5 min, at most half the token's life). */
  renewSkewMs?: number;
  /** Plus up to this much random time, so a fleet does not renew in step (default 1 min). */
  renewJitterMs?: number;
  /** Attempts of one request while throttled (429), including the first (default 4). */
  maxAttempts?: number;
  /** Longest single wait on `Retry-After` (default 30 s). */
  maxRetryWaitMs?: number;
  /**
   * `auto` (default): an install key from the first registration (`private_key_jwt`:
   * the install never holds a secret), and DPoP-bound tokens when the application's
   * policy asks for them (the registration's `dpop_bound_access_tokens`, or a token
   * endpoint refusing a request without a proof). `always`: key and DPoP always.
   * `never`: a client secret and bearer tokens, Adobe-style.
   */
  binding?: Binding;
  /**
   * Where the install key lives: a {@link KeyStore}, or `'credentials'` for the
   * credential store (as a private JWK). Default: {@link IndexedDbKeyStore} where
   * IndexedDB exists (the key is then non-extractable), else the credential store.
   */
  keys?: KeyStore | 'credentials';
  /** WebCrypto (default: `globalThis.crypto`). */
  crypto?: Crypto;
}

const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A token lifetime this SDK believes: one second to thirty days. */
const MAX_EXPIRES_IN = 30 * 24 * 3600;

interface OAuthErrorBody {
  error?: unknown;
  error_description?: unknown;
  code?: unknown;
  message?: unknown;
}

/**
 * One install of an app, as dcr sees it: registers once (credentials kept in the
 * store forever), gets access tokens and renews them ahead of expiry with one request
 * in flight however many callers ask, calls protected APIs, registers again only when
 * the token endpoint says `invalid_client`, honours `429 Retry-After`, and can delete
 * its registration (RFC 7592).
 */
export class DcrClient {
  private readonly baseUrl: string;
  private readonly clock: Clock;
  private readonly fetchImpl: typeof fetch;
  private readonly softwareId?: string;
  private credentials: Credentials | null | undefined = undefined;
  private renewAt = 0;
  private registering: Promise<Credentials> | null = null;
  private renewing: Promise<CachedToken> | null = null;
  /** The install key, once loaded or made. */
  private key: InstallKey | null = null;
  private defaultKeys: KeyStore | null | undefined = undefined;
  /** The last `DPoP-Nonce` the dcr server sent (RFC 9449 8). */
  private nonce: string | undefined = undefined;

  constructor(private readonly options: DcrClientOptions) {
    if (!options.baseUrl || !options.softwareStatement || !options.store) {
      throw new TypeError('DcrClient needs baseUrl, softwareStatement and store');
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.clock = options.clock ?? systemClock;
    const f = options.fetch ?? (typeof fetch === 'function' ? fetch : undefined);
    if (!f) throw new TypeError('no fetch: pass options.fetch');
    // Unbound platform fetch throws "Illegal invocation" in browsers.
    this.fetchImpl = options.fetch ? options.fetch : f.bind(globalThis);
    this.softwareId = statementSoftwareId(options.softwareStatement);
  }

  /** Registers this install unless it already did; returns its client id. */
  async register(): Promise<{ clientId: string }> {
    const creds = await this.ensureRegistered();
    return { clientId: creds.clientId };
  }

  /**
   * A valid access token: cached, renewed ahead of expiry, one request in flight. A
   * DPoP-bound token is useless without a proof: call APIs with {@link fetch}.
   */
  async accessToken(): Promise<string> {
    return (await this.token()).accessToken;
  }

  private async token(): Promise<CachedToken> {
    const creds = await this.loaded();
    if (creds?.token && this.clock.now() < this.renewAt) {
      return creds.token;
    }
    return this.renew();
  }

  /**
   * `fetch` with the access token: `Authorization: Bearer`, or for a DPoP-bound
   * token `Authorization: DPoP` with a fresh `DPoP` proof of this request. On a 401
   * the token is renewed once and the request retried once (or, when the API asks
   * for a DPoP nonce, retried once with it). Give bodies as strings, `ArrayBuffer`s
   * or `FormData` (a stream cannot be sent twice).
   */
  async fetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const token = await this.token();
    const retryable = typeof Request !== 'undefined' && input instanceof Request ? input.clone() : input;
    const first = await this.fetchImpl(input, await this.authorized(input, init, token));
    if (first.status !== 401) return first;
    const nonce = first.headers.get('dpop-nonce');
    if (token.bound && nonce && /use_dpop_nonce/.test(first.headers.get('www-authenticate') ?? '')) {
      return this.fetchImpl(retryable, await this.authorized(retryable, init, token, nonce));
    }
    const fresh = await this.renew(token.accessToken);
    return this.fetchImpl(retryable, await this.authorized(retryable, init, fresh));
  }

  /** `init` with the token, and a proof of `input` when the token is bound. */
  private async authorized(input: string | URL | Request, init: RequestInit, token: CachedToken, nonce?: string): Promise<RequestInit> {
    const isRequest = typeof Request !== 'undefined' && input instanceof Request;
    const headers = new Headers(init.headers ?? (isRequest ? (input as Request).headers : undefined));
    if (!token.bound) {
      headers.set('Authorization', `Bearer ${token.accessToken}`);
      return { ...init, headers };
    }
    const creds = await this.loaded();
    const key = creds ? await this.loadKey(creds) : null;
    if (!key) throw new DcrError('corrupt_store', 'a DPoP-bound token without its install key');
    const method = init.method ?? (isRequest ? (input as Request).method : 'GET');
    const raw = isRequest ? (input as Request).url : String(input);
    const here = typeof location !== 'undefined' ? location.href : undefined;
    const url = new URL(raw, here).href;
    headers.set('Authorization', `DPoP ${token.accessToken}`);
    headers.set('DPoP', await dpopProof(this.crypto(), key, method, url, Date.now(), token.accessToken, nonce));
    return { ...init, headers };
  }

  /**
   * Deletes this install's registration on the server (RFC 7592: an uninstall, or
   * signing out for good) and forgets the credentials. Its tokens are refused
   * everywhere within seconds. A registration the server no longer knows counts as
   * deleted.
   */
  async unregister(): Promise<void> {
    const creds = await this.loaded();
    if (!creds) return;
    if (creds.registrationAccessToken) {
      const uri = creds.registrationClientUri ?? `${this.baseUrl}/o/client/register/${encodeURIComponent(creds.clientId)}`;
      const response = await this.send(uri, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${creds.registrationAccessToken}` },
      });
      if (!response.ok && response.status !== 401) {
        throw await refusal(response);
      }
    }
    await this.options.store.save(null);
    this.credentials = null;
    this.renewAt = 0;
  }

  // ---- credentials -------------------------------------------------------------

  /** The stored credentials, read once; checked against this server and app. */
  private async loaded(): Promise<Credentials | null> {
    if (this.credentials !== undefined) return this.credentials;
    const raw = await this.options.store.load();
    if (raw === null || raw === undefined) {
      this.credentials = null;
      return null;
    }
    const creds = checkCredentials(raw);
    if (creds.baseUrl.replace(/\/+$/, '') !== this.baseUrl) {
      throw new DcrError('store_mismatch', `the stored credentials belong to ${creds.baseUrl}, not ${this.baseUrl}`);
    }
    if (creds.softwareId && this.softwareId && creds.softwareId !== this.softwareId) {
      throw new DcrError('store_mismatch', 'the stored credentials belong to another application: use one store per application');
    }
    this.credentials = creds;
    this.renewAt = creds.token ? this.renewalTime(creds.token, creds.token.expiresAt - this.clock.now()) : 0;
    return creds;
  }

  private async ensureRegistered(): Promise<Credentials> {
    const existing = await this.loaded();
    if (existing) return existing;
    if (!this.registering) {
      this.registering = this.registerNow().finally(() => {
        this.registering = null;
      });
    }
    return this.registering;
  }

  private async registerNow(): Promise<Credentials> {
    const body: Record<string, unknown> = { software_statement: this.options.softwareStatement };
    if (this.options.redirectUri) body.redirect_uri = this.options.redirectUri;
    const binding = this.options.binding ?? 'auto';
    const made = binding === 'never' ? undefined : await this.makeKey();
    if (made) {
      body.jwks = { keys: [made.key.publicJwk] };
      body.token_endpoint_auth_method = 'private_key_jwt';
    }
    const response = await this.send(`${this.baseUrl}/o/client/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(await this.deviceHeader()) },
      body: JSON.stringify(body),
    });
    if (response.status !== 201 && response.status !== 200) throw await refusal(response);
    const answer = await jsonOf(response);
    const clientId = answer.client_id;
    const clientSecret = typeof answer.client_secret === 'string' && answer.client_secret ? answer.client_secret : undefined;
    if (typeof clientId !== 'string' || !clientId || (!made && !clientSecret)) {
      throw new DcrError('malformed_response', 'the registration answer has no client_id or client_secret', { status: response.status });
    }
    const creds: Credentials = {
      clientId,
      clientSecret,
      installKey: made?.storedJwk,
      keyThumbprint: made?.key.thumbprint,
      dpop: binding === 'always' || (binding === 'auto' && answer.dpop_bound_access_tokens === true),
      baseUrl: this.baseUrl,
      softwareId: typeof answer.software_id === 'string' ? answer.software_id : this.softwareId,
      registrationAccessToken: typeof answer.registration_access_token === 'string' ? answer.registration_access_token : undefined,
      registrationClientUri: typeof answer.registration_client_uri === 'string' ? answer.registration_client_uri : undefined,
    };
    await this.options.store.save(creds);
    this.credentials = creds;
    this.renewAt = 0;
    this.key = made?.key ?? null;
    return creds;
  }

  // ---- the install key -----------------------------------------------------------

  private crypto(): Crypto {
    const c = this.options.crypto ?? (typeof crypto !== 'undefined' ? crypto : undefined);
    if (!c?.subtle) throw new DcrError('no_crypto', 'WebCrypto is not available here: pass options.crypto, or binding: "never"');
    return c;
  }

  /** The key store in use; `null` when the credential store keeps the key. */
  private keyStore(): KeyStore | null {
    const keys = this.options.keys;
    if (keys === 'credentials') return null;
    if (keys) return keys;
    if (this.defaultKeys === undefined) {
      this.defaultKeys = typeof indexedDB !== 'undefined' ? new IndexedDbKeyStore(`dcr-client:${this.baseUrl}`) : null;
    }
    return this.defaultKeys;
  }

  /** A new install key, in the key store (non-extractable) or as a JWK for the credentials. */
  private async makeKey(): Promise<{ key: InstallKey; storedJwk?: JsonWebKey }> {
    const crypto = this.crypto();
    const keys = this.keyStore();
    if (keys) {
      const pair = await generateKeyPair(crypto, false);
      await keys.save(pair);
      return { key: await installKeyOf(crypto, pair) };
    }
    const pair = await generateKeyPair(crypto, true);
    return { key: await installKeyOf(crypto, pair), storedJwk: await exportPrivateJwk(crypto, pair) };
  }

  /** The install key of `creds`; `null` when it has none or it was lost. */
  private async loadKey(creds: Credentials): Promise<InstallKey | null> {
    if (!creds.keyThumbprint) return null;
    if (this.key?.thumbprint === creds.keyThumbprint) return this.key;
    const crypto = this.crypto();
    let pair: CryptoKeyPair | null;
    if (creds.installKey) {
      pair = await importPrivateJwk(crypto, creds.installKey);
    } else {
      const keys = this.keyStore();
      pair = keys ? await keys.load() : null;
    }
    if (!pair) return null;
    const key = await installKeyOf(crypto, pair);
    if (key.thumbprint !== creds.keyThumbprint) return null;
    this.key = key;
    return key;
  }

  // ---- tokens ------------------------------------------------------------------

  /** One renewal in flight, shared by every caller; `rejected` is a token a 401 refused. */
  private renew(rejected?: string): Promise<CachedToken> {
    if (!this.renewing) {
      this.renewing = this.renewNow(rejected).finally(() => {
        this.renewing = null;
      });
    }
    return this.renewing;
  }

  private async renewNow(rejected?: string): Promise<CachedToken> {
    const creds = await this.ensureRegistered();
    // Another caller may have renewed while this one waited.
    if (creds.token && creds.token.accessToken !== rejected && this.clock.now() < this.renewAt) {
      return creds.token;
    }
    try {
      return await this.requestToken(creds);
    } catch (e) {
      if (!(e instanceof DcrError)) throw e;
      if (e.code === 'invalid_dpop_proof' && !creds.dpop && (this.options.binding ?? 'auto') !== 'never') {
        // The application now requires bound tokens: from here on, always.
        return this.requestToken(await this.startBinding(creds));
      }
      if (e.code !== 'invalid_client') throw e;
    }
    // The credentials were revoked, expired or deleted: register again, once.
    await this.options.store.save(null);
    this.credentials = null;
    const fresh = await this.ensureRegistered();
    this.options.onReregistered?.(fresh.clientId);
    return this.requestToken(fresh);
  }

  /** Turns DPoP on for `creds` (making a key for a secret client), saved. */
  private async startBinding(creds: Credentials): Promise<Credentials> {
    let updated: Credentials = { ...creds, dpop: true };
    if (!(await this.loadKey(creds))) {
      const made = await this.makeKey();
      updated = { ...updated, installKey: made.storedJwk, keyThumbprint: made.key.thumbprint };
      this.key = made.key;
    }
    await this.options.store.save(updated);
    this.credentials = updated;
    return updated;
  }

  /**
   * A token request, authenticated with the secret or a fresh client assertion, with
   * a fresh DPoP proof when the install binds its tokens; asked for a nonce
   * (`use_dpop_nonce`), once more with it.
   */
  private async requestToken(creds: Credentials): Promise<CachedToken> {
    const url = `${this.baseUrl}/oauth2/token`;
    const key = await this.loadKey(creds);
    const device = await this.deviceHeader();
    const build = async (): Promise<RequestInit> => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: creds.clientId });
      if (creds.clientSecret) {
        form.set('client_secret', creds.clientSecret);
      } else if (key) {
        form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        form.set('client_assertion', await clientAssertion(this.crypto(), key, creds.clientId, url, Date.now()));
      } else {
        // The key went with the browser's storage: this is a new install now.
        throw new DcrError('invalid_client', 'invalid_client: this install lost its key');
      }
      const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...device };
      if (creds.dpop && key) {
        headers.DPoP = await dpopProof(this.crypto(), key, 'POST', url, Date.now(), undefined, this.nonce);
      }
      return { method: 'POST', headers, body: form.toString() };
    };
    let response = await this.send(url, build);
    if (response.status === 400 && creds.dpop) {
      const refused = await refusal(response);
      if (refused.code !== 'use_dpop_nonce') throw refused;
      response = await this.send(url, build);
    }
    if (response.status !== 200 && response.status !== 201) throw await refusal(response);
    const answer = await jsonOf(response);
    const accessToken = answer.access_token;
    const expiresIn = answer.expires_in;
    if (typeof accessToken !== 'string' || !accessToken) {
      throw new DcrError('malformed_response', 'the token answer has no access_token', { status: response.status });
    }
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN) {
      throw new DcrError('malformed_response', `the token answer has an unusable expires_in: ${String(expiresIn)}`, { status: response.status });
    }
    const lifetime = Math.floor(expiresIn) * 1000;
    const bound = typeof answer.token_type === 'string' && answer.token_type.toLowerCase() === 'dpop';
    const token: CachedToken = { accessToken, expiresAt: this.clock.now() + lifetime, ...(bound ? { bound } : {}) };
    const updated = { ...creds, token };
    await this.options.store.save(updated);
    this.credentials = updated;
    this.renewAt = this.renewalTime(token, lifetime);
    return token;
  }

  /** When to renew: before expiry by the skew plus jitter, at most half the life. */
  private renewalTime(token: CachedToken, lifetime: number): number {
    const skew = this.options.renewSkewMs ?? 5 * 60_000;
    const jitter = Math.random() * (this.options.renewJitterMs ?? 60_000);
    return token.expiresAt - Math.min(skew + jitter, Math.max(lifetime, 0) / 2);
  }

  // ---- transport ---------------------------------------------------------------

  private async deviceHeader(): Promise<Record<string, string>> {
    const d = this.options.deviceInfo;
    if (d === null) return {};
    const value = d === undefined ? defaultDeviceInfo() : typeof d === 'function' ? await d() : d;
    return value ? { 'X-Device-Info': value } : {};
  }

  /**
   * One request, waiting out `429 Retry-After` a bounded number of times. Each
   * attempt is built anew (a proof or an assertion is good once); a `DPoP-Nonce` in
   * any answer is kept for the next proof.
   */
  private async send(url: string, init: RequestInit | (() => Promise<RequestInit>)): Promise<Response> {
    const attempts = Math.max(1, this.options.maxAttempts ?? 4);
    const maxWait = this.options.maxRetryWaitMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      const request = typeof init === 'function' ? await init() : init;
      let response: Response;
      try {
        response = await this.fetchImpl(url, request);
      } catch (e) {
        throw new DcrError('network_error', `cannot reach ${url}: ${String(e)}`, { cause: e });
      }
      const nonce = response.headers.get('dpop-nonce');
      if (nonce) this.nonce = nonce;
      if (response.status !== 429) return response;
      const retryAfter = retryAfterSeconds(response);
      if (attempt >= attempts) {
        const refused = await refusal(response);
        throw new DcrError('throttled', `still throttled after ${attempts} attempts: ${refused.message}`, {
          status: 429,
          retryAfter,
        });
      }
      // Bounded exponential backoff when the server gives no (usable) Retry-After.
      const wait = retryAfter !== undefined ? retryAfter * 1000 : 500 * 2 ** (attempt - 1);
      await this.clock.sleep(Math.min(wait, maxWait));
    }
  }
}

function retryAfterSeconds(response: Response): number | undefined {
  const raw = response.headers.get('retry-after');
  if (raw === null) return undefined;
  const n = Number(raw.trim());
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The JSON object of a response, or `malformed_response`. */
async function jsonOf(response: Response): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await response.text();
  } catch (e) {
    throw new DcrError('network_error', 'the answer could not be read', { status: response.status, cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DcrError('malformed_response', `the answer is not JSON (HTTP ${response.status})`, { status: response.status, cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DcrError('malformed_response', `the answer is not a JSON object (HTTP ${response.status})`, { status: response.status });
  }
  return value as Record<string, unknown>;
}

/** A refusal as a {@link DcrError} with the server's code when it gave one. */
async function refusal(response: Response): Promise<DcrError> {
  let body: OAuthErrorBody = {};
  try {
    body = (await jsonOf(response)) as OAuthErrorBody;
  } catch {
    // A refusal without a usable body: the status says enough.
  }
  const code = typeof body.error === 'string' ? body.error : typeof body.code === 'string' ? body.code : `http_${response.status}`;
  const description =
    typeof body.error_description === 'string' ? body.error_description : typeof body.message === 'string' ? body.message : response.statusText;
  return new DcrError(code, `${code}: ${description}`, { status: response.status, retryAfter: retryAfterSeconds(response) });
}

/** The statement's `software_id` (its payload is readable; dcr verifies it). */
function statementSoftwareId(statement: string): string | undefined {
  try {
    const payload = statement.split('.')[1];
    const json = decodeBase64Url(payload);
    const claims = JSON.parse(json) as { software_id?: unknown; sub?: unknown };
    const id = claims.software_id ?? claims.sub;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function decodeBase64Url(text: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of text.replace(/=+$/, '')) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error('not base64url');
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
