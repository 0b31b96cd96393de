/** Staff accounts and their roles: register, grant and revoke roles, deactivate. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ok } from "../api/client";
import { describe } from "../api/problems";
import type { components } from "../api/schema";
import { Field } from "../ui/Field";
import { Empty, ErrorNote, Loading, Notice } from "../ui/states";
import { useStaff } from "./Providers";
import { serverFieldErrors } from "../patients/Registration";
import { ROLES, type Role } from "./roles";

type StaffMember = components["schemas"]["StaffMemberOut"];

function Register({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("receptionist");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const register = useMutation({
    mutationFn: () =>
      ok(api.POST("/api/auth/register", { body: { name: name.trim(), email: email.trim(), roles: [role], password } })),
    onSuccess: () => {
      setName("");
      setEmail("");
      setPassword("");
      setErrors({});
      onDone();
    },
    onError: (error) => setErrors(serverFieldErrors(t, error)),
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    register.mutate();
  }
  return (
    <form onSubmit={submit} className="card">
      <h2>{t("staff.register")}</h2>
      <div className="grid-2">
        <Field label={t("staff.name")} error={errors.name}>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </Field>
        <Field label={t("signIn.email")} error={errors.email}>
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="off" />
        </Field>
        <Field label={t("staff.role")} error={errors.roles}>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("staff.password")} error={errors.password} hint={t("staff.passwordHint")}>
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="new-password" />
        </Field>
      </div>
      <button type="submit" className="primary" disabled={register.isPending}>
        {t("staff.registerSubmit")}
      </button>
      {register.isError && <Notice tone="error">{describe(t, register.error)}</Notice>}
    </form>
  );
}

function Member({ member, onChanged }: { member: StaffMember; onChanged: () => void }) {
  const { t } = useTranslation();
  const [role, setRole] = useState<Role | "">("");
  const [confirming, setConfirming] = useState(false);
  const path = { params: { path: { staff_id: member.staff_id } } };
  const grant = useMutation({
    mutationFn: (r: Role) => ok(api.POST("/api/staff/{staff_id}/roles", { ...path, body: { role: r } })),
    onSuccess: onChanged,
  });
  const revoke = useMutation({
    mutationFn: (r: Role) => ok(api.DELETE("/api/staff/{staff_id}/roles/{role}", { params: { path: { staff_id: member.staff_id, role: r } } })),
    onSuccess: onChanged,
  });
  const deactivate = useMutation({
    mutationFn: () => ok(api.POST("/api/staff/{staff_id}/deactivate", { ...path, body: { reason: "deactivated by an admin" } })),
    onSuccess: onChanged,
  });
  const failed = grant.error ?? revoke.error ?? deactivate.error;
  return (
    <tr className={member.active ? "" : "inactive"}>
      <td>{member.name}</td>
      <td>{member.email}</td>
      <td>
        {member.roles.map((r) => (
          <span key={r} className="tag">
            {t(`role.${r}`)}
            {member.active && member.roles.length > 1 && (
              <button type="button" className="tag-remove" onClick={() => revoke.mutate(r)} aria-label={t("staff.revoke", { role: t(`role.${r}`), name: member.name })}>
                ×
              </button>
            )}
          </span>
        ))}
      </td>
      <td>{member.two_factor ? t("consent.yes") : t("consent.no")}</td>
      <td>{member.active ? t("staff.active") : t("staff.inactive")}</td>
      <td className="actions">
        {member.active && (
          <>
            <label>
              <span className="visually-hidden">{t("staff.grantTo", { name: member.name })}</span>
              <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
                <option value="">{t("staff.addRole")}</option>
                {ROLES.filter((r) => !member.roles.includes(r)).map((r) => (
                  <option key={r} value={r}>
                    {t(`role.${r}`)}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" className="small" disabled={!role} onClick={() => role && grant.mutate(role)}>
              {t("staff.grant")}
            </button>
            {confirming ? (
              <span role="group" aria-label={t("staff.confirmDeactivate", { name: member.name })}>
                {t("staff.confirmDeactivate", { name: member.name })}{" "}
                <button
                  type="button"
                  className="small danger"
                  onClick={() => {
                    setConfirming(false);
                    deactivate.mutate();
                  }}
                >
                  {t("staff.deactivateConfirmed")}
                </button>
                <button type="button" className="small" onClick={() => setConfirming(false)}>
                  {t("staff.keepActive")}
                </button>
              </span>
            ) : (
              <button type="button" className="small danger" onClick={() => setConfirming(true)}>
                {t("staff.deactivate")}
              </button>
            )}
          </>
        )}
        {failed && <Notice tone="error">{describe(t, failed)}</Notice>}
      </td>
    </tr>
  );
}

export default function Staff() {
  const { t } = useTranslation();
  const staff = useStaff();
  const client = useQueryClient();
  const changed = () => void client.invalidateQueries({ queryKey: ["staff"] });
  return (
    <section>
      <h1>{t("staff.title")}</h1>
      {staff.isPending ? (
        <Loading />
      ) : staff.isError ? (
        <ErrorNote error={staff.error} retry={() => void staff.refetch()} />
      ) : staff.data.length === 0 ? (
        <Empty>{t("staff.empty")}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t("staff.name")}</th>
              <th scope="col">{t("signIn.email")}</th>
              <th scope="col">{t("staff.roles")}</th>
              <th scope="col">{t("staff.twoFactor")}</th>
              <th scope="col">{t("staff.state")}</th>
              <th scope="col">{t("daySheet.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {staff.data.map((m) => (
              <Member key={m.staff_id} member={m} onChanged={changed} />
            ))}
          </tbody>
        </table>
      )}
      <Register onDone={changed} />
    </section>
  );
}
