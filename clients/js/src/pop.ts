/**
 * The install key and what it signs, over WebCrypto (browsers, TV web runtimes,
 * Node ≥ 18): an EC P-256 key pair made at the install's first registration, whose
 * public half is registered (RFC 7591 `jwks`) and whose private half signs client
 * assertions (RFC 7523, `private_key_jwt`) and DPoP proofs (RFC 9449).
 *
 * Where the private key lives is a {@link KeyStore}: in browsers by default
 * {@link IndexedDbKeyStore}, which keeps it non-extractable (script on the page can
 * use it but never read it out); elsewhere the credential store keeps it as a JWK
 * (Node's `FileStore` writes it with mode 0600).
 */
import { DcrError } from './errors.js';

/** A key pair the SDK signs with, and its public JWK and RFC 7638 thumbprint. */
export interface InstallKey {
  privateKey: CryptoKey;
  /** The public members only: `kty`, `crv`, `x`, `y`. */
  publicJwk: JsonWebKey;
  thumbprint: string;
}

/** Keeps an install's key pair (the key may be non-extractable). */
export interface KeyStore {
  load(): Promise<CryptoKeyPair | null>;
  save(pair: CryptoKeyPair | null): Promise<void>;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

export function subtleOf(crypto: Crypto | undefined): SubtleCrypto {
  if (!crypto?.subtle) {
    throw new DcrError('no_crypto', 'WebCrypto is not available here: pass options.crypto, or binding: "never"');
  }
  return crypto.subtle;
}

/** A new P-256 key pair; `extractable` only where the private key must be written out. */
export async function generateKeyPair(crypto: Crypto, extractable: boolean): Promise<CryptoKeyPair> {
  return (await subtleOf(crypto).generateKey(EC, extractable, ['sign', 'verify'])) as CryptoKeyPair;
}

/** The signing key and public JWK of a pair. */
export async function installKeyOf(crypto: Crypto, pair: CryptoKeyPair): Promise<InstallKey> {
  const jwk = await subtleOf(crypto).exportKey('jwk', pair.publicKey);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) {
    throw new DcrError('corrupt_store', 'the install key is not an EC P-256 key');
  }
  const publicJwk: JsonWebKey = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  return { privateKey: pair.privateKey, publicJwk, thumbprint: await thumbprint(crypto, publicJwk) };
}

/** The private key as a JWK (for stores that keep it as text). */
export async function exportPrivateJwk(crypto: Crypto, pair: CryptoKeyPair): Promise<JsonWebKey> {
  return subtleOf(crypto).exportKey('jwk', pair.privateKey);
}

/** A key pair from a private JWK a store kept. */
export async function importPrivateJwk(crypto: Crypto, jwk: JsonWebKey): Promise<CryptoKeyPair> {
  const subtle = subtleOf(crypto);
  const { kty, crv, x, y, d } = jwk;
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y || !d) {
    throw new DcrError('corrupt_store', 'the stored install key is not a private EC P-256 JWK');
  }
  const privateKey = await subtle.importKey('jwk', { kty, crv, x, y, d }, EC, false, ['sign']);
  const publicKey = await subtle.importKey('jwk', { kty, crv, x, y }, EC, true, ['verify']);
  return { privateKey, publicKey };
}

/** RFC 7638: SHA-256 of the required members in lexicographic order, base64url. */
export async function thumbprint(crypto: Crypto, jwk: JsonWebKey): Promise<string> {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return base64url(new Uint8Array(await subtleOf(crypto).digest('SHA-256', utf8(canonical))));
}

/** A compact JWS (ES256) of `payload` with `typ`, and the public JWK in the header when asked. */
export async function signJwt(crypto: Crypto, key: InstallKey, typ: string, payload: object, embedJwk: boolean): Promise<string> {
  const header: Record<string, unknown> = { alg: 'ES256', typ };
  if (embedJwk) header.jwk = key.publicJwk;
  const signingInput = `${base64url(utf8(JSON.stringify(header)))}.${base64url(utf8(JSON.stringify(payload)))}`;
  // WebCrypto's ECDSA signature is r || s, exactly JWS's ES256 form (RFC 7518 3.4).
  const signature = await subtleOf(crypto).sign(ES256, key.privateKey, utf8(signingInput));
  return `${signingInput}.${base64url(new Uint8Array(signature))}`;
}

/** A DPoP proof (RFC 9449 4) for `method url`, with `ath` when it goes with a token. */
export async function dpopProof(
  crypto: Crypto,
  key: InstallKey,
  method: string,
  url: string,
  nowMs: number,
  accessToken?: string,
  nonce?: string,
): Promise<string> {
  const htu = url.split('#')[0].split('?')[0];
  const payload: Record<string, unknown> = { jti: randomId(crypto), htm: method.toUpperCase(), htu, iat: Math.floor(nowMs / 1000) };
  if (accessToken !== undefined) {
    payload.ath = base64url(new Uint8Array(await subtleOf(crypto).digest('SHA-256', utf8(accessToken))));
  }
  if (nonce) payload.nonce = nonce;
  return signJwt(crypto, key, 'dpop+jwt', payload, true);
}

/** A client assertion (RFC 7523 3) for `clientId` at `audience`, valid one minute. */
export async function clientAssertion(crypto: Crypto, key: InstallKey, clientId: string, audience: string, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return signJwt(crypto, key, 'JWT', { iss: clientId, sub: clientId, aud: audience, iat, exp: iat + 60, jti: randomId(crypto) }, false);
}

function randomId(crypto: Crypto): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Keeps the key pair in memory only (tests; installs that must not persist). */
export class MemoryKeyStore implements KeyStore {
  private pair: CryptoKeyPair | null = null;

  async load(): Promise<CryptoKeyPair | null> {
    return this.pair;
  }

  async save(pair: CryptoKeyPair | null): Promise<void> {
    this.pair = pair;
  }
}

/**
 * Keeps the key pair in IndexedDB, where a `CryptoKey` is stored as it is: generated
 * non-extractable, its private half can sign but can never be read out, not even by
 * script on the page. One database per name (default: one per dcr server).
 */
export class IndexedDbKeyStore implements KeyStore {
  constructor(private readonly name: string = 'dcr-client-keys') {}

  private open(): Promise<IDBDatabase> {
    return new Promise((resolve, reject) => {
      if (typeof indexedDB === 'undefined') {
        reject(new DcrError('corrupt_store', 'IndexedDB is not available in this environment'));
        return;
      }
      const request = indexedDB.open(this.name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore('keys');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(new DcrError('corrupt_store', `IndexedDB: ${String(request.error)}`));
    });
  }

  private async run<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest): Promise<T> {
    const db = await this.open();
    try {
      return await new Promise<T>((resolve, reject) => {
        const tx = db.transaction('keys', mode);
        const request = act(tx.objectStore('keys'));
        tx.oncomplete = () => resolve(request.result as T);
        tx.onerror = () => reject(new DcrError('corrupt_store', `IndexedDB: ${String(tx.error)}`));
      });
    } finally {
      db.close();
    }
  }

  async load(): Promise<CryptoKeyPair | null> {
    const pair = await this.run<CryptoKeyPair | undefined>('readonly', (s) => s.get('install'));
    return pair ?? null;
  }

  async save(pair: CryptoKeyPair | null): Promise<void> {
    await this.run('readwrite', (s) => (pair ? s.put(pair, 'install') : s.delete('install')));
  }
}
