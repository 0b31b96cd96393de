/**
 * Read your writes: after a write, the next reads of the same read models send the write's
 * consistency token, so the API answers only once its projection has caught up (in memory only).
 */
import type { Middleware } from "openapi-fetch";

const TOKEN = "Sonrisa-Consistency-Token";
const WAIT_FOR = "Sonrisa-Consistent-With";

/** Which read models a path reads or writes; a token is only sent to reads of its own kind. */
function readModelOf(path: string): string | null {
  if (path.startsWith("/api/patients")) return "patients";
  if (/^\/api\/(appointments|day-sheet|availability|waitlist)/.test(path)) return "book";
  if (path.startsWith("/api/providers")) return "providers";
  if (/^\/api\/(clinic|closures|operatories|appointment-types)/.test(path)) return "setup";
  if (/^\/api\/(staff|auth\/register)/.test(path)) return "staff";
  return null;
}

const latest = new Map<string, string>();

export function forgetWrites(): void {
  latest.clear();
}

export const readYourWrites: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET") return request;
    const model = readModelOf(new URL(request.url).pathname);
    const token = model ? latest.get(model) : undefined;
    if (token) request.headers.set(WAIT_FOR, token);
    return request;
  },
  onResponse({ request, response }) {
    const token = response.headers.get(TOKEN);
    const model = readModelOf(new URL(request.url).pathname);
    if (token && model && request.method !== "GET") latest.set(model, token);
    return response;
  },
};
