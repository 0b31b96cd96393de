// The web app's timings in Chromium (Performance API), printed as JSON for bench/web.py.
// (p) a week calendar with 300 appointments, rendered and interactive: cold (fetching its
//     day sheets) and warm (from the query cache); (q) last keystroke to search results.
import { ADMIN, BASE, launch, open, RECEPTIONIST, signIn } from "../browser/harness.mjs";

const [monday, providerId, chairId] = process.argv.slice(2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const QUERIES = ["nunez", "garcia", "martin", "lopez", "sanchez", "perez", "gomez", "ruiz", "diaz", "moreno"];

function addDays(date, days) {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** From a click on "next week" to 300 appointments painted with the main thread free. */
async function weekRender(page) {
  return page.evaluate(async () => {
    const next = document.querySelector('.date-nav button:nth-of-type(3)');
    const t0 = performance.now();
    next.click();
    await new Promise((resolve) => {
      const check = () =>
        document.querySelectorAll(".appointment").length >= 300 ? resolve() : requestAnimationFrame(check);
      check();
    });
    // Painted, and an input would be handled now: a task after the next frame.
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    return performance.now() - t0;
  });
}

const browser = await launch();
const results = { calendar_cold_ms: [], calendar_warm_ms: [], search_ms: [] };
try {
  const page = await open(browser);
  await signIn(page, ADMIN);
  const before = addDays(monday, -7);
  const calendar = `${BASE}/calendar?view=week&by=provider&provider=${providerId}&chair=${chairId}&date=`;
  for (let round = 0; round < ROUNDS; round++) {
    await page.goto(calendar + before); // a fresh page: nothing cached
    await page.locator(".day-column").first().waitFor();
    await page.waitForLoadState("networkidle");
    results.calendar_cold_ms.push(await weekRender(page));
    await page.locator(".date-nav button").first().click(); // back a week: the busy one stays cached
    await page.waitForFunction(() => document.querySelectorAll(".appointment").length < 300);
    await page.waitForLoadState("networkidle");
    results.calendar_warm_ms.push(await weekRender(page));
  }

  const desk = await open(browser);
  await signIn(desk, RECEPTIONIST);
  const box = desk.getByRole("searchbox");
  for (let round = 0; round < ROUNDS * 2; round++) {
    await desk.goto(`${BASE}/patients`); // a fresh page each round: no answer comes from the cache
    await box.waitFor();
    for (const query of QUERIES) {
      await box.fill("");
      await desk.waitForTimeout(30);
      const shown = desk.evaluate(
        (q) =>
          new Promise((resolve) => {
            let last = 0;
            const input = document.getElementById("patient-search");
            input.addEventListener("input", () => (last = performance.now()));
            const results = document.getElementById("patient-results");
            const done = () => {
              if (results.dataset.shownQuery === q && last > 0) {
                observer.disconnect();
                requestAnimationFrame(() => resolve(performance.now() - last));
              }
            };
            const observer = new MutationObserver(done);
            observer.observe(results, { attributes: true, childList: true, subtree: true });
          }),
        query,
      );
      await box.pressSequentially(query, { delay: 40 });
      results.search_ms.push(await shown);
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results));
