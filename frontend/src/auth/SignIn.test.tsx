import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import i18n from "../i18n";
import { fakeApi, json } from "../test/render";
import { SignIn } from "./SignIn";

describe("signing in", () => {
  beforeEach(() => void i18n.changeLanguage("es"));

  it("asks for the authenticator code when the account has one, then sends it with the cookie choice", async () => {
    const calls = fakeApi([
      [
        /POST \/api\/auth\/login/,
        async (request) => {
          const body = (await request.json()) as { totp_code?: string };
          return body.totp_code
            ? json(200, { access_token: "a.b.c", expires_in: 900 })
            : json(401, { type: "https://sonrisa.dev/problems/second-factor-missing" });
        },
      ],
    ]);
    render(<SignIn />);
    await userEvent.type(screen.getByLabelText("Correo electrónico"), "carmen.ruiz@sonrisa.demo");
    await userEvent.type(screen.getByLabelText("Contraseña"), "una contraseña larga");
    await userEvent.click(screen.getByRole("button", { name: "Entrar" }));
    const code = await screen.findByLabelText("Código de verificación");
    await userEvent.type(code, "123456");
    await userEvent.click(screen.getByRole("button", { name: "Entrar" }));
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    const last = (await calls[1]?.json()) as Record<string, string>;
    expect(last).toMatchObject({ totp_code: "123456", refresh_in: "cookie" });
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
