// The browser tests' harness: Debian's Chromium through playwright-core, against the real
// platform that tests/e2e/test_web_app.py starts (`clinic up` with demo data) at SONRISA_URL.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

export const BASE = process.env.SONRISA_URL ?? "http://127.0.0.1:8000";
export const PASSWORD = process.env.SONRISA_DEMO_PASSWORD ?? "sonrisa-demo-dientes-sanos";
export const ARTIFACTS = path.resolve(process.env.SONRISA_ARTIFACTS ?? "test-results/browser");
export const RECEPTIONIST = "pablo.navarro@sonrisa.demo";
export const ADMIN = "admin@sonrisa.demo";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A fresh Chromium: playwright-core gives each launch its own temporary user-data dir. */
export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** A page at a desk screen's size; `options` may set timezoneId, locale, viewport. */
export async function open(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "es-ES", ...options });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  return page;
}

function slug(text) {
  return text.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase().slice(0, 80);
}

/** Runs a test body; when it fails, every open page is photographed into ARTIFACTS. */
export async function recorded(t, browser, body) {
  try {
    await body();
  } catch (error) {
    mkdirSync(ARTIFACTS, { recursive: true });
    let n = 0;
    for (const context of browser.contexts()) {
      for (const page of context.pages()) {
        const file = path.join(ARTIFACTS, `${slug(t.name)}-${++n}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
        console.error(`screenshot of the failure: ${file}`);
      }
    }
    throw error;
  }
}

export async function signIn(page, email, password = PASSWORD) {
  await page.goto(`${BASE}/`);
  await page.locator("input[type=email]").fill(email);
  await page.locator("input[type=password]").fill(password);
  await page.locator("form button[type=submit]").click();
  await page.locator("header.top-bar").waitFor();
}

/** The API, as a script would use it (refresh token in the body). */
export async function apiSession(email, password = PASSWORD) {
  const answer = await fetch(`${BASE}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!answer.ok) throw new Error(`sign-in of ${email} failed: ${answer.status} ${await answer.text()}`);
  const { access_token: token } = await answer.json();
  return async (method, route, body, headers = {}) => {
    const response = await fetch(`${BASE}${route}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  };
}

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core on the page as it is now; returns the serious and critical violations. */
export async function seriousViolations(page) {
  await page.addScriptTag({ content: AXE });
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  return found.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** A day on the clinic's calendar (Europe/Madrid), `days` after today. */
export function clinicDay(days = 0) {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Madrid" }).format(new Date());
  const [y, m, d] = today.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Books through the API; a patient registered a moment ago may not be known to the
 * appointment book yet (its own read model), so "unknown patient" is asked again. */
export async function bookThroughApi(api, booking) {
  for (let attempt = 0; ; attempt++) {
    const booked = await api("POST", "/api/appointments", booking);
    const unknown = booked.status === 422 && String(booked.body?.type).endsWith("/unknown-patient");
    if (!unknown || attempt >= 40) return booked;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A patient of the test's own, registered through the API. */
export async function registerPatient(api, given, family) {
  const written = await api("POST", "/api/patients", {
    given_name: given,
    family_name: family,
    birth_date: "1980-05-17",
    sex: "female",
    phone: "+34 600 111 222",
  });
  if (written.status !== 201) throw new Error(`registering ${given} failed: ${JSON.stringify(written.body)}`);
  return written.body.id;
}
