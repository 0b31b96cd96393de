/** A patient's record: alerts first, then details (edited with conflict handling), consents,
 * medical history (clinicians, or the desk with an emergency reason) and appointments. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { api, ok } from "../api/client";
import { describe, isProblem } from "../api/problems";
import type { components } from "../api/schema";
import { ACTIONS, useProfile } from "../auth/profile";
import { useZone } from "../scheduling/reference";
import { formatPlainDate } from "../time/format";
import { today } from "../time/zone";
import { ErrorNote, Loading, Notice } from "../ui/states";
import { inputOf, useChart } from "./chart";
import { MedicalHistory } from "./MedicalHistory";
import { PatientAppointments } from "./PatientAppointments";
import { PatientForm, CHANNELS } from "./PatientForm";
import { serverFieldErrors } from "./Registration";
import { patientBody, patientProblems, type PatientInput } from "./validation";

type Chart = components["schemas"]["ChartOut"];

function AlertPanel({ chart }: { chart: Chart }) {
  const { t } = useTranslation();
  if (chart.alerts.length === 0) return null;
  return (
    <section className="alert-panel" aria-labelledby="alerts-title">
      <h2 id="alerts-title">{t("alerts.title")}</h2>
      <ul>
        {chart.alerts.map((alert) => (
          <li key={alert.alert_id} className={`severity-${alert.severity}`}>
            <strong>⚠ {t(`alertCode.${alert.code}`, { defaultValue: alert.code })}</strong>
            {alert.description ? `: ${alert.description}` : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Details({ chart }: { chart: Chart }) {
  const { t, i18n } = useTranslation();
  const d = chart.demographics;
  const c = chart.contact;
  const rows: [string, string][] = [
    [t("patient.birthDate"), formatPlainDate(d.birth_date, i18n.language)],
    [t("patient.sex"), t(`sex.${d.sex}`)],
    [t("patient.nationalId"), d.national_id ?? "—"],
    [t("patient.phone"), c.phone ?? "—"],
    [t("patient.email"), c.email ?? "—"],
    [
      t("patient.address"),
      c.address ? [c.address.line1, c.address.line2, c.address.postal_code, c.address.city].filter(Boolean).join(", ") : "—",
    ],
    [t("patient.language"), c.language === "en" ? "English" : "Español"],
  ];
  return (
    <dl className="details">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Consents({ chart }: { chart: Chart }) {
  const { t } = useTranslation();
  return (
    <ul className="consents">
      {CHANNELS.map((channel) => (
        <li key={channel}>
          {t(`channel.${channel}`)}: <strong>{chart.contact.consents?.[channel] ? t("consent.yes") : t("consent.no")}</strong>
        </li>
      ))}
    </ul>
  );
}

/** Three-way merge after a conflict: what I changed stays mine, the rest takes their version;
 * fields we both changed keep mine and are named, so nothing anyone typed is lost. */
export function mergeEdits(base: PatientInput, mine: PatientInput, theirs: PatientInput) {
  const input = { ...theirs, consents: { ...theirs.consents } } as PatientInput;
  const clashes: string[] = [];
  for (const key of Object.keys(base) as (keyof PatientInput)[]) {
    if (key === "consents") {
      for (const channel of Object.keys(base.consents) as (keyof PatientInput["consents"])[]) {
        if (mine.consents[channel] !== base.consents[channel]) {
          input.consents[channel] = mine.consents[channel];
          if (theirs.consents[channel] !== base.consents[channel] && theirs.consents[channel] !== mine.consents[channel]) {
            clashes.push("consents");
          }
        }
      }
    } else if (mine[key] !== base[key]) {
      (input as unknown as Record<string, unknown>)[key] = mine[key];
      if (theirs[key] !== base[key] && theirs[key] !== mine[key]) clashes.push(key);
    }
  }
  return { input, clashes: [...new Set(clashes)] };
}

/** Editing with If-Match; when someone saved first, show their version and keep ours. */
function EditDetails({ chart, done }: { chart: Chart; done: () => void }) {
  const { t } = useTranslation();
  const zone = useZone();
  const client = useQueryClient();
  const [input, setInput] = useState<PatientInput>(() => inputOf(chart));
  const [base, setBase] = useState<PatientInput>(() => inputOf(chart));
  const [basedOn, setBasedOn] = useState(chart.version);
  const [clashes, setClashes] = useState<string[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [theirs, setTheirs] = useState<Chart | null>(null);
  const save = useMutation({
    mutationFn: () =>
      ok(
        api.PUT("/api/patients/{patient_id}", {
          params: { path: { patient_id: chart.patient_id }, header: { "If-Match": `"${basedOn}"` } },
          body: patientBody(input),
        }),
      ),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["patients"] });
      done();
    },
    onError: async (error) => {
      if (isProblem(error) && error.isConflict) {
        const fresh = await client.fetchQuery({
          queryKey: ["patients", "chart", chart.patient_id],
          queryFn: async () =>
            await ok(
              api.GET("/api/patients/{patient_id}", { params: { path: { patient_id: chart.patient_id } } }),
            ),
          staleTime: 0,
        });
        const merged = mergeEdits(base, input, inputOf(fresh));
        setTheirs(fresh);
        setInput(merged.input);
        setClashes(merged.clashes);
        setBase(inputOf(fresh));
        setBasedOn(fresh.version);
      } else {
        setErrors(serverFieldErrors(t, error));
      }
    },
  });

  function submit() {
    const problems = patientProblems(input, today(zone));
    setErrors(Object.fromEntries(Object.entries(problems).map(([k, key]) => [k, t(key)])));
    if (Object.keys(problems).length === 0) {
      setTheirs(null);
      save.mutate();
    }
  }

  return (
    <div className="edit-details">
      {theirs && (
        <div className="conflict" role="alert">
          <p>
            <strong>{t("conflict.title")}</strong> {t("conflict.body")}
          </p>
          <Details chart={theirs} />
          <p>{t("conflict.merged")}</p>
          {clashes.length > 0 && (
            <p>
              {t("conflict.clashes")} {clashes.map((f) => t(`patientField.${f}`)).join(", ")}
            </p>
          )}
          <div className="actions">
            <button type="button" onClick={() => setInput(inputOf(theirs))}>
              {t("conflict.takeTheirs")}
            </button>
          </div>
        </div>
      )}
      {save.isError && !theirs && !(isProblem(save.error) && save.error.status === 422) && (
        <Notice tone="error">{describe(t, save.error)}</Notice>
      )}
      <PatientForm
        value={input}
        onChange={setInput}
        errors={errors}
        onSubmit={submit}
        busy={save.isPending}
        submitLabel={t("form.save")}
      >
        <button type="button" onClick={done}>
          {t("form.cancel")}
        </button>
      </PatientForm>
    </div>
  );
}

export default function PatientRecord() {
  const { t } = useTranslation();
  const { patientId = "" } = useParams();
  const { may } = useProfile();
  const chart = useChart(patientId);
  const [editing, setEditing] = useState(false);

  if (chart.isPending) return <Loading />;
  if (chart.isError) return <ErrorNote error={chart.error} retry={() => void chart.refetch()} />;
  const c = chart.data;
  return (
    <article className="record">
      <header className="page-head">
        <h1>
          {c.demographics.given_name} {c.demographics.family_name}
        </h1>
        {may(ACTIONS.appointmentsWrite) && (
          <Link className="button primary" to={`/calendar?patient=${c.patient_id}`}>
            {t("patient.book")}
          </Link>
        )}
      </header>
      <AlertPanel chart={c} />
      <section aria-labelledby="details-title" className="card">
        <div className="card-head">
          <h2 id="details-title">{t("patient.details")}</h2>
          {may(ACTIONS.patientsWrite) && !editing && (
            <button type="button" onClick={() => setEditing(true)}>
              {t("form.edit")}
            </button>
          )}
        </div>
        {editing ? <EditDetails chart={c} done={() => setEditing(false)} /> : <Details chart={c} />}
      </section>
      <section aria-labelledby="consents-title" className="card">
        <h2 id="consents-title">{t("patient.consents")}</h2>
        <Consents chart={c} />
      </section>
      <MedicalHistory chart={c} />
      {may(ACTIONS.appointmentsRead) && <PatientAppointments patientId={c.patient_id} />}
    </article>
  );
}
