// Two desks edit one patient: the second save meets the first, is told so, and loses nothing.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { apiSession, BASE, launch, open, recorded, RECEPTIONIST, registerPatient, signIn } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function editing(patientId) {
  const page = await open(browser);
  await signIn(page, RECEPTIONIST);
  await page.goto(`${BASE}/patients/${patientId}`);
  await page.getByRole("button", { name: "Editar" }).click();
  return page;
}

test("two browsers edit the same patient: the second save gets the conflict message and nothing is lost", { timeout: 120_000 }, async (t) => {
  await recorded(t, browser, async () => {
    const api = await apiSession(RECEPTIONIST);
    const patientId = await registerPatient(api, "Inés", "Conflicto Doble");
    const first = await editing(patientId);
    const second = await editing(patientId);

    await first.getByRole("textbox", { name: "Teléfono" }).fill("+34 611 222 333");
    await first.getByRole("button", { name: "Guardar" }).click();
    await first.getByRole("button", { name: "Editar" }).waitFor();

    await second.getByRole("textbox", { name: "Correo electrónico" }).fill("ines.conflicto@example.com");
    await second.getByRole("button", { name: "Guardar" }).click();
    const conflict = second.getByRole("alert").filter({ hasText: "Otra persona ha cambiado esta ficha." });
    await conflict.waitFor();
    assert.match(await conflict.innerText(), /\+34611222333/, "the new version is shown");
    assert.equal(await second.getByRole("textbox", { name: "Correo electrónico" }).inputValue(), "ines.conflicto@example.com");
    assert.equal(await second.getByRole("textbox", { name: "Teléfono" }).inputValue(), "+34611222333");
    await second.getByRole("button", { name: "Guardar" }).click();
    await second.getByRole("button", { name: "Editar" }).waitFor();

    const chart = await api("GET", `/api/patients/${patientId}`);
    assert.equal(chart.body.contact.phone, "+34611222333");
    assert.equal(chart.body.contact.email, "ines.conflicto@example.com");
  });
});

test("registration shows the API's checks as field messages, in the user's language", { timeout: 60_000 }, async (t) => {
  await recorded(t, browser, async () => {
    const page = await open(browser);
    await signIn(page, RECEPTIONIST);
    await page.goto(`${BASE}/patients/new`);
    await page.getByLabel("Nombre", { exact: true }).fill("Tomás");
    await page.getByLabel("Apellidos").fill("Letra Errónea");
    await page.getByLabel("Fecha de nacimiento").fill("1990-02-03");
    await page.getByLabel("Sexo").selectOption("male");
    await page.getByLabel("DNI/NIE").fill("12345678A");
    await page.getByRole("button", { name: "Registrar" }).click();
    await page.getByText("La letra no corresponde al número").waitFor();
    await page.getByLabel("DNI/NIE").fill("12345678Z");
    await page.getByRole("button", { name: "Registrar" }).click();
    await page.getByRole("heading", { name: "Tomás Letra Errónea" }).waitFor();
  });
});

test("a receptionist sees no medical history until she gives the emergency reason", { timeout: 60_000 }, async (t) => {
  await recorded(t, browser, async () => {
    const page = await open(browser);
    await signIn(page, RECEPTIONIST);
    await page.goto(`${BASE}/patients`);
    await page.getByLabel("Buscar").fill("nunez");
    await page.getByRole("link", { name: "Rocío Núñez Carrasco" }).click();
    const history = page.getByRole("region", { name: "Historia médica" });
    await history.waitFor();
    assert.doesNotMatch(await history.innerText(), /Acenocumarol/);
    await history.getByLabel("Motivo de la urgencia").fill("Sangrado tras extracción, llamada del 112");
    await history.getByRole("button", { name: "Abrir por urgencia" }).click();
    await history.getByText("Acenocumarol").waitFor();
  });
});
