/** Rendering a screen for a component test: a role's profile, a router, a fresh query cache. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter } from "react-router";
import { ProfileProvider, type Profile } from "../auth/profile";
import i18n from "../i18n";

const MAY: Record<string, string[]> = {
  receptionist: ["profile", "patients:read", "patients:write", "schedule:read", "appointments:read", "appointments:write"],
  inventory: ["profile"],
  admin: [
    "profile",
    "patients:read",
    "patients:write",
    "staff:manage",
    "schedule:read",
    "schedule:manage",
    "appointments:read",
    "appointments:write",
    "appointments:override",
  ],
};

export function profileOf(role: keyof typeof MAY): Profile {
  return {
    staff_id: "00000000-0000-0000-0000-000000000001",
    name: "Pablo Navarro Gil",
    roles: [role],
    second_factor_required: false,
    may: MAY[role] ?? [],
    break_glass: role === "receptionist" ? ["clinical:read"] : [],
  };
}

export function renderAs(role: keyof typeof MAY, ui: ReactElement, path = "/") {
  void i18n.changeLanguage("es");
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <ProfileProvider profile={profileOf(role)}>{ui}</ProfileProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

/** A fetch that answers each request with the first matching route's JSON. */
export function fakeApi(routes: [RegExp, (request: Request) => Response | Promise<Response>][]) {
  const calls: Request[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"), init);
    calls.push(request.clone());
    for (const [pattern, answer] of routes) {
      if (pattern.test(`${request.method} ${new URL(request.url).pathname}`)) return answer(request);
    }
    return json(404, { type: "https://sonrisa.dev/problems/not-found", title: "Not found" });
  });
  vi.stubGlobal("fetch", fetch);
  return calls;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type, ...headers } });
}
