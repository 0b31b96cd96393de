/** The day sheet: the day's appointments in time order, with names and alerts, ready to act on. */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { describe, isProblem } from "../api/problems";
import type { components } from "../api/schema";
import { ACTIONS, useProfile } from "../auth/profile";
import { formatDay, formatTime } from "../time/format";
import { addDays, today } from "../time/zone";
import { PatientLabel } from "../ui/AlertBadges";
import { Empty, ErrorNote, Loading, Notice } from "../ui/states";
import { advance, nextSteps, useBookChanged, useDaySheets, type Step } from "./book";
import { useAppointmentTypes, useChairs, useProviders, useZone } from "./reference";

type SheetLine = components["schemas"]["SheetLineOut"];

export default function DaySheet() {
  const { t, i18n } = useTranslation();
  const { may } = useProfile();
  const zone = useZone();
  const [params, setParams] = useSearchParams();
  const day = params.get("date") ?? today(zone);
  const provider = params.get("provider");
  const providers = useProviders();
  const chairs = useChairs();
  const types = useAppointmentTypes();
  const sheets = useDaySheets([day], provider);
  const lines = sheets.lines[0] ?? [];
  const changed = useBookChanged();
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const step = useMutation({
    mutationFn: ({ line, next }: { line: SheetLine; next: Step }) => advance(line, next),
    onSuccess: async (_, { next }) => {
      setMessage({ tone: "success", text: t(`appointment.done.${next}`) });
      await changed();
    },
    onError: async (error) => {
      setMessage({ tone: "error", text: isProblem(error) && error.isConflict ? t("calendar.conflict") : describe(t, error) });
      await changed();
    },
  });
  const go = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next, { replace: true });
  };
  const name = <T extends { name: string }>(items: T[] | undefined, key: keyof T, id: string) =>
    items?.find((x) => x[key] === id)?.name ?? "—";

  return (
    <section>
      <div className="page-head">
        <h1>{t("daySheet.title")}</h1>
      </div>
      <div className="toolbar">
        <div className="date-nav">
          <button type="button" onClick={() => go({ date: addDays(day, -1) })} aria-label={t("calendar.previous_day")}>
            ‹
          </button>
          <button type="button" onClick={() => go({ date: today(zone) })}>
            {t("calendar.today")}
          </button>
          <button type="button" onClick={() => go({ date: addDays(day, 1) })} aria-label={t("calendar.next_day")}>
            ›
          </button>
          <label>
            <span className="visually-hidden">{t("calendar.date")}</span>
            <input type="date" value={day} onChange={(e) => e.target.value && go({ date: e.target.value })} />
          </label>
        </div>
        <label>
          {t("appointment.provider")}{" "}
          <select value={provider ?? ""} onChange={(e) => go({ provider: e.target.value || null })}>
            <option value="">{t("daySheet.everyone")}</option>
            {(providers.data ?? []).map((p) => (
              <option key={p.provider_id} value={p.provider_id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <h2 className="range">{formatDay(day, zone, i18n.language)}</h2>
      {message && <Notice tone={message.tone}>{message.text}</Notice>}
      {sheets.pending ? (
        <Loading />
      ) : sheets.error ? (
        <ErrorNote error={sheets.error} retry={() => void changed()} />
      ) : lines.length === 0 ? (
        <Empty>{t("daySheet.empty")}</Empty>
      ) : (
        <table className="day-sheet">
          <thead>
            <tr>
              <th scope="col">{t("appointment.when")}</th>
              <th scope="col">{t("appointment.patient")}</th>
              <th scope="col">{t("appointment.type")}</th>
              <th scope="col">{t("appointment.provider")}</th>
              <th scope="col">{t("appointment.chair")}</th>
              <th scope="col">{t("appointment.status")}</th>
              {may(ACTIONS.appointmentsWrite) && <th scope="col">{t("daySheet.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {lines.map((line) => (
              <tr key={line.appointment_id}>
                <td>
                  {formatTime(line.start, zone, i18n.language)}–{formatTime(line.end, zone, i18n.language)}
                </td>
                <td>
                  <Link to={`/patients/${line.patient_id}`}>
                    <PatientLabel name={line.patient_name ?? "—"} alerts={line.alerts} />
                  </Link>
                </td>
                <td>{name(types.data?.map((x) => ({ ...x, id: x.code })), "id", line.appointment_type)}</td>
                <td>{name(providers.data, "provider_id", line.provider_id)}</td>
                <td>{name(chairs.data, "operatory_id", line.operatory_id)}</td>
                <td>{t(`status.${line.status}`)}</td>
                {may(ACTIONS.appointmentsWrite) && (
                  <td className="actions">
                    {nextSteps(line.status, day === today(zone))
                      .filter((s): s is Step => s !== "cancel")
                      .map((next) => (
                        <button
                          key={next}
                          type="button"
                          className="small"
                          disabled={step.isPending}
                          onClick={() => step.mutate({ line, next })}
                        >
                          {t(`appointment.step.${next}`)}
                        </button>
                      ))}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
