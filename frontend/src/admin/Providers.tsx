/** Providers on the appointment book: their working hours and absences. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ok } from "../api/client";
import { describe } from "../api/problems";
import type { components } from "../api/schema";
import { useProviders, useZone } from "../scheduling/reference";
import type { Hours } from "../scheduling/weekdays";
import { formatDateTime } from "../time/format";
import { instantAt, isoInZone, minutesOf } from "../time/zone";
import { Field } from "../ui/Field";
import { Empty, ErrorNote, Loading, Notice } from "../ui/states";
import { HoursEditor } from "./HoursEditor";

type Provider = components["schemas"]["ProviderOut"];

export function useStaff() {
  return useQuery({
    queryKey: ["staff"],
    queryFn: async ({ signal }) => (await ok(api.GET("/api/staff", { signal }))).items,
  });
}

function ProviderCard({ provider }: { provider: Provider }) {
  const { t, i18n } = useTranslation();
  const zone = useZone();
  const client = useQueryClient();
  const saved = () => client.invalidateQueries({ queryKey: ["providers"] }).then(() => client.invalidateQueries({ queryKey: ["book"] }));
  const [day, setDay] = useState("");
  const [from, setFrom] = useState("09:00");
  const [to, setTo] = useState("14:00");
  const [reason, setReason] = useState("");
  const path = { params: { path: { provider_id: provider.provider_id } } };
  const hours = useMutation({
    mutationFn: (next: Hours) => ok(api.PUT("/api/providers/{provider_id}/working-hours", { ...path, body: { hours: next } })),
    onSuccess: saved,
  });
  const absence = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/providers/{provider_id}/absences", {
          ...path,
          body: {
            start: isoInZone(instantAt(day, minutesOf(from), zone), zone),
            end: isoInZone(instantAt(day, minutesOf(to), zone), zone),
            reason: reason.trim(),
          },
        }),
      ),
    onSuccess: async () => {
      setReason("");
      await saved();
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (day && reason.trim()) absence.mutate();
  }
  return (
    <section className="card" aria-labelledby={`p-${provider.provider_id}`}>
      <h2 id={`p-${provider.provider_id}`}>
        {provider.name} <small>({t(`providerKind.${provider.kind}`)})</small>
      </h2>
      <details>
        <summary>{t("providers.hours")}</summary>
        <HoursEditor hours={provider.working_hours} busy={hours.isPending} onSave={(h) => hours.mutate(h)} />
        {hours.isSuccess && <Notice tone="success">{t("form.saved")}</Notice>}
        {hours.isError && <Notice tone="error">{describe(t, hours.error)}</Notice>}
      </details>
      <details>
        <summary>{t("providers.absences")}</summary>
        {provider.absences.length === 0 ? (
          <Empty>{t("providers.noAbsences")}</Empty>
        ) : (
          <ul className="plain">
            {provider.absences.map((a) => (
              <li key={a.absence_id}>
                {formatDateTime(a.start, zone, i18n.language)} – {formatDateTime(a.end, zone, i18n.language)}: {a.reason}
              </li>
            ))}
          </ul>
        )}
        <form onSubmit={submit} className="grid-3">
          <Field label={t("providers.day")}>
            <input type="date" value={day} onChange={(e) => setDay(e.target.value)} required />
          </Field>
          <Field label={t("providers.from")}>
            <input type="time" value={from} onChange={(e) => setFrom(e.target.value)} />
          </Field>
          <Field label={t("providers.to")}>
            <input type="time" value={to} onChange={(e) => setTo(e.target.value)} />
          </Field>
          <Field label={t("clinic.reason")}>
            <input value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={200} />
          </Field>
          <button type="submit" disabled={absence.isPending}>
            {t("providers.addAbsence")}
          </button>
        </form>
        {absence.isError && <Notice tone="error">{describe(t, absence.error)}</Notice>}
      </details>
    </section>
  );
}

function AddProvider() {
  const { t } = useTranslation();
  const staff = useStaff();
  const client = useQueryClient();
  const [staffId, setStaffId] = useState("");
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"dentist" | "hygienist">("dentist");
  const add = useMutation({
    mutationFn: () => ok(api.POST("/api/providers", { body: { staff_id: staffId, name: name.trim(), kind } })),
    onSuccess: async () => {
      setName("");
      await client.invalidateQueries({ queryKey: ["providers"] });
    },
  });
  return (
    <form
      className="card"
      onSubmit={(e) => {
        e.preventDefault();
        if (staffId && name.trim()) add.mutate();
      }}
    >
      <h2>{t("providers.add")}</h2>
      <div className="grid-3">
        <Field label={t("providers.staff")}>
          <select value={staffId} onChange={(e) => setStaffId(e.target.value)} required>
            <option value="">{t("form.choose")}</option>
            {(staff.data ?? []).filter((s) => s.active).map((s) => (
              <option key={s.staff_id} value={s.staff_id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("providers.bookName")}>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </Field>
        <Field label={t("providers.kind")}>
          <select value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
            <option value="dentist">{t("providerKind.dentist")}</option>
            <option value="hygienist">{t("providerKind.hygienist")}</option>
          </select>
        </Field>
      </div>
      <button type="submit" disabled={add.isPending}>
        {t("providers.addSubmit")}
      </button>
      {add.isError && <Notice tone="error">{describe(t, add.error)}</Notice>}
    </form>
  );
}

export default function Providers() {
  const { t } = useTranslation();
  const providers = useProviders();
  return (
    <section>
      <h1>{t("providers.title")}</h1>
      {providers.isPending ? (
        <Loading />
      ) : providers.isError ? (
        <ErrorNote error={providers.error} retry={() => void providers.refetch()} />
      ) : providers.data.length === 0 ? (
        <Empty>{t("providers.empty")}</Empty>
      ) : (
        providers.data.map((p) => <ProviderCard key={p.provider_id} provider={p} />)
      )}
      <AddProvider />
    </section>
  );
}
