import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import i18n from "../i18n";
import { fakeApi, json } from "../test/render";
import { SignIn } from "./SignIn";

describe("signing in", () => {
  beforeEach(() => void i18n.changeLanguage("es"));

  it("sends the authenticator code, when given, with the cookie choice", async () => {
    const calls = fakeApi([[/POST \/api\/auth\/login/, () => json(200, { access_token: "a.b.c", expires_in: 900 })]]);
    render(<SignIn />);
    await userEvent.type(screen.getByLabelText("Correo electrónico"), "carmen.ruiz@sonrisa.demo");
    await userEvent.type(screen.getByLabelText("Contraseña"), "una contraseña larga");
    await userEvent.type(screen.getByLabelText("Código de verificación"), "123456");
    await userEvent.click(screen.getByRole("button", { name: "Entrar" }));
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    const sent = (await calls[0]?.json()) as Record<string, string>;
    expect(sent).toMatchObject({ totp_code: "123456", refresh_in: "cookie" });
  });

  it("sends no code when the field is left empty (an account without one)", async () => {
    const calls = fakeApi([[/POST \/api\/auth\/login/, () => json(200, { access_token: "a.b.c", expires_in: 900 })]]);
    render(<SignIn />);
    await userEvent.type(screen.getByLabelText("Correo electrónico"), "ana@sonrisa.demo");
    await userEvent.type(screen.getByLabelText("Contraseña"), "una contraseña larga");
    await userEvent.click(screen.getByRole("button", { name: "Entrar" }));
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    const sent = (await calls[0]?.json()) as Record<string, string>;
    expect(sent).not.toHaveProperty("totp_code");
  });

  it("says plainly, in Spanish, that the details are wrong", async () => {
    fakeApi([[/POST \/api\/auth\/login/, () => json(401, { type: "https://sonrisa.dev/problems/sign-in-failed" })]]);
    render(<SignIn />);
    await userEvent.type(screen.getByLabelText("Correo electrónico"), "x@sonrisa.demo");
    await userEvent.type(screen.getByLabelText("Contraseña"), "mal");
    await userEvent.click(screen.getByRole("button", { name: "Entrar" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("El correo, la contraseña o el código no son correctos.");
  });
});
