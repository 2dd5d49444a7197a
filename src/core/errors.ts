// The one error registry: every error a user can see has a stable code, an exit code for the CLI
// and an HTTP status for the API. Messages say where (file:line, config path, flag) and what was
// expected, so the user knows what to change. See docs/reference/errors.md (kept in step by a test).

export interface ErrorSpec {
  readonly exitCode: 1 | 2 | 3;
  readonly httpStatus: number;
  readonly summary: string;
}

export const ERROR_CODES = {
  SHADOWSCALE_E_USAGE: { exitCode: 2, httpStatus: 400, summary: 'A command-line flag or argument is missing or invalid.' },
  SHADOWSCALE_E_CONFIG_READ: { exitCode: 2, httpStatus: 400, summary: 'The configuration file cannot be read or is not valid YAML.' },
  SHADOWSCALE_E_CONFIG_WRITE: { exitCode: 2, httpStatus: 400, summary: 'The configuration file named to write to (`tune --write`) cannot be written, nor a file beside it; it is unchanged.' },
  SHADOWSCALE_E_CONFIG_INVALID: { exitCode: 2, httpStatus: 400, summary: 'The configuration does not match the schema (the message names the path).' },
  SHADOWSCALE_E_TRACE_READ: { exitCode: 2, httpStatus: 400, summary: 'A trace file cannot be opened or read.' },
  SHADOWSCALE_E_TRACE_FORMAT: { exitCode: 2, httpStatus: 400, summary: 'A trace file is malformed (the message names file:line and the field).' },
  SHADOWSCALE_E_API_INPUT: { exitCode: 2, httpStatus: 400, summary: 'An API request body is invalid (the message names the field and what was expected).' },
  SHADOWSCALE_E_API_QUERY: { exitCode: 2, httpStatus: 400, summary: 'An API path or query parameter is invalid (the message names the parameter and what was expected).' },
  SHADOWSCALE_E_API_UNAUTHORIZED: { exitCode: 2, httpStatus: 401, summary: 'The API needs a bearer token (Authorization: Bearer TOKEN) and none, or an unknown one, was given.' },
  SHADOWSCALE_E_API_FORBIDDEN: { exitCode: 2, httpStatus: 403, summary: "The API token's role (read) does not allow this request; changes need an admin token." },
  SHADOWSCALE_E_API_BODY_TOO_LARGE: { exitCode: 2, httpStatus: 413, summary: 'The API request body is larger than api.maxBodyBytes.' },
  SHADOWSCALE_E_API_MEDIA_TYPE: { exitCode: 2, httpStatus: 415, summary: 'The API request body is not JSON (Content-Type: application/json).' },
  SHADOWSCALE_E_API_UNREACHABLE: { exitCode: 1, httpStatus: 502, summary: 'The CLI could not reach the API of a running `shadowscale run` (the message names the address tried).' },
  SHADOWSCALE_E_NOT_FOUND: { exitCode: 2, httpStatus: 404, summary: 'No such API resource (route, pool or member).' },
  SHADOWSCALE_E_METHOD_NOT_ALLOWED: { exitCode: 2, httpStatus: 405, summary: 'The API path exists but not with this method (the Allow header lists those it takes).' },
  SHADOWSCALE_E_CONFLICT: { exitCode: 2, httpStatus: 409, summary: 'The API request conflicts with what exists or runs (a live member with the same URL, a rollout under way, a loop that is not acting); the message says what to do instead.' },
  SHADOWSCALE_E_MODEL_FAILED: { exitCode: 1, httpStatus: 500, summary: 'A forecasting model could not fit this series (the message says why); another model may.' },
  SHADOWSCALE_E_SLO_INFEASIBLE: { exitCode: 2, httpStatus: 422, summary: 'No arrival rate meets the SLO on this instance type (service time alone exceeds it).' },
  SHADOWSCALE_E_STORE_CORRUPT: { exitCode: 2, httpStatus: 500, summary: 'The metrics store is not a readable shadowscale database, or is damaged (checked at open; found later, the loop stops acting and `run` exits); the message names the file: move it aside to start afresh.' },
  SHADOWSCALE_E_STORE_FAILED: { exitCode: 1, httpStatus: 500, summary: 'The metrics store failed while running (disk full, store.maxSizeBytes reached, or an I/O error): the loop stopped acting and `run` exited; instances keep running for the next run to adopt.' },
  SHADOWSCALE_E_STORE_LOCKED: { exitCode: 2, httpStatus: 409, summary: 'The metrics store is in use by another shadowscale process (the message names its pid) or locked by another program.' },
  SHADOWSCALE_E_ROLLOUT_NOT_COMPLETED: { exitCode: 3, httpStatus: 409, summary: '`shadowscale rollout` followed a rollout to its end and it did not complete: stopped in the shadow or rolled back during the shift (the message and --json say why); live runs the version before it.' },
  SHADOWSCALE_E_DOCTOR_PROBLEMS: { exitCode: 3, httpStatus: 409, summary: '`shadowscale doctor` ran its checks and found problems (a missing or damaged store, orphans, a demo\'s leftovers): they are listed on stdout, each with what to do; it changed nothing.' },
  SHADOWSCALE_E_TUNE_TARGET_MISSED: { exitCode: 3, httpStatus: 422, summary: '`shadowscale tune --write` found no setting that meets the SLO attainment target on this demand: it printed every run and the frontier (`meetsTarget` false) and left the configuration file as it was.' },
  SHADOWSCALE_E_INTERNAL: { exitCode: 1, httpStatus: 500, summary: 'An internal failure; please report it with the command that caused it.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ShadowscaleError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: 1 | 2 | 3;
  readonly httpStatus: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShadowscaleError';
    this.code = code;
    this.exitCode = ERROR_CODES[code].exitCode;
    this.httpStatus = ERROR_CODES[code].httpStatus;
  }
}

export function isShadowscaleError(err: unknown): err is ShadowscaleError {
  return err instanceof ShadowscaleError;
}

/** Render a value for an error message the way a user typed it: strings quoted, others as JSON. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'an object';
}
