/** Medical history and alerts: clinicians read and record; the desk reads only in an emergency,
 * giving the reason the API writes to the access log. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ok } from "../api/client";
import { describe } from "../api/problems";
import type { components } from "../api/schema";
import { ACTIONS, useProfile } from "../auth/profile";
import { useZone } from "../scheduling/reference";
import { formatPlainDate } from "../time/format";
import { today } from "../time/zone";
import { Field } from "../ui/Field";
import { Empty, Notice } from "../ui/states";
import { historyInEmergency } from "./chart";

type Chart = components["schemas"]["ChartOut"];
type HistoryEntry = components["schemas"]["HistoryEntryOut"];

function Entries({ entries, onEnd }: { entries: HistoryEntry[]; onEnd?: (entry: HistoryEntry) => void }) {
  const { t, i18n } = useTranslation();
  if (entries.length === 0) return <Empty>{t("history.empty")}</Empty>;
  return (
    <ul className="history">
      {entries.map((e) => (
        <li key={e.entry_id} className={e.active ? "" : "ended"}>
          <strong>{t(`historyKind.${e.kind}`)}</strong>: {e.description}
          {e.severity && <> · {t(`severity.${e.severity}`)}</>}
          {e.started_on && <> · {t("history.since", { date: formatPlainDate(e.started_on, i18n.language) })}</>}
          {e.ended_on && <> · {t("history.ended", { date: formatPlainDate(e.ended_on, i18n.language) })}</>}
          {e.notes && <div className="hint">{e.notes}</div>}
          {onEnd && e.active && (
            <button type="button" className="small" onClick={() => onEnd(e)}>
              {t("history.end")}
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

function Emergency({ patientId }: { patientId: string }) {
  const { t } = useTranslation();
  const [reason, setReason] = useState("");
  const read = useMutation({ mutationFn: () => historyInEmergency(patientId, reason.trim()) });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (reason.trim()) read.mutate();
  }
  if (read.isSuccess) {
    return (
      <>
        <Notice tone="info">{t("history.emergencyShown")}</Notice>
        <Entries entries={read.data} />
      </>
    );
  }
  return (
    <form onSubmit={submit} className="emergency">
      <p>{t("history.hidden")}</p>
      <Field label={t("history.reason")} hint={t("history.reasonHint")}>
        <input value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} />
      </Field>
      <button type="submit" disabled={read.isPending || !reason.trim()}>
        {t("history.emergencyOpen")}
      </button>
      {read.isError && <Notice tone="error">{describe(t, read.error)}</Notice>}
    </form>
  );
}

function Recorders({ chart }: { chart: Chart }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [kind, setKind] = useState<HistoryEntry["kind"]>("allergy");
  const [description, setDescription] = useState("");
  const [severity, setSeverity] = useState<"low" | "moderate" | "high">("moderate");
  const [alertCode, setAlertCode] = useState("");
  const [alertText, setAlertText] = useState("");
  const path = { params: { path: { patient_id: chart.patient_id } } };
  const refresh = () => client.invalidateQueries({ queryKey: ["patients"] });
  const record = useMutation({
    mutationFn: () =>
      ok(api.POST("/api/patients/{patient_id}/medical-history", { ...path, body: { kind, description, severity } })),
    onSuccess: async () => {
      setDescription("");
      await refresh();
    },
  });
  const raise = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/patients/{patient_id}/alerts", {
          ...path,
          body: { code: alertCode.trim(), description: alertText.trim(), severity: "high" },
        }),
      ),
    onSuccess: async () => {
      setAlertCode("");
      setAlertText("");
      await refresh();
    },
  });
  const clear = useMutation({
    mutationFn: (alertId: string) =>
      ok(
        api.POST("/api/patients/{patient_id}/alerts/{alert_id}/clear", {
          params: { path: { patient_id: chart.patient_id, alert_id: alertId } },
          body: {},
        }),
      ),
    onSuccess: refresh,
  });
  return (
    <div className="recorders">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (description.trim()) record.mutate();
        }}
      >
        <h3>{t("history.add")}</h3>
        <div className="grid-3">
          <Field label={t("history.kind")}>
            <select value={kind} onChange={(e) => setKind(e.target.value as HistoryEntry["kind"])}>
              {(["allergy", "medication", "condition"] as const).map((k) => (
                <option key={k} value={k}>
                  {t(`historyKind.${k}`)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("history.description")}>
            <input value={description} onChange={(e) => setDescription(e.target.value)} required maxLength={500} />
          </Field>
          <Field label={t("history.severity")}>
            <select value={severity} onChange={(e) => setSeverity(e.target.value as typeof severity)}>
              {(["low", "moderate", "high"] as const).map((k) => (
                <option key={k} value={k}>
                  {t(`severity.${k}`)}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <button type="submit" disabled={record.isPending}>
          {t("history.record")}
        </button>
        {record.isError && <Notice tone="error">{describe(t, record.error)}</Notice>}
      </form>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (alertCode.trim() && alertText.trim()) raise.mutate();
        }}
      >
        <h3>{t("alerts.raise")}</h3>
        <div className="grid-2">
          <Field label={t("alerts.code")} hint={t("alerts.codeHint")}>
            <input value={alertCode} onChange={(e) => setAlertCode(e.target.value)} required maxLength={50} />
          </Field>
          <Field label={t("alerts.description")}>
            <input value={alertText} onChange={(e) => setAlertText(e.target.value)} required maxLength={500} />
          </Field>
        </div>
        <button type="submit" disabled={raise.isPending}>
          {t("alerts.raise")}
        </button>
        {raise.isError && <Notice tone="error">{describe(t, raise.error)}</Notice>}
      </form>
      {chart.alerts.length > 0 && (
        <ul className="plain">
          {chart.alerts.map((a) => (
            <li key={a.alert_id}>
              {a.description}{" "}
              <button type="button" className="small" onClick={() => clear.mutate(a.alert_id)}>
                {t("alerts.clear")}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function MedicalHistory({ chart }: { chart: Chart }) {
  const { t } = useTranslation();
  const { may, mayInEmergency } = useProfile();
  const zone = useZone();
  const client = useQueryClient();
  const end = useMutation({
    mutationFn: (entry: HistoryEntry) =>
      ok(
        api.POST("/api/patients/{patient_id}/medical-history/{entry_id}/end", {
          params: { path: { patient_id: chart.patient_id, entry_id: entry.entry_id } },
          body: { ended_on: today(zone) },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ["patients"] }),
  });
  const readable = may(ACTIONS.clinicalRead);
  if (!readable && !mayInEmergency(ACTIONS.clinicalRead)) return null;
  return (
    <section aria-labelledby="history-title" className="card">
      <h2 id="history-title">{t("history.title")}</h2>
      {readable ? (
        <Entries
          entries={chart.medical_history ?? []}
          onEnd={may(ACTIONS.clinicalWrite) ? (entry) => end.mutate(entry) : undefined}
        />
      ) : (
        <Emergency patientId={chart.patient_id} />
      )}
      {end.isError && <Notice tone="error">{describe(t, end.error)}</Notice>}
      {may(ACTIONS.clinicalWrite) && <Recorders chart={chart} />}
    </section>
  );
}
