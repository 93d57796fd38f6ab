/**
 * dcr-guard: protect a Node API with dcr access tokens, enforcing revocations within
 * seconds. What the Rust `dcr-guard` crate does, for Express/Connect and anything else:
 *
 * - verifies tokens locally against dcr's JWKS (`jose`; the algorithm is the one
 *   published on the key named by `kid`, HMAC and `none` never accepted), `typ:
 *   at+jwt`, issuer, expiry and, when configured, the audience;
 * - polls the revocation feed (`GET /o/revocations`, every 2 s by default) and
 *   refuses tokens of revoked clients, statements, applications and revoked tokens;
 *   a key limited to one programmer hears only that programmer's revocations, so
 *   every other programmer's tokens are refused; `programmer` pins the tenant with
 *   any key (the token's `programmer` claim);
 * - keeps at most `maxRevocations` revocations in memory: past that, every token
 *   issued at or before the newest one not kept is refused as possibly revoked (the
 *   SDKs renew it at once), so memory is bounded and nothing revoked passes;
 * - fails closed (503) when the feed has not been read for `maxStalenessMs` (15 s);
 * - admits a DPoP-bound token (RFC 9449, `cnf.jkt`) only with the `DPoP` scheme and
 *   a fresh proof of the request signed by the key it is bound to, each proof once
 *   per guard (`publicOrigin` names the API's URL for the proofs' `htu`); presented
 *   as a bearer token it is refused;
 * - checks the scope and the channel a route names;
 * - answers with dcr's error table (status, `code`, `action`, `WWW-Authenticate`).
 *
 * ```js
 * import express from 'express';
 * import { createGuard } from 'dcr-guard';
 * const guard = await createGuard({ baseUrl: 'https://dcr.example.com', apiKey: process.env.DCR_RESOURCE_SERVER_KEY });
 * app.get('/api/v2/:serviceProvider/configuration',
 *   guard.middleware({ scope: 'api:client:v2', channelParam: 'serviceProvider' }),
 *   (req, res) => res.json({ client: req.dcr.clientId }));
 * ```
 */
import { EmbeddedJWK, calculateJwkThumbprint, createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

export interface GuardOptions {
  /** The dcr server; also the expected issuer unless `issuer` is given. */
  baseUrl: string;
  /** A resource-server API key (role `resource-server`). */
  apiKey: string;
  /** When set, every token's `aud` must contain it (your API's URI). */
  audience?: string;
  /**
   * When set, only this programmer's tokens are admitted (the `programmer` claim).
   * A key made under a programmer admits only that programmer's tokens anyway.
   */
  programmer?: string;
  /** Revocations kept in memory (default 500000); see the module's notes. */
  maxRevocations?: number;
  /** Expected `iss`; defaults to `baseUrl`. */
  issuer?: string;
  /** How often the revocation feed is read (default 2000 ms). */
  pollIntervalMs?: number;
  /** After this long without a successful read, every request is refused with 503 (default 15000 ms). */
  maxStalenessMs?: number;
  /**
   * The API's public origin (`https://api.example.com`): with the request's path, the
   * URL a DPoP proof must name. Unset, it is `X-Forwarded-Proto` (else the socket's
   * scheme) and the `Host` header: set it behind a proxy that rewrites either.
   */
  publicOrigin?: string;
  /** A DPoP proof is fresh this long after its `iat` (default 60 s)... */
  dpopMaxAgeSeconds?: number;
  /** ...and may claim an `iat` this far ahead (default 5 s). */
  dpopMaxFutureSeconds?: number;
  /** DPoP proofs remembered for single use (default 100000); past that, 503 until old ones expire. */
  dpopReplayCapacity?: number;
  fetch?: typeof fetch;
}

/** The request a token came with: what a DPoP proof must name. */
export interface PresentedRequest {
  /** The HTTP method. */
  method: string;
  /** The absolute URL the client called (query and fragment are ignored). */
  url: string;
  /** The `DPoP` header. */
  dpop?: string;
}

/** The caller of a protected route, as verified. */
export interface VerifiedClient {
  clientId: string;
  /** The registered application (`software_id`). */
  applicationId: string;
  programmer: string;
  /** The software statement the client registered with. */
  statementJti: string;
  scopes: string[];
  /** Set when the application is limited to these channels; otherwise all of its programmer's. */
  channels?: string[];
  audience: string[];
  /** Seconds since the epoch. */
  expiresAt: number;
  claims: JWTPayload;
}

/** A refusal, with the status and code of dcr's error table. */
export class GuardError extends Error {
  readonly action: string;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GuardError';
    this.action = ACTIONS[code] ?? 'none';
  }

  /** The enhanced-error body dcr's own endpoints answer with. */
  body(): Record<string, unknown> {
    return {
      status: this.status,
      code: this.code,
      message: this.message,
      action: this.action,
      trace: randomTrace(),
      helpUrl: `https://dcr.dev/docs/errors#${this.code}`,
    };
  }

  /** The token came with the DPoP scheme: the challenge is in that scheme (RFC 9449 7.1). */
  dpopScheme = false;

  /** `WWW-Authenticate` for this refusal, if any (RFC 6750 3, RFC 9449 7.1). */
  challenge(): string | undefined {
    if (this.code === 'invalid_dpop_proof') return 'DPoP realm="dcr", error="invalid_dpop_proof", algs="ES256 EdDSA"';
    const scheme = this.dpopScheme ? 'DPoP' : 'Bearer';
    const algs = this.dpopScheme ? ', algs="ES256 EdDSA"' : '';
    if (this.status === 401) return `${scheme} realm="dcr", error="invalid_token"${algs}`;
    if (this.code === 'insufficient_scope') return `${scheme} realm="dcr", error="insufficient_scope"${algs}`;
    return undefined;
  }
}

const badProof = (message: string) => new GuardError(401, 'invalid_dpop_proof', message);

/** `jti`s of proofs already used, until each could no longer be fresh; bounded. */
class SeenProofs {
  private readonly until = new Map<string, number>();
  constructor(private readonly capacity: number) {}

  /** Records `jti` until `expires` (seconds); false when it was seen and is still live. */
  firstUse(jti: string, expires: number, now: number): boolean {
    const seen = this.until.get(jti);
    if (seen !== undefined && seen >= now) return false;
    if (this.until.size >= this.capacity) {
      for (const [id, at] of this.until) if (at < now) this.until.delete(id);
      if (this.until.size >= this.capacity) {
        throw new GuardError(503, 'temporarily_unavailable', 'too many DPoP proofs to remember; retry shortly');
      }
    }
    this.until.set(jti, expires);
    return true;
  }
}

const ACTIONS: Record<string, string> = {
  invalid_access_token_client_application: 'application-registration',
  access_token_expired: 'application-registration',
  invalid_access_token_service_provider: 'application-registration',
  insufficient_scope: 'configuration',
  temporarily_unavailable: 'retry',
};

const invalid = (message: string) => new GuardError(401, 'invalid_access_token_client_application', message);

function randomTrace(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : String(Date.now());
}

interface FeedEntry {
  kind: string;
  id: string;
  revoked_at: number;
}

interface FeedPage {
  cursor: string;
  has_more: boolean;
  horizon: number;
  entries: FeedEntry[];
  channels: Record<string, string>;
  /** Programmer → its channel ids (servers before it send only `channels`). */
  programmer_channels?: Record<string, string[]>;
  programmer?: string | null;
}

/** Revoked ids by kind, with when; pruned at the feed's horizon; at most `capacity`. */
class RevocationSet {
  private readonly byKind = new Map<string, Map<string, number>>();
  private size = 0;
  /** Time of the newest revocation not kept (0: none). */
  private droppedUntil = 0;
  cursor = '0';
  /** `programmer\u0000channel` pairs: the channels a programmer-wide token covers. */
  channels = new Set<string>();
  programmer: string | null = null;
  lastSync = 0;

  constructor(private readonly capacity: number) {}

  apply(page: FeedPage, now: number): void {
    // What expired first: it makes room.
    for (const set of this.byKind.values()) {
      for (const [id, at] of set) {
        if (at < page.horizon) {
          set.delete(id);
          this.size -= 1;
        }
      }
    }
    if (this.droppedUntil < page.horizon) this.droppedUntil = 0;
    for (const entry of page.entries) {
      if (this.size >= this.capacity) {
        this.droppedUntil = Math.max(this.droppedUntil, entry.revoked_at);
        continue;
      }
      let set = this.byKind.get(entry.kind);
      if (!set) this.byKind.set(entry.kind, (set = new Map()));
      if (!set.has(entry.id)) this.size += 1;
      set.set(entry.id, entry.revoked_at);
    }
    const byProgrammer = page.programmer_channels;
    this.channels = new Set(
      byProgrammer && Object.keys(byProgrammer).length > 0
        ? Object.entries(byProgrammer).flatMap(([p, list]) => list.map((c) => `${p}\u0000${c}`))
        : Object.entries(page.channels ?? {}).map(([c, p]) => `${p}\u0000${c}`),
    );
    this.programmer = page.programmer ?? null;
    if (BigInt(page.cursor) > BigInt(this.cursor)) this.cursor = page.cursor;
    this.lastSync = now;
  }

  hasChannel(programmer: string, channel: string): boolean {
    return this.channels.has(`${programmer}\u0000${channel}`);
  }

  revokes(claims: JWTPayload): boolean {
    const has = (kind: string, id: unknown) => typeof id === 'string' && (this.byKind.get(kind)?.has(id) ?? false);
    return (
      (typeof claims.iat === 'number' && claims.iat <= this.droppedUntil) ||
      has('client', claims.client_id) ||
      has('statement', claims.sst) ||
      has('application', claims.software_id) ||
      has('token', claims.jti)
    );
  }
}

/** The only algorithms dcr signs with; each key's own `alg` pins it further. */
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

export class Guard {
  private readonly set: RevocationSet;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly baseUrl: string;
  private readonly issuer: string;
  private readonly fetchImpl: typeof fetch;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly proofs: SeenProofs;

  /** Use {@link createGuard}: it reads the feed before the guard is used. */
  constructor(private readonly options: GuardOptions) {
    if (!options.baseUrl || !options.apiKey) throw new TypeError('createGuard needs baseUrl and apiKey');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.issuer = options.issuer ?? this.baseUrl;
    this.fetchImpl = options.fetch ?? fetch;
    this.set = new RevocationSet(options.maxRevocations ?? 500_000);
    this.proofs = new SeenProofs(options.dpopReplayCapacity ?? 100_000);
    // Refetched on an unknown kid, at most every 5 s.
    this.jwks = createRemoteJWKSet(new URL(`${this.baseUrl}/.well-known/jwks.json`), {
      cooldownDuration: 5_000,
      cacheMaxAge: 10 * 60_000,
    });
  }

  /** Reads the revocation feed up to date (what the poller does). */
  async sync(): Promise<void> {
    for (;;) {
      const response = await this.fetchImpl(`${this.baseUrl}/o/revocations?since=${encodeURIComponent(this.set.cursor)}`, {
        headers: { Authorization: `Bearer ${this.options.apiKey}` },
      });
      if (!response.ok) throw new Error(`the revocation feed answered ${response.status}`);
      const page = (await response.json()) as FeedPage;
      if (!Array.isArray(page.entries) || typeof page.cursor !== 'string') {
        throw new Error('the revocation feed answer is malformed');
      }
      this.set.apply(page, Date.now());
      if (!page.has_more) return;
    }
  }

  /** Starts polling the feed every `pollIntervalMs`; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sync().catch(() => {
        // Failures show as staleness; requests fail closed once it exceeds the bound.
      });
    }, this.options.pollIntervalMs ?? 2_000);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Stops polling. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Milliseconds since the feed was last read. */
  feedLag(): number {
    return Date.now() - this.set.lastSync;
  }

  /**
   * Verifies an `Authorization` header value for a route needing `scope` and naming
   * `channel`; rejects with a {@link GuardError}. A DPoP-bound token needs `request`
   * (its method, URL and `DPoP` header).
   */
  async verify(
    authorization: string | undefined,
    required: { scope?: string; channel?: string } = {},
    request?: PresentedRequest,
  ): Promise<VerifiedClient> {
    const match = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '');
    if (!match) throw invalid('missing or malformed bearer token');
    const dpop = match[1].toLowerCase() === 'dpop';
    try {
      return await this.verifyToken(match[2], dpop, required, request);
    } catch (e) {
      if (e instanceof GuardError) e.dpopScheme = dpop;
      throw e;
    }
  }

  private async verifyToken(
    token: string,
    dpop: boolean,
    required: { scope?: string; channel?: string },
    request?: PresentedRequest,
  ): Promise<VerifiedClient> {
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, this.jwks, {
        issuer: this.issuer,
        audience: this.options.audience,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new GuardError(401, 'access_token_expired', 'the access token has expired');
      throw invalid(`the access token is not valid: ${(e as Error).message}`);
    }
    if (typeof claims.client_id !== 'string' || claims.client_id !== claims.sub || typeof claims.programmer !== 'string') {
      throw invalid('the access token is not a dcr access token');
    }
    const cnf = claims.cnf as { jkt?: unknown } | undefined;
    const jkt = typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
    if (jkt !== undefined && !dpop) throw badProof('the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof');
    if (jkt === undefined && dpop) throw badProof('the access token is not DPoP-bound: present it as a Bearer token');
    if (jkt !== undefined) await this.checkProof(token, jkt, request);
    // Fail closed: a stale feed may be hiding revocations.
    if (this.feedLag() > (this.options.maxStalenessMs ?? 15_000)) {
      throw new GuardError(503, 'temporarily_unavailable', 'the revocation feed is stale');
    }
    if (this.set.revokes(claims)) {
      throw invalid('the client, its software statement, its application or the token is revoked or deleted');
    }
    if (this.set.programmer !== null && claims.programmer !== this.set.programmer) {
      throw invalid('the access token belongs to another programmer');
    }
    if (this.options.programmer !== undefined && claims.programmer !== this.options.programmer) {
      throw invalid('the access token belongs to another programmer');
    }
    const channels = Array.isArray(claims.channels) ? (claims.channels as string[]) : undefined;
    if (required.channel !== undefined) {
      const covered = channels ? channels.includes(required.channel) : this.set.hasChannel(claims.programmer, required.channel);
      if (!covered) {
        throw new GuardError(401, 'invalid_access_token_service_provider', `the access token does not cover channel "${required.channel.slice(0, 64)}"`);
      }
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    if (required.scope !== undefined && !scopes.includes(required.scope)) {
      throw new GuardError(403, 'insufficient_scope', `the access token lacks scope "${required.scope.slice(0, 64)}"`);
    }
    const aud = claims.aud;
    return {
      clientId: claims.client_id,
      applicationId: String(claims.software_id ?? ''),
      programmer: claims.programmer,
      statementJti: String(claims.sst ?? ''),
      scopes,
      channels,
      audience: Array.isArray(aud) ? aud : aud ? [aud] : [],
      expiresAt: Number(claims.exp),
      claims,
    };
  }

  /** RFC 9449 7: a fresh proof of this request, by the token's key, used once. */
  private async checkProof(token: string, jkt: string, request?: PresentedRequest): Promise<void> {
    const proof = request?.dpop;
    if (!request || !proof || proof.length > 8192) throw badProof('the DPoP proof is missing');
    const maxAge = this.options.dpopMaxAgeSeconds ?? 60;
    const maxFuture = this.options.dpopMaxFutureSeconds ?? 5;
    let payload: JWTPayload;
    let header: { jwk?: Record<string, unknown> };
    try {
      ({ payload, protectedHeader: header } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256', 'EdDSA'],
        maxTokenAge: maxAge,
        clockTolerance: maxFuture,
        requiredClaims: ['jti', 'iat'],
      }));
    } catch (e) {
      throw badProof(`the DPoP proof is refused: ${(e as Error).message}`);
    }
    if (typeof payload.htm !== 'string' || payload.htm !== request.method.toUpperCase()) throw badProof('htm is not the request\'s method');
    if (typeof payload.htu !== 'string' || !sameUri(payload.htu, request.url)) throw badProof('htu is not the request\'s URI');
    const { createHash } = await import('node:crypto');
    const ath = createHash('sha256').update(token).digest('base64url');
    if (payload.ath !== ath) throw badProof('ath is not the hash of this access token');
    if (!header.jwk || (await calculateJwkThumbprint(header.jwk as never, 'sha256')) !== jkt) {
      throw badProof('the DPoP proof is not signed by the key the token is bound to');
    }
    const jti = payload.jti as string;
    if (jti.length > 256) throw badProof('jti is too long');
    const now = Math.floor(Date.now() / 1000);
    if (!this.proofs.firstUse(jti, (payload.iat as number) + maxAge + maxFuture, now)) {
      throw badProof('the DPoP proof was used already');
    }
  }

  /** The URL a DPoP proof names for `req`: `publicOrigin`, or the forwarded scheme and `Host`. */
  requestUrl(req: MiddlewareRequest): string {
    const path = req.originalUrl ?? req.url ?? '/';
    if (this.options.publicOrigin) return `${this.options.publicOrigin.replace(/\/+$/, '')}${path}`;
    const forwarded = req.headers?.['x-forwarded-proto'];
    const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded) ?? (req.socket?.encrypted ? 'https' : 'http');
    return `${proto}://${req.headers?.host ?? ''}${path}`;
  }

  /**
   * Express/Connect middleware: verifies the request's bearer token (scope, and the
   * channel named by the `channelParam` route parameter), sets `req.dcr` to the
   * {@link VerifiedClient}, or answers with dcr's error table.
   */
  middleware(required: { scope?: string; channelParam?: string } = {}) {
    return (req: MiddlewareRequest, res: MiddlewareResponse, next: (err?: unknown) => void): void => {
      const header = req.headers?.authorization;
      const channel = required.channelParam ? req.params?.[required.channelParam] : undefined;
      const proof = req.headers?.dpop;
      const presented: PresentedRequest = {
        method: req.method ?? 'GET',
        url: this.requestUrl(req),
        dpop: Array.isArray(proof) ? undefined : proof,
      };
      this.verify(Array.isArray(header) ? header[0] : header, { scope: required.scope, channel }, presented).then(
        (client) => {
          req.dcr = client;
          next();
        },
        (e: unknown) => {
          if (!(e instanceof GuardError)) return next(e);
          res.statusCode = e.status;
          res.setHeader('Content-Type', 'application/json');
          res.setHeader('Cache-Control', 'no-store');
          const challenge = e.challenge();
          if (challenge) res.setHeader('WWW-Authenticate', challenge);
          if (e.status === 503) res.setHeader('Retry-After', '2');
          res.end(JSON.stringify(e.body()));
        },
      );
    };
  }
}

/** What the middleware needs of a request (Express, Connect, plain `http`). */
export interface MiddlewareRequest {
  headers?: {
    authorization?: string | string[];
    dpop?: string | string[];
    host?: string;
    'x-forwarded-proto'?: string | string[];
  };
  method?: string;
  url?: string;
  /** Express's original URL (before a router stripped its mount path). */
  originalUrl?: string;
  socket?: { encrypted?: boolean };
  params?: Record<string, string>;
  dcr?: VerifiedClient;
}

/** RFC 9449 4.3: the same URI without query and fragment; a query in `htu` does not match. */
function sameUri(htu: string, requestUrl: string): boolean {
  try {
    const a = new URL(htu);
    const b = new URL(requestUrl);
    if (a.search || a.hash) return false;
    return a.protocol === b.protocol && a.host === b.host && a.pathname === b.pathname;
  } catch {
    return false;
  }
}

/** What the middleware needs of a response. */
export interface MiddlewareResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

/**
 * A guard that has read the whole revocation feed (and so knows the key's
 * programmer) and keeps it current until {@link Guard.close}.
 */
export async function createGuard(options: GuardOptions): Promise<Guard> {
  const guard = new Guard(options);
  await guard.sync();
  guard.start();
  return guard;
}
