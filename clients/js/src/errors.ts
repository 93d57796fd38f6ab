/**
 * Every failure of the SDK is a {@link DcrError} with a `code`: the server's error
 * code when the server refused (`invalid_client`, `unapproved_software_statement`,
 * `too_many_requests`, ...), or one of the local codes below.
 */
export type LocalErrorCode =
  /** The server could not be reached (DNS, connection, TLS, timeout). */
  | 'network_error'
  /** The server answered something this SDK cannot use (non-JSON, missing fields, an absurd `expires_in`). */
  | 'malformed_response'
  /** The credential store returned something that is not credentials. Not replaced: replacing means a new client and the user signing in again. */
  | 'corrupt_store'
  /** The stored credentials belong to another server or application. */
  | 'store_mismatch'
  /** Still throttled (429) after the bounded number of attempts. */
  | 'throttled'
  /** WebCrypto is missing, and the install would need a key (`binding` other than `never`). */
  | 'no_crypto';

export class DcrError extends Error {
  /** The server's error code (`invalid_client`, ...) or a {@link LocalErrorCode}. */
  readonly code: string;
  /** The HTTP status when the server answered. */
  readonly status?: number;
  /** Seconds the server asked to wait (429, 503). */
  readonly retryAfter?: number;

  constructor(code: string, message: string, options: { status?: number; retryAfter?: number; cause?: unknown } = {}) {
    super(message);
    this.name = 'DcrError';
    this.code = code;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
    if (options.cause !== undefined) {
      (this as { cause?: unknown }).cause = options.cause;
    }
  }
}
