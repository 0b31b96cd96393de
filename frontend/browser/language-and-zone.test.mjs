// Spanish by default, English one click away; times in the clinic's zone whatever the browser's.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { apiSession, BASE, bookThroughApi, clinicDay, launch, open, recorded, RECEPTIONIST, registerPatient, signIn } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The next last Sunday of March or October, when Madrid's clocks change. */
function nextClockChange() {
  const today = clinicDay(0);
  for (let year = Number(today.slice(0, 4)); ; year++) {
    for (const month of [3, 10]) {
      const last = new Date(Date.UTC(year, month, 0));
      last.setUTCDate(last.getUTCDate() - last.getUTCDay());
      const sunday = last.toISOString().slice(0, 10);
      if (sunday > clinicDay(1)) return { sunday, month };
    }
  }
}

function dayBefore(date) {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

test("the app switches between Spanish and English", { timeout: 60_000 }, async (t) => {
  await recorded(t, browser, async () => {
    const page = await open(browser);
    await signIn(page, RECEPTIONIST);
    const nav = page.getByRole("navigation");
    await nav.getByRole("link", { name: "Pacientes" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "es");
    await page.getByRole("button", { name: "English" }).click();
    await nav.getByRole("link", { name: "Patients" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    await page.getByRole("link", { name: "Patients" }).click();
    await page.getByRole("heading", { name: "Patients" }).waitFor();
    await page.getByRole("button", { name: "Español" }).click();
    await page.getByRole("heading", { name: "Pacientes" }).waitFor();
  });
});

test("the calendar's times follow the clinic's zone across a change of clocks, in a browser in New York", { timeout: 90_000 }, async (t) => {
  await recorded(t, browser, async () => {
    const { sunday, month } = nextClockChange();
    const saturday = dayBefore(sunday);
    // Madrid's offset the day before and the day of the change (the change is at 02:00/03:00).
    const [before, after] = month === 3 ? ["+01:00", "+02:00"] : ["+02:00", "+01:00"];
    const api = await apiSession(RECEPTIONIST);
    const patientId = await registerPatient(api, "Horacio", "Cambio de Hora");
    const providers = (await api("GET", "/api/providers")).body.items;
    const morales = providers.find((p) => p.name === "Dr. Javier Morales").provider_id;
    const chair = (await api("GET", "/api/operatories")).body.items[1].operatory_id;
    for (const start of [`${saturday}T10:00:00${before}`, `${sunday}T10:00:00${after}`]) {
      const booked = await bookThroughApi(api, {
        patient_id: patientId,
        provider_id: morales,
        operatory_id: chair,
        start,
        appointment_type: "check-up",
      });
      assert.equal(booked.status, 201, JSON.stringify(booked.body));
    }

    const page = await open(browser, { timezoneId: "America/New_York", locale: "en-US" });
    await signIn(page, RECEPTIONIST);
    assert.equal(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), "America/New_York");
    await page.goto(`${BASE}/calendar?view=week&by=provider&provider=${morales}&chair=${chair}&date=${sunday}`);
    const times = [];
    for (const day of [saturday, sunday]) {
      const block = page.locator(`.day-column[data-day="${day}"] .appointment`, { hasText: "Cambio de Hora" });
      await block.waitFor();
      assert.match(await block.innerText(), /^10:00–10:30/, `${day} shows 10:00 in Madrid`);
      times.push((await block.boundingBox()).y);
    }
    assert.equal(times[0], times[1], "both sit at 10:00 on the grid");
    await page.getByRole("button", { name: "English" }).click();
    await page.locator(`.day-head[data-day="${sunday}"]`, { hasText: "Sun" }).waitFor();
    const block = page.locator(`.day-column[data-day="${sunday}"] .appointment`, { hasText: "Cambio de Hora" });
    assert.match(await block.innerText(), /^10:00–10:30/);
  });
});
