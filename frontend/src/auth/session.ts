/**
 * The signed-in session: the access token lives only in this module's memory; the refresh
 * token is an httpOnly cookie the script never sees (ADR 10). Renewal is silent, single-flight
 * within the tab and serialised across tabs, since reusing a refresh token ends the session.
 */
import { Problem, type ProblemBody } from "../api/problems";

const RENEW_BEFORE_MS = 60_000;
let accessToken: string | null = null;
let expiresAt = 0;
let renewing: Promise<boolean> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<(signedIn: boolean) => void>();

interface TokensOut {
  access_token: string;
  expires_in: number;
  second_factor_required?: boolean;
}

export function onSessionChange(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function announce(signedIn: boolean): void {
  for (const listener of listeners) listener(signedIn);
}

function keep(tokens: TokensOut): void {
  accessToken = tokens.access_token;
  expiresAt = Date.now() + tokens.expires_in * 1000;
  clearTimeout(timer);
  timer = setTimeout(() => void renew(), Math.max(5_000, tokens.expires_in * 1000 - RENEW_BEFORE_MS));
}

function forget(): void {
  const was = accessToken !== null;
  accessToken = null;
  expiresAt = 0;
  clearTimeout(timer);
  if (was) announce(false);
}

export function hasAccessToken(): boolean {
  return accessToken !== null;
}

async function problemOf(response: Response): Promise<Problem> {
  let body: ProblemBody = {};
  try {
    body = (await response.json()) as ProblemBody;
  } catch {
    body = {};
  }
  return new Problem(response.status, body);
}

async function post(path: string, body: unknown): Promise<Response> {
  try {
    return await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
  } catch {
    throw new Problem(0, {});
  }
}

/** Signs in; the code is sent when given (a missing code fails as a wrong one would). */
export async function signIn(email: string, password: string, code?: string): Promise<void> {
  const response = await post("/api/auth/login", {
    email,
    password,
    refresh_in: "cookie",
    ...(code ? { totp_code: code } : {}),
  });
  if (!response.ok) throw await problemOf(response);
  keep((await response.json()) as TokensOut);
  announce(true);
}

async function renewOnce(): Promise<boolean> {
  const response = await post("/api/auth/refresh", {}).catch(() => null);
  if (response?.ok) {
    keep((await response.json()) as TokensOut);
    return true;
  }
  if (response && response.status === 401) forget();
  return false;
}

/** A new access token from the refresh cookie; false when the session is over. */
export function renew(): Promise<boolean> {
  if (!renewing) {
    const run = (): Promise<boolean> => renewOnce();
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    renewing = (locks ? locks.request("sonrisa-renew-session", run) : run()).finally(() => {
      renewing = null;
    });
  }
  return renewing;
}

/** On start: a session kept in the cookie survives a reload without storing anything. */
export async function resume(): Promise<boolean> {
  const ok = await renew();
  if (ok) announce(true);
  return ok;
}

export async function signOut(): Promise<void> {
  if (accessToken) {
    await fetch("/api/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${accessToken}` },
      credentials: "same-origin",
    }).catch(() => undefined);
  }
  forget();
}

const OPEN_ROUTES = ["/api/auth/login", "/api/auth/refresh"];

/** fetch for the API client: adds the bearer token, renews it once on a 401 and retries. */
export async function authorisedFetch(request: Request): Promise<Response> {
  if (OPEN_ROUTES.some((path) => new URL(request.url).pathname === path)) return fetch(request);
  if (accessToken && Date.now() > expiresAt - 5_000) await renew();
  const retry = request.clone();
  if (accessToken) request.headers.set("Authorization", `Bearer ${accessToken}`);
  const response = await fetch(request);
  if (response.status !== 401 || !accessToken) return response;
  if (!(await renew())) return response;
  retry.headers.set("Authorization", `Bearer ${accessToken}`);
  return fetch(retry);
}
