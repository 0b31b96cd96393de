// axe-core on every screen at a desk's 1280×800: no serious or critical issues; and every
// screen fits a tablet.
// (axe is injected, so these pages bypass the CSP that the API sends with the app.)
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ADMIN, apiSession, BASE, clinicDay, launch, open, recorded, RECEPTIONIST, seriousViolations, signIn } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function audit(page, screen, found, axe) {
  await page.waitForLoadState("networkidle");
  await page.locator(".state.loading").first().waitFor({ state: "detached", timeout: 10_000 }).catch(() => undefined);
  if (axe) for (const violation of await seriousViolations(page)) found.push({ screen, ...violation });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) found.push({ screen, id: "horizontal-overflow", impact: "serious", help: `${overflow}px too wide` });
}

/** Every screen at this size: axe-core where `axe`, and nothing wider than the screen. */
async function everyScreen(viewport, t, axe) {
  const found = [];
  const check = (page, screen) => audit(page, screen, found, axe);
  await recorded(t, browser, async () => {
    const page = await open(browser, { viewport, hasTouch: viewport.width < 1280, bypassCSP: true });
    await page.goto(`${BASE}/`);
    await page.locator("input[type=email]").waitFor();
    await check(page, "sign-in");
    await signIn(page, ADMIN);
    const api = await apiSession(ADMIN);
    const nunez = (await api("GET", "/api/patients?q=nunez")).body.items[0].patient_id;
    const screens = [
      `/calendar?view=week&date=${clinicDay(3)}`,
      `/calendar?view=day&date=${clinicDay(1)}`,
      `/day-sheet?date=${clinicDay(3)}`,
      "/waitlist",
      "/patients",
      "/patients/new",
      `/patients/${nunez}`,
      "/account",
      "/admin/staff",
      "/admin/clinic",
      "/admin/providers",
      "/admin/security",
      "/no-such-screen",
    ];
    for (const screen of screens) {
      await page.goto(`${BASE}${screen}`);
      await check(page, screen);
    }
    await page.goto(`${BASE}/patients`);
    await page.getByRole("searchbox").fill("garcia");
    await check(page, "patients: search results");
    await page.goto(`${BASE}/calendar?view=day&date=${clinicDay(1)}`);
    await page.locator(".free-slot").first().click();
    await page.getByRole("dialog").waitFor();
    await check(page, "calendar: booking dialog");
    await page.keyboard.press("Escape");
    await page.goto(`${BASE}/calendar?view=week&date=${clinicDay(7)}`);
    await page.locator(".appointment").first().click();
    await page.getByRole("dialog").waitFor();
    await check(page, "calendar: appointment dialog");
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: /^(Edit|Editar)$/ }).count();
    await page.goto(`${BASE}/patients/${nunez}`);
    await page.getByRole("button", { name: "Editar" }).click();
    await check(page, "patient record: editing");

    const desk = await open(browser, { viewport, hasTouch: viewport.width < 1280, bypassCSP: true });
    await signIn(desk, RECEPTIONIST);
    await desk.goto(`${BASE}/patients/${nunez}`);
    await check(desk, "patient record as the front desk (emergency access)");
    await desk.goto(`${BASE}/admin/staff`);
    await check(desk, "not allowed");
  });
  return found;
}

test("no serious or critical axe-core violations on any screen at 1280×800", { timeout: 240_000 }, async (t) => {
  const found = await everyScreen({ width: 1280, height: 800 }, t, true);
  assert.deepEqual(found, []);
});

test("every screen fits a tablet's width, with touch", { timeout: 240_000 }, async (t) => {
  const found = await everyScreen({ width: 768, height: 1024 }, t, false);
  assert.deepEqual(found, []);
});
