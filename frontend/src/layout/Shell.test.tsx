import { screen, within } from "@testing-library/react";
import { renderAs } from "../test/render";
import { Shell } from "./Shell";

function links() {
  return within(screen.getByRole("navigation"))
    .getAllByRole("link")
    .map((a) => a.textContent);
}

describe("the navigation shows only what the role may use", () => {
  it("gives an inventory user no patient or desk screens", () => {
    renderAs("inventory", <Shell>x</Shell>);
    expect(links()).toEqual(["Mi cuenta"]);
  });

  it("gives the front desk the calendar and patients but no administration", () => {
    renderAs("receptionist", <Shell>x</Shell>);
    expect(links()).toEqual(["Agenda", "Hoja del día", "Lista de espera", "Pacientes", "Mi cuenta"]);
  });

  it("gives an admin the administration screens", () => {
    renderAs("admin", <Shell>x</Shell>);
    expect(links()).toEqual(expect.arrayContaining(["Personal", "Clínica", "Profesionales", "Seguridad"]));
  });
});
