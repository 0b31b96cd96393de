/** The waiting list, and the freed slots that suit someone on it (book them in one click). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, ok } from "../api/client";
import { describe } from "../api/problems";
import type { components } from "../api/schema";
import { ACTIONS, useProfile } from "../auth/profile";
import { PatientName } from "../patients/PatientName";
import { formatDateTime, formatPlainDate, formatTime } from "../time/format";
import { PatientLabel } from "../ui/AlertBadges";
import { Field } from "../ui/Field";
import { Empty, ErrorNote, Loading, Notice } from "../ui/states";
import { book, useBookChanged } from "./book";
import { PatientPicker } from "./PatientPicker";
import { useAppointmentTypes, useChairs, useProviders, useZone } from "./reference";
import { WEEKDAYS, type Weekday } from "./weekdays";

type DirectoryEntry = components["schemas"]["DirectoryEntryOut"];
type WaitlistEntry = components["schemas"]["WaitlistEntryOut"];
type WaitlistMatch = components["schemas"]["WaitlistMatchOut"];

function useWaitlist() {
  return useQuery({
    queryKey: ["book", "waitlist"],
    queryFn: async ({ signal }) => (await ok(api.GET("/api/waitlist", { signal }))).items,
  });
}

function useMatches() {
  return useQuery({
    queryKey: ["book", "waitlist-matches"],
    queryFn: async ({ signal }) =>
      (await ok(api.GET("/api/waitlist/matches", { signal }))).items,
  });
}

function leave(entryId: string, reason: string) {
  return ok(api.DELETE("/api/waitlist/{entry_id}", { params: { path: { entry_id: entryId }, query: { reason } } }));
}

function JoinForm({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const types = useAppointmentTypes();
  const providers = useProviders();
  const [patient, setPatient] = useState<DirectoryEntry | null>(null);
  const [type, setType] = useState("");
  const [provider, setProvider] = useState("");
  const [weekdays, setWeekdays] = useState<Weekday[]>(["monday", "tuesday", "wednesday", "thursday", "friday"]);
  const [earliest, setEarliest] = useState("09:00");
  const [latest, setLatest] = useState("20:00");
  const [note, setNote] = useState("");
  const join = useMutation({
    mutationFn: () =>
      ok(
        api.POST("/api/waitlist", {
          body: {
            patient_id: patient?.patient_id ?? "",
            appointment_type: type || types.data?.[0]?.code || "",
            provider_id: provider || null,
            weekdays,
            earliest,
            latest,
            note: note.trim() || null,
          },
        }),
      ),
    onSuccess: () => {
      setPatient(null);
      setNote("");
      onDone();
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (patient && weekdays.length) join.mutate();
  }
  return (
    <form onSubmit={submit} className="card">
      <h2>{t("waitlist.add")}</h2>
      {patient ? (
        <p>
          <PatientLabel name={`${patient.given_name} ${patient.family_name}`} alerts={Object.values(patient.alerts ?? {})} />{" "}
          <button type="button" className="small" onClick={() => setPatient(null)}>
            {t("booking.change")}
          </button>
        </p>
      ) : (
        <PatientPicker onPick={setPatient} />
      )}
      <div className="grid-3">
        <Field label={t("appointment.type")}>
          <select value={type} onChange={(e) => setType(e.target.value)}>
            {(types.data ?? []).map((x) => (
              <option key={x.code} value={x.code}>
                {x.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("appointment.provider")}>
          <select value={provider} onChange={(e) => setProvider(e.target.value)}>
            <option value="">{t("waitlist.anyProvider")}</option>
            {(providers.data ?? []).map((p) => (
              <option key={p.provider_id} value={p.provider_id}>
                {p.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("waitlist.note")}>
          <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} />
        </Field>
        <Field label={t("waitlist.earliest")}>
          <input type="time" value={earliest} onChange={(e) => setEarliest(e.target.value)} />
        </Field>
        <Field label={t("waitlist.latest")}>
          <input type="time" value={latest} onChange={(e) => setLatest(e.target.value)} />
        </Field>
      </div>
      <fieldset>
        <legend>{t("waitlist.weekdays")}</legend>
        {WEEKDAYS.map((day) => (
          <label key={day} className="check inline">
            <input
              type="checkbox"
              checked={weekdays.includes(day)}
              onChange={(e) => setWeekdays(e.target.checked ? [...weekdays, day] : weekdays.filter((d) => d !== day))}
            />{" "}
            {t(`weekday.${day}`)}
          </label>
        ))}
      </fieldset>
      <button type="submit" className="primary" disabled={!patient || join.isPending}>
        {t("waitlist.join")}
      </button>
      {join.isError && <Notice tone="error">{describe(t, join.error)}</Notice>}
    </form>
  );
}

export default function Waitlist() {
  const { t, i18n } = useTranslation();
  const { may } = useProfile();
  const zone = useZone();
  const client = useQueryClient();
  const changed = useBookChanged();
  const waiting = useWaitlist();
  const matches = useMatches();
  const providers = useProviders();
  const chairs = useChairs();
  const types = useAppointmentTypes();
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const writer = may(ACTIONS.appointmentsWrite);
  const typeName = (code: string) => types.data?.find((x) => x.code === code)?.name ?? code;
  const providerName = (id: string | null) => (id ? providers.data?.find((p) => p.provider_id === id)?.name ?? "—" : t("waitlist.anyProvider"));
  const chairName = (id: string) => chairs.data?.find((c) => c.operatory_id === id)?.name ?? "—";
  const remove = useMutation({
    mutationFn: (entry: WaitlistEntry) => leave(entry.entry_id, "removed at the desk"),
    onSuccess: () => client.invalidateQueries({ queryKey: ["book"] }),
  });
  const offer = useMutation({
    mutationFn: async ({ match, entry }: { match: WaitlistMatch; entry: WaitlistEntry }) => {
      await book({
        patient_id: entry.patient_id,
        provider_id: match.slot.provider_id,
        operatory_id: match.slot.operatory_id,
        start: match.slot.start,
        appointment_type: entry.appointment_type,
      });
      await leave(entry.entry_id, "booked from the waiting list");
    },
    onSuccess: async () => {
      setMessage({ tone: "success", text: t("booking.done") });
      await changed();
    },
    onError: async (error) => {
      setMessage({ tone: "error", text: describe(t, error) });
      await changed();
    },
  });

  return (
    <section>
      <div className="page-head">
        <h1>{t("waitlist.title")}</h1>
      </div>
      {message && <Notice tone={message.tone}>{message.text}</Notice>}
      <section className="card" aria-labelledby="matches-title">
        <h2 id="matches-title">{t("waitlist.matches")}</h2>
        {matches.isPending ? (
          <Loading />
        ) : matches.isError ? (
          <ErrorNote error={matches.error} retry={() => void matches.refetch()} />
        ) : matches.data.length === 0 ? (
          <Empty>{t("waitlist.noMatches")}</Empty>
        ) : (
          <ul className="matches">
            {matches.data.map((m) => (
              <li key={`${m.slot.start}-${m.slot.provider_id}`}>
                <strong>
                  {formatDateTime(m.slot.start, zone, i18n.language)}–{formatTime(m.slot.end, zone, i18n.language)}
                </strong>{" "}
                · {providerName(m.slot.provider_id)} · {chairName(m.slot.operatory_id)}
                <ul>
                  {m.candidates.map((entry) => (
                    <li key={entry.entry_id}>
                      <PatientName patientId={entry.patient_id} /> · {typeName(entry.appointment_type)}{" "}
                      {writer && (
                        <button
                          type="button"
                          className="small primary"
                          disabled={offer.isPending}
                          onClick={() => offer.mutate({ match: m, entry })}
                        >
                          {t("waitlist.bookThis")}
                        </button>
                      )}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="waiting-title">
        <h2 id="waiting-title">{t("waitlist.waiting")}</h2>
        {waiting.isPending ? (
          <Loading />
        ) : waiting.isError ? (
          <ErrorNote error={waiting.error} retry={() => void waiting.refetch()} />
        ) : waiting.data.length === 0 ? (
          <Empty>{t("waitlist.empty")}</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t("appointment.patient")}</th>
                <th scope="col">{t("appointment.type")}</th>
                <th scope="col">{t("appointment.provider")}</th>
                <th scope="col">{t("waitlist.when")}</th>
                <th scope="col">{t("waitlist.since")}</th>
                {writer && <th scope="col">{t("daySheet.actions")}</th>}
              </tr>
            </thead>
            <tbody>
              {waiting.data.map((entry) => (
                <tr key={entry.entry_id}>
                  <td>
                    <PatientName patientId={entry.patient_id} />
                  </td>
                  <td>{typeName(entry.appointment_type)}</td>
                  <td>{providerName(entry.provider_id)}</td>
                  <td>
                    {entry.weekdays.map((d) => t(`weekdayShort.${d}`)).join(", ")} · {entry.earliest.slice(0, 5)}–
                    {entry.latest.slice(0, 5)}
                  </td>
                  <td>{formatPlainDate(entry.since.slice(0, 10), i18n.language)}</td>
                  {writer && (
                    <td>
                      <button type="button" className="small" onClick={() => remove.mutate(entry)}>
                        {t("waitlist.remove")}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {writer && <JoinForm onDone={() => void client.invalidateQueries({ queryKey: ["book"] })} />}
    </section>
  );
}
