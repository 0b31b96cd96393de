/** Sign-in: email, password and, for an account that has one, the authenticator code. The API
 * answers a missing code as a wrong one, so the field is always offered. */
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { describe } from "../api/problems";
import { LanguageSwitch } from "../layout/LanguageSwitch";
import { Field } from "../ui/Field";
import { Notice } from "../ui/states";
import { signIn } from "./session";

export function SignIn() {
  const { t } = useTranslation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email.trim(), password, code.trim() || undefined);
    } catch (problem) {
      setError(describe(t, problem));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <div className="sign-in-head">
          <h1>
            Sonrisa
          </h1>
          <LanguageSwitch />
        </div>
        <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
          <h2 id="sign-in-title">{t("signIn.title")}</h2>
          {error && <Notice tone="error">{error}</Notice>}
          <Field label={t("signIn.email")}>
            <input
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </Field>
          <Field label={t("signIn.password")}>
            <input
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <Field label={t("signIn.code")} hint={t("signIn.codeHint")}>
            <input
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="\d{6}"
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </Field>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t("signIn.busy") : t("signIn.submit")}
          </button>
        </form>
      </div>
    </main>
  );
}
