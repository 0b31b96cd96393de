// Role-aware screens: an inventory user sees nothing of patients, even by typing the address.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ADMIN, apiSession, BASE, launch, open, PASSWORD, recorded, signIn } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("an inventory user sees no patient screens, and a direct URL to one shows 'not allowed'", { timeout: 90_000 }, async (t) => {
  await recorded(t, browser, async () => {
    const admin = await apiSession(ADMIN);
    const created = await admin("POST", "/api/auth/register", {
      name: "Almudena Almacén Ruiz",
      email: "almacen@sonrisa.demo",
      roles: ["inventory"],
      password: PASSWORD,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const nunez = (await admin("GET", "/api/patients?q=nunez")).body.items[0].patient_id;

    const page = await open(browser);
    await signIn(page, "almacen@sonrisa.demo");
    const nav = page.getByRole("navigation");
    await nav.getByRole("link", { name: "Mi cuenta" }).waitFor();
    for (const hidden of ["Pacientes", "Agenda", "Hoja del día", "Lista de espera", "Personal"]) {
      assert.equal(await nav.getByRole("link", { name: hidden }).count(), 0, `${hidden} is hidden`);
    }
    for (const address of [`/patients/${nunez}`, "/patients", "/calendar"]) {
      await page.goto(`${BASE}${address}`);
      await page.getByRole("heading", { name: "No permitido" }).waitFor();
      assert.doesNotMatch(await page.locator("main").innerText(), /Núñez/);
    }
  });
});
