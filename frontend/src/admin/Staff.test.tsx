import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { fakeApi, json, renderAs } from "../test/render";
import Staff from "./Staff";

const LUCIA = {
  staff_id: "6f1c2a3e-0000-4000-8000-000000000001",
  name: "Lucía Gómez",
  email: "lucia@clinica.es",
  roles: ["admin"],
  active: true,
  two_factor: false,
  registered_at: "2026-01-01T09:00:00Z",
  updated_at: "2026-01-01T09:00:00Z",
};

describe("deactivating a staff account", () => {
  it("asks first, and sends nothing when the admin keeps the account", async () => {
    const calls = fakeApi([[/GET \/api\/staff/, () => json(200, { items: [LUCIA] })]]);
    renderAs("admin", <Staff />);
    await userEvent.click(await screen.findByRole("button", { name: "Desactivar" }));
    expect(screen.getByRole("group", { name: /¿Desactivar la cuenta de Lucía Gómez\?/ })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Cancelar" }));
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
    expect(screen.getByRole("button", { name: "Desactivar" })).toBeInTheDocument();
  });

  it("shows the clinic's refusal to deactivate its last admin", async () => {
    const calls = fakeApi([
      [/GET \/api\/staff/, () => json(200, { items: [LUCIA] })],
      [
        /POST \/api\/staff\/.*\/deactivate/,
        () =>
          json(409, {
            type: "https://sonrisa.dev/problems/transition-refused",
            detail: "this is the clinic's last active admin: make another staff member an admin first",
          }),
      ],
    ]);
    renderAs("admin", <Staff />);
    await userEvent.click(await screen.findByRole("button", { name: "Desactivar" }));
    await userEvent.click(screen.getByRole("button", { name: "Sí, desactivar" }));
    expect(await screen.findByRole("alert")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(1);
  });
});
