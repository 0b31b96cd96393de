/** Which roles must sign in with a second factor (TOTP). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, ok } from "../api/client";
import { describe } from "../api/problems";
import { ErrorNote, Loading, Notice } from "../ui/states";
import { ROLES, type Role } from "./roles";

function PolicyForm({ current }: { current: Role[] }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [roles, setRoles] = useState<Role[]>(current);
  const save = useMutation({
    mutationFn: () => ok(api.PUT("/api/security/totp-policy", { body: { roles } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["totp-policy"] }),
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
      className="card"
    >
      <fieldset>
        <legend>{t("security.roles")}</legend>
        {ROLES.map((r) => (
          <label key={r} className="check">
            <input
              type="checkbox"
              checked={roles.includes(r)}
              onChange={(e) => setRoles(e.target.checked ? [...roles, r] : roles.filter((x) => x !== r))}
            />{" "}
            {t(`role.${r}`)}
          </label>
        ))}
      </fieldset>
      <button type="submit" className="primary" disabled={save.isPending}>
        {t("form.save")}
      </button>
      {save.isSuccess && <Notice tone="success">{t("form.saved")}</Notice>}
      {save.isError && <Notice tone="error">{describe(t, save.error)}</Notice>}
    </form>
  );
}

export default function SecurityPolicy() {
  const { t } = useTranslation();
  const policy = useQuery({
    queryKey: ["totp-policy"],
    queryFn: () => ok(api.GET("/api/security/totp-policy")),
  });
  return (
    <section>
      <h1>{t("security.title")}</h1>
      <p>{t("security.explain")}</p>
      {policy.isPending ? (
        <Loading />
      ) : policy.isError ? (
        <ErrorNote error={policy.error} />
      ) : (
        <PolicyForm current={(policy.data.roles ?? []) as Role[]} />
      )}
    </section>
  );
}
