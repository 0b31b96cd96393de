/** problem+json (RFC 9457) errors from the API, and their human message in the user's language. */
import type { TFunction } from "i18next";

export interface FieldError {
  location: string[];
  message: string;
  code: string;
}

export interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: FieldError[];
  field?: string | null;
  current_version?: number;
}

export class Problem extends Error {
  readonly status: number;
  readonly kind: string;
  readonly body: ProblemBody;

  constructor(status: number, body: ProblemBody) {
    super(body.detail ?? body.title ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.kind = (body.type ?? "").split("/").pop() || (status === 0 ? "network" : "http-error");
  }

  /** Someone else changed what we are writing (412 stale ETag, 409 lost race or slot taken). */
  get isConflict(): boolean {
    return this.status === 412 || this.status === 409;
  }
}

export function isProblem(error: unknown): error is Problem {
  return error instanceof Problem;
}

/** The problem as a message in the user's language; the server's detail is kept for support. */
export function describe(t: TFunction, error: unknown): string {
  if (!isProblem(error)) return t("problem.network");
  const known = `problem.${error.kind}`;
  const message = t(known, { defaultValue: "" });
  if (message) return message;
  if (error.status >= 500) return t("problem.internal-error");
  return t("problem.http-error", { status: error.status });
}

/** Field-level messages: `errors[].location` (pydantic) or `field` (the clinic's rules). */
export function fieldErrors(t: TFunction, error: unknown): Record<string, string> {
  if (!isProblem(error)) return {};
  const found: Record<string, string> = {};
  for (const item of error.body.errors ?? []) {
    const path = item.location.filter((p) => p !== "body" && p !== "query");
    const name = path.join(".");
    if (name && !(name in found)) {
      found[name] = t(`field.${item.code}`, { defaultValue: t("field.invalid") });
    }
  }
  if (error.body.field) {
    found[error.body.field] = t(`rule.${error.body.field}`, { defaultValue: t("field.invalid") });
  }
  return found;
}
