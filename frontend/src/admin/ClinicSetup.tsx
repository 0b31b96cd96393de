/** The clinic's calendar and catalogue: opening hours, closures, chairs, appointment types. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ok } from "../api/client";
import { describe, isProblem } from "../api/problems";
import { useAppointmentTypes, useChairs, useClinicHours, useClosures } from "../scheduling/reference";
import type { Hours } from "../scheduling/weekdays";
import { formatPlainDate } from "../time/format";
import { Field } from "../ui/Field";
import { Empty, ErrorNote, Loading, Notice } from "../ui/states";
import { HoursEditor } from "./HoursEditor";

function useSaved(keys: string[][]) {
  const client = useQueryClient();
  return async () => {
    for (const queryKey of keys) await client.invalidateQueries({ queryKey });
  };
}

function OpeningHours() {
  const { t } = useTranslation();
  const hours = useClinicHours();
  const saved = useSaved([["clinic"]]);
  const save = useMutation({
    mutationFn: (next: Hours) => ok(api.PUT("/api/clinic/hours", { body: { hours: next } })),
    onSuccess: saved,
  });
  return (
    <section className="card" aria-labelledby="hours-title">
      <h2 id="hours-title">{t("clinic.hours")}</h2>
      {hours.isPending ? (
        <Loading />
      ) : hours.isError && !(isProblem(hours.error) && hours.error.status === 404) ? (
        <ErrorNote error={hours.error} />
      ) : (
        <>
          {hours.data && <p className="hint">{t("clinic.zone", { zone: hours.data.zone })}</p>}
          <HoursEditor key={JSON.stringify(hours.data?.hours ?? {})} hours={hours.data?.hours ?? {}} busy={save.isPending} onSave={(h) => save.mutate(h)} />
        </>
      )}
      {save.isSuccess && <Notice tone="success">{t("form.saved")}</Notice>}
      {save.isError && <Notice tone="error">{describe(t, save.error)}</Notice>}
    </section>
  );
}

function Closures() {
  const { t, i18n } = useTranslation();
  const closures = useClosures();
  const saved = useSaved([["closures"], ["book"]]);
  const [first, setFirst] = useState("");
  const [last, setLast] = useState("");
  const [reason, setReason] = useState("");
  const add = useMutation({
    mutationFn: () => ok(api.POST("/api/closures", { body: { first_day: first, last_day: last || first, reason: reason.trim() } })),
    onSuccess: async () => {
      setReason("");
      await saved();
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (first && reason.trim()) add.mutate();
  }
  return (
    <section className="card" aria-labelledby="closures-title">
      <h2 id="closures-title">{t("clinic.closures")}</h2>
      {closures.isPending ? (
        <Loading />
      ) : closures.isError ? (
        <ErrorNote error={closures.error} />
      ) : closures.data.length === 0 ? (
        <Empty>{t("clinic.noClosures")}</Empty>
      ) : (
        <ul className="plain">
          {closures.data.map((c) => (
            <li key={c.closure_id}>
              {formatPlainDate(c.first_day, i18n.language)}
              {c.last_day !== c.first_day && <> – {formatPlainDate(c.last_day, i18n.language)}</>}: {c.reason}
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={submit} className="grid-3">
        <Field label={t("clinic.firstDay")}>
          <input type="date" value={first} onChange={(e) => setFirst(e.target.value)} required />
        </Field>
        <Field label={t("clinic.lastDay")}>
          <input type="date" value={last} onChange={(e) => setLast(e.target.value)} />
        </Field>
        <Field label={t("clinic.reason")}>
          <input value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={200} />
        </Field>
        <button type="submit" disabled={add.isPending}>
          {t("clinic.addClosure")}
        </button>
      </form>
      {add.isError && <Notice tone="error">{describe(t, add.error)}</Notice>}
    </section>
  );
}

function Chairs() {
  const { t } = useTranslation();
  const chairs = useChairs();
  const saved = useSaved([["operatories"]]);
  const [name, setName] = useState("");
  const add = useMutation({
    mutationFn: () => ok(api.POST("/api/operatories", { body: { name: name.trim() } })),
    onSuccess: async () => {
      setName("");
      await saved();
    },
  });
  return (
    <section className="card" aria-labelledby="chairs-title">
      <h2 id="chairs-title">{t("clinic.chairs")}</h2>
      {chairs.isPending ? (
        <Loading />
      ) : chairs.isError ? (
        <ErrorNote error={chairs.error} />
      ) : chairs.data.length === 0 ? (
        <Empty>{t("clinic.noChairs")}</Empty>
      ) : (
        <ul className="plain">
          {chairs.data.map((c) => (
            <li key={c.operatory_id}>{c.name}</li>
          ))}
        </ul>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) add.mutate();
        }}
        className="inline-form"
      >
        <Field label={t("clinic.chairName")}>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </Field>
        <button type="submit" disabled={add.isPending}>
          {t("clinic.addChair")}
        </button>
      </form>
      {add.isError && <Notice tone="error">{describe(t, add.error)}</Notice>}
    </section>
  );
}

function Types() {
  const { t } = useTranslation();
  const types = useAppointmentTypes();
  const saved = useSaved([["appointment-types"]]);
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [minutes, setMinutes] = useState("30");
  const define = useMutation({
    mutationFn: () =>
      ok(api.POST("/api/appointment-types", { body: { code: code.trim(), name: name.trim(), minutes: Number(minutes) } })),
    onSuccess: async () => {
      setCode("");
      setName("");
      await saved();
    },
  });
  return (
    <section className="card" aria-labelledby="types-title">
      <h2 id="types-title">{t("clinic.types")}</h2>
      {types.isPending ? (
        <Loading />
      ) : types.isError ? (
        <ErrorNote error={types.error} />
      ) : types.data.length === 0 ? (
        <Empty>{t("clinic.noTypes")}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t("clinic.typeCode")}</th>
              <th scope="col">{t("clinic.typeName")}</th>
              <th scope="col">{t("clinic.minutes")}</th>
            </tr>
          </thead>
          <tbody>
            {types.data.map((x) => (
              <tr key={x.code}>
                <td>{x.code}</td>
                <td>{x.name}</td>
                <td>{x.minutes}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (code.trim() && name.trim()) define.mutate();
        }}
        className="grid-3"
      >
        <Field label={t("clinic.typeCode")}>
          <input value={code} onChange={(e) => setCode(e.target.value)} required maxLength={50} />
        </Field>
        <Field label={t("clinic.typeName")}>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </Field>
        <Field label={t("clinic.minutes")}>
          <input type="number" min={5} max={480} step={5} value={minutes} onChange={(e) => setMinutes(e.target.value)} />
        </Field>
        <button type="submit" disabled={define.isPending}>
          {t("clinic.defineType")}
        </button>
      </form>
      {define.isError && <Notice tone="error">{describe(t, define.error)}</Notice>}
    </section>
  );
}

export default function ClinicSetup() {
  const { t } = useTranslation();
  return (
    <section>
      <h1>{t("clinic.title")}</h1>
      <OpeningHours />
      <Closures />
      <Chairs />
      <Types />
    </section>
  );
}
