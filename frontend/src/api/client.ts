/** The typed API client, generated from the API's OpenAPI (`make client`), with sign-in. */
import createClient from "openapi-fetch";
import { authorisedFetch } from "../auth/session";
import { readYourWrites } from "./consistency";
import { Problem, type ProblemBody } from "./problems";
import type { paths } from "./schema";

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "" : window.location.origin,
  fetch: (request) => authorisedFetch(request),
});
api.use(readYourWrites);

export const BREAK_GLASS_HEADER = "X-Break-Glass-Reason";

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer, or the problem thrown. */
export async function ok<T>(pending: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await pending;
  } catch (error) {
    if (error instanceof Problem) throw error;
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new Problem(0, {});
  }
  if (answer.error !== undefined || !answer.response.ok) {
    throw new Problem(answer.response.status, (answer.error ?? {}) as ProblemBody);
  }
  return answer.data as T;
}

/** The version an ETag header names ("3" → 3). */
export function etagVersion(response: Response): number | null {
  const match = /(\d+)/.exec(response.headers.get("ETag") ?? "");
  return match ? Number(match[1]) : null;
}
