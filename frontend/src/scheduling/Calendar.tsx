/** The front desk's calendar: a day or a week, per provider or per chair, in the clinic's zone. */
import { useCallback, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router";
import { describe, isProblem } from "../api/problems";
import type { components } from "../api/schema";
import { ACTIONS, useProfile } from "../auth/profile";
import { useChart } from "../patients/chart";
import { formatDay } from "../time/format";
import { addDays, minutesOf, mondayOf, today } from "../time/zone";
import { PatientLabel } from "../ui/AlertBadges";
import { Empty, ErrorNote, Loading, Notice } from "../ui/states";
import { AppointmentDialog } from "./AppointmentDialog";
import { BookDialog, type Chosen } from "./BookDialog";
import { reschedule, useBookChanged, useDaySheets, useFreeSlots } from "./book";
import { CalendarGrid } from "./CalendarGrid";
import { useAppointmentTypes, useChairs, useClinicHours, useProviders, useZone } from "./reference";
import { WEEKDAYS } from "./weekdays";

type SheetLine = components["schemas"]["SheetLineOut"];
type Slot = components["schemas"]["SlotOut"];

type View = "day" | "week";
const NO_SLOTS: Slot[] = [];

/** The same array as last time while its items are the same, so memoised children skip work. */
function useSameItems<T>(items: T[]): T[] {
  const kept = useRef(items);
  const same = kept.current.length === items.length && kept.current.every((x, i) => x === items[i]);
  if (!same) kept.current = items;
  return kept.current;
}
type By = "provider" | "chair";

function useBookingFor(patientId: string | null): Chosen | null {
  const chart = useChart(patientId ?? "");
  if (!patientId || !chart.data) return null;
  const d = chart.data.demographics;
  return { patient_id: patientId, name: `${d.given_name} ${d.family_name}`, alerts: chart.data.alerts.map((a) => a.code) };
}

export default function Calendar() {
  const { t, i18n } = useTranslation();
  const { may } = useProfile();
  const hours = useClinicHours();
  const providers = useProviders();
  const chairs = useChairs();
  const types = useAppointmentTypes();
  const [params, setParams] = useSearchParams();
  const zone = useZone();
  const view: View = params.get("view") === "day" ? "day" : "week";
  const by: By = params.get("by") === "chair" ? "chair" : "provider";
  const date = params.get("date") ?? today(zone);
  const providerId = params.get("provider") ?? providers.data?.[0]?.provider_id ?? null;
  const chairId = params.get("chair") ?? chairs.data?.[0]?.operatory_id ?? null;
  const typeCode = params.get("type") ?? types.data?.[0]?.code ?? null;
  const bookingFor = useBookingFor(params.get("patient"));
  const set = useCallback(
    (changes: Record<string, string | null>) => {
      const next = new URLSearchParams(params);
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) next.delete(key);
        else next.set(key, value);
      }
      setParams(next, { replace: true });
    },
    [params, setParams],
  );

  const days = useMemo(() => {
    if (view === "day") return [date];
    const monday = mondayOf(date);
    return WEEKDAYS.map((_, i) => addDays(monday, i));
  }, [view, date]);
  const sheets = useDaySheets(days, by === "provider" ? providerId : null);
  const canBook = may(ACTIONS.appointmentsWrite) && providerId !== null && chairId !== null && typeCode !== null;
  const slots = useFreeSlots(
    canBook && providerId && chairId && typeCode ? { provider: providerId, chair: chairId, type: typeCode, days, zone } : null,
  );
  const changed = useBookChanged();
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const [slot, setSlot] = useState<Slot | null>(null);
  const [open, setOpen] = useState<SheetLine | null>(null);

  const perDay = useSameItems(sheets.lines);
  const lines = useMemo(() => {
    const all = perDay.flat();
    return by === "chair" ? all.filter((l) => l.operatory_id === chairId) : all;
  }, [perDay, by, chairId]);

  const span = useMemo(() => {
    let from = 24 * 60;
    let to = 0;
    for (const spans of Object.values(hours.data?.hours ?? {})) {
      for (const [a, b] of spans) {
        from = Math.min(from, minutesOf(a));
        to = Math.max(to, minutesOf(b));
      }
    }
    return from < to ? { from: Math.floor(from / 60) * 60, to: Math.ceil(to / 60) * 60 } : { from: 8 * 60, to: 21 * 60 };
  }, [hours.data]);

  const typeName = useCallback((code: string) => types.data?.find((x) => x.code === code)?.name ?? code, [types.data]);
  const providerName = (id: string) => providers.data?.find((p) => p.provider_id === id)?.name ?? "—";
  const chairName = (id: string) => chairs.data?.find((c) => c.operatory_id === id)?.name ?? "—";

  const conflict = useCallback(() => {
    setMessage({ tone: "error", text: t("calendar.conflict") });
    void changed();
  }, [changed, t]);

  const move = useCallback(
    (line: SheetLine, start: Date) => {
      setMessage(null);
      reschedule(line, start, zone).then(
        async () => {
          await changed();
          setMessage({ tone: "success", text: t("calendar.moved") });
        },
        (error: unknown) => {
          if (isProblem(error) && error.isConflict) conflict();
          else {
            setMessage({ tone: "error", text: describe(t, error) });
            void changed();
          }
        },
      );
    },
    [zone, changed, conflict, t],
  );
  const onOpen = useCallback((line: SheetLine) => setOpen(line), []);
  const onSlot = useCallback((s: Slot) => setSlot(s), []);

  if (hours.isPending || providers.isPending || chairs.isPending || types.isPending) return <Loading />;
  const failed = [hours, providers, chairs, types].find((q) => q.isError);
  if (failed) return <ErrorNote error={failed.error} retry={() => void failed.refetch()} />;
  if (!providers.data?.length || !chairs.data?.length) return <Empty>{t("calendar.notSetUp")}</Empty>;
  const loading = sheets.pending;
  const sheetError = sheets.error;
  const step = view === "day" ? 1 : 7;

  return (
    <section className="calendar">
      <div className="page-head">
        <h1>{t("calendar.title")}</h1>
        {bookingFor && (
          <p className="booking-for">
            {t("calendar.bookingFor")} <PatientLabel name={bookingFor.name} alerts={bookingFor.alerts} />{" "}
            <button type="button" className="small" onClick={() => set({ patient: null })}>
              {t("action.clear")}
            </button>
          </p>
        )}
      </div>
      <div className="toolbar" role="toolbar" aria-label={t("calendar.toolbar")}>
        <div className="segmented" role="group" aria-label={t("calendar.view")}>
          {(["day", "week"] as const).map((v) => (
            <button key={v} type="button" aria-pressed={view === v} onClick={() => set({ view: v })}>
              {t(`calendar.${v}`)}
            </button>
          ))}
        </div>
        <div className="segmented" role="group" aria-label={t("calendar.by")}>
          {(["provider", "chair"] as const).map((b) => (
            <button key={b} type="button" aria-pressed={by === b} onClick={() => set({ by: b })}>
              {t(`calendar.by_${b}`)}
            </button>
          ))}
        </div>
        <label>
          {t("appointment.provider")}{" "}
          <select name="provider" value={providerId ?? ""} onChange={(e) => set({ provider: e.target.value })}>
            {providers.data.map((p) => (
              <option key={p.provider_id} value={p.provider_id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("appointment.chair")}{" "}
          <select name="chair" value={chairId ?? ""} onChange={(e) => set({ chair: e.target.value })}>
            {chairs.data.map((c) => (
              <option key={c.operatory_id} value={c.operatory_id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("appointment.type")}{" "}
          <select name="type" value={typeCode ?? ""} onChange={(e) => set({ type: e.target.value })}>
            {(types.data ?? []).map((x) => (
              <option key={x.code} value={x.code}>
                {x.name} ({x.minutes} min)
              </option>
            ))}
          </select>
        </label>
        <div className="date-nav">
          <button type="button" onClick={() => set({ date: addDays(date, -step) })} aria-label={t(`calendar.previous_${view}`)}>
            ‹
          </button>
          <button type="button" onClick={() => set({ date: today(zone) })}>
            {t("calendar.today")}
          </button>
          <button type="button" onClick={() => set({ date: addDays(date, step) })} aria-label={t(`calendar.next_${view}`)}>
            ›
          </button>
          <label>
            <span className="visually-hidden">{t("calendar.date")}</span>
            <input type="date" name="date" value={date} onChange={(e) => e.target.value && set({ date: e.target.value })} />
          </label>
        </div>
      </div>
      <h2 className="range" aria-live="polite">
        {view === "day"
          ? formatDay(date, zone, i18n.language)
          : `${formatDay(days[0] ?? date, zone, i18n.language, "short")} – ${formatDay(days[6] ?? date, zone, i18n.language, "short")}`}
        {" · "}
        {by === "provider" ? providerName(providerId ?? "") : chairName(chairId ?? "")}
        <span className="zone"> ({zone})</span>
      </h2>
      {message && <Notice tone={message.tone}>{message.text}</Notice>}
      {sheetError ? <ErrorNote error={sheetError} /> : null}
      {slots.isError && <ErrorNote error={slots.error} />}
      <div className="calendar-scroll" aria-busy={loading}>
        {loading ? (
          <Loading />
        ) : (
          <CalendarGrid
            days={days}
            zone={zone}
            from={span.from}
            to={span.to}
            lines={lines}
            slots={slots.data ?? NO_SLOTS}
            canBook={canBook}
            canMove={may(ACTIONS.appointmentsWrite)}
            typeName={typeName}
            onSlot={onSlot}
            onOpen={onOpen}
            onMove={move}
          />
        )}
        {!loading && lines.length === 0 && (slots.data?.length ?? 0) === 0 && <Empty>{t("calendar.empty")}</Empty>}
      </div>
      {slot && providerId && chairId && typeCode && (
        <BookDialog
          slot={slot}
          zone={zone}
          provider={{ id: providerId, name: providerName(providerId) }}
          chair={{ id: chairId, name: chairName(chairId) }}
          type={{ code: typeCode, name: typeName(typeCode) }}
          patient={bookingFor}
          onClose={() => setSlot(null)}
          onStale={() => void changed()}
          onDone={() => {
            setSlot(null);
            setMessage({ tone: "success", text: t("booking.done") });
            void changed();
          }}
        />
      )}
      {open && (
        <AppointmentDialog
          line={open}
          zone={zone}
          typeName={typeName(open.appointment_type)}
          providerName={providerName(open.provider_id)}
          chairName={chairName(open.operatory_id)}
          onClose={() => setOpen(null)}
          onConflict={() => {
            setOpen(null);
            conflict();
          }}
          onChanged={(text) => {
            setOpen(null);
            setMessage({ tone: "success", text });
            void changed();
          }}
        />
      )}
    </section>
  );
}
