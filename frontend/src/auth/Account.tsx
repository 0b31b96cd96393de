/** The user's own account: two-factor sign-in enrolment (required for some roles). */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ok } from "../api/client";
import { describe } from "../api/problems";
import { Field } from "../ui/Field";
import { Notice } from "../ui/states";
import { useProfile } from "./profile";
import { signOut } from "./session";

export default function Account() {
  const { t } = useTranslation();
  const { profile } = useProfile();
  const [code, setCode] = useState("");
  const setup = useMutation({ mutationFn: () => ok(api.POST("/api/auth/totp/setup")) });
  const secret = (setup.data as { secret?: string; provisioning_uri?: string } | undefined) ?? {};
  const enable = useMutation({
    mutationFn: () =>
      ok(api.POST("/api/auth/totp/enable", { body: { secret: secret.secret ?? "", code: code.trim() } })),
    onSuccess: () => {
      // Enabling the second factor ends every session: sign in again, with the code.
      window.setTimeout(() => void signOut(), 2500);
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    enable.mutate();
  }

  return (
    <section className="account">
      <h1>{t("account.title")}</h1>
      <p>
        {profile.name} · {profile.roles.map((r) => t(`role.${r}`)).join(", ")}
      </p>
      {profile.second_factor_required && <Notice tone="info">{t("account.totpRequired")}</Notice>}
      <h2>{t("account.totpTitle")}</h2>
      <p>{t("account.totpExplain")}</p>
      {!secret.secret && (
        <button type="button" onClick={() => setup.mutate()} disabled={setup.isPending}>
          {t("account.totpStart")}
        </button>
      )}
      {setup.isError && <Notice tone="error">{describe(t, setup.error)}</Notice>}
      {secret.secret && (
        <form onSubmit={submit}>
          <p>{t("account.totpSecret")}</p>
          <p>
            <code className="secret">{secret.secret}</code>
          </p>
          <Field label={t("signIn.code")}>
            <input
              inputMode="numeric"
              pattern="\d{6}"
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </Field>
          <button type="submit" className="primary" disabled={enable.isPending}>
            {t("account.totpEnable")}
          </button>
          {enable.isError && <Notice tone="error">{describe(t, enable.error)}</Notice>}
          {enable.isSuccess && <Notice tone="success">{t("account.totpEnabled")}</Notice>}
        </form>
      )}
    </section>
  );
}
