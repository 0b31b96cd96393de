// The front desk's day: find a patient without typing accents, see her alert, book, move.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { apiSession, clinicDay, launch, open, recorded, RECEPTIONIST, signIn } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("a receptionist finds Núñez by typing nunez, sees her alert, books a free slot tomorrow and drags it to another time", { timeout: 180_000 }, async (t) => {
  await recorded(t, browser, async () => {
    const page = await open(browser);
    await signIn(page, RECEPTIONIST);
    await page.getByRole("link", { name: "Pacientes" }).click();
    await page.getByLabel("Buscar").fill("nunez");
    await page.getByRole("link", { name: "Rocío Núñez Carrasco" }).click();
    await page.getByRole("heading", { name: "Rocío Núñez Carrasco" }).waitFor();
    const patientId = page.url().split("/patients/")[1];
    const alerts = page.getByRole("region", { name: "Alertas médicas" });
    await alerts.waitFor();
    assert.match(await alerts.innerText(), /Anticoagulado/);

    await page.getByRole("link", { name: "Dar cita" }).click();
    await page.getByText("Dando cita a:").waitFor();
    await page.locator('select[name="provider"]').selectOption({ label: "Dr. Javier Morales" });
    await page.locator('select[name="chair"]').selectOption({ label: "Gabinete 2" });
    await page.getByRole("button", { name: "Día", exact: true }).click();
    await page.locator('input[name="date"]').fill(clinicDay(1));
    const firstSlot = page.locator(`.day-column[data-day="${clinicDay(1)}"] .free-slot`).first();
    await firstSlot.waitFor();
    const booked = await firstSlot.getAttribute("data-start");
    await firstSlot.click();
    const dialog = page.getByRole("dialog", { name: "Dar cita" });
    assert.match(await dialog.innerText(), /Rocío Núñez Carrasco[\s\S]*Anticoagulado/);
    await dialog.getByRole("button", { name: "Dar cita" }).click();
    await page.getByText("Cita dada.").waitFor();

    const appointment = page.locator(".appointment", { hasText: "Núñez" });
    await appointment.waitFor();
    assert.match(await appointment.innerText(), /Anticoagulado/, "the alert shows on the calendar too");
    const appointmentId = await appointment.getAttribute("data-appointment-id");
    // Another free slot, near enough to drag to within the visible grid: the nearest one
    // at least 45 minutes away (so the appointment really moves).
    const bookedAt = new Date(booked).getTime();
    const slots = [];
    for (const slot of await page.locator(".free-slot").all()) {
      const start = await slot.getAttribute("data-start");
      const distance = Math.abs(new Date(start).getTime() - bookedAt);
      if (distance >= 45 * 60_000) slots.push({ slot, start, distance });
    }
    slots.sort((a, b) => a.distance - b.distance);
    const goal = slots[0];
    assert.ok(goal, "tomorrow has another free slot to move the appointment to");
    await goal.slot.scrollIntoViewIfNeeded();
    await appointment.scrollIntoViewIfNeeded();
    const from = await appointment.boundingBox();
    const to = await goal.slot.boundingBox();
    await page.mouse.move(from.x + from.width / 2, from.y + 4);
    await page.mouse.down();
    await page.mouse.move(from.x + from.width / 2, to.y + 4, { steps: 15 });
    await page.mouse.up();
    await page.getByText("Cita cambiada de hora.").waitFor();

    const api = await apiSession(RECEPTIONIST);
    const stored = await api("GET", `/api/appointments/${appointmentId}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.patient_id, patientId);
    assert.equal(new Date(stored.body.start).getTime(), new Date(goal.start).getTime(), "the API shows the new time");
  });
});

test("a stale move says so plainly and reloads the calendar", { timeout: 120_000 }, async (t) => {
  await recorded(t, browser, async () => {
    const page = await open(browser);
    await signIn(page, RECEPTIONIST);
    await page.goto(`${page.url().split("/calendar")[0]}/calendar?view=day&date=${clinicDay(1)}`);
    await page.locator('select[name="provider"]').selectOption({ label: "Dr. Javier Morales" });
    const appointment = page.locator(".appointment", { hasText: "Núñez" });
    await appointment.waitFor();
    const appointmentId = await appointment.getAttribute("data-appointment-id");
    const api = await apiSession(RECEPTIONIST);
    assert.equal((await api("POST", `/api/appointments/${appointmentId}/confirm`)).status, 200);

    await appointment.focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.getByText("No se pudo hacer el cambio").waitFor();
    await page.locator(".appointment.status-confirmed", { hasText: "Núñez" }).waitFor();
  });
});
