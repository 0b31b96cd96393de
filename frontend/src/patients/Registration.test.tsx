import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { fakeApi, json, renderAs } from "../test/render";
import Registration from "./Registration";

async function fillValidPatient() {
  await userEvent.type(screen.getByLabelText("Nombre"), "Tomás");
  await userEvent.type(screen.getByLabelText("Apellidos"), "Gil");
  await userEvent.type(screen.getByLabelText("Fecha de nacimiento"), "1990-02-03");
  await userEvent.selectOptions(screen.getByLabelText("Sexo"), "male");
  await userEvent.type(screen.getByLabelText("Teléfono"), "+34 612 345 678");
}

describe("registering a patient", () => {
  it("shows the API's field errors (problem+json errors[].location) beside their fields", async () => {
    fakeApi([
      [/GET \/api\/clinic\/hours/, () => json(200, { zone: "Europe/Madrid", hours: {} })],
      [
        /POST \/api\/patients/,
        () =>
          json(422, {
            type: "https://sonrisa.dev/problems/invalid-request",
            errors: [{ location: ["body", "phone"], message: "String should have at most 32 characters", code: "string_too_long" }],
          }),
      ],
    ]);
    renderAs("receptionist", <Registration />);
    await fillValidPatient();
    await userEvent.click(screen.getByRole("button", { name: "Registrar" }));
    expect(await screen.findByText("Demasiado largo")).toBeInTheDocument();
    expect(screen.getByLabelText("Teléfono")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByText("Revise los campos marcados.")).toBeInTheDocument();
  });

  it("shows the clinic's rule that refused a field (problem+json `field`)", async () => {
    fakeApi([
      [/GET \/api\/clinic\/hours/, () => json(200, { zone: "Europe/Madrid", hours: {} })],
      [
        /POST \/api\/patients/,
        () => json(422, { type: "https://sonrisa.dev/problems/invalid-data", detail: "phone is not a valid number", field: "phone" }),
      ],
    ]);
    renderAs("receptionist", <Registration />);
    await fillValidPatient();
    await userEvent.click(screen.getByRole("button", { name: "Registrar" }));
    expect(await screen.findByText("Teléfono no válido")).toBeInTheDocument();
  });

  it("checks the DNI's letter before sending anything", async () => {
    const calls = fakeApi([[/GET \/api\/clinic\/hours/, () => json(200, { zone: "Europe/Madrid", hours: {} })]]);
    renderAs("receptionist", <Registration />);
    await fillValidPatient();
    await userEvent.type(screen.getByLabelText("DNI/NIE"), "12345678A");
    await userEvent.click(screen.getByRole("button", { name: "Registrar" }));
    expect(await screen.findByText("La letra no corresponde al número")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });
});
