/**
 * The time grid of a day or a week in the clinic's zone: appointments placed by their local
 * time, free slots to click, appointments to drag (pointer, so tablets too) or move with the
 * keyboard (arrows, then Enter; Escape leaves them where they were).
 */
import { memo, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { useTranslation } from "react-i18next";
import type { components } from "../api/schema";
import { formatDay } from "../time/format";
import { clockTime, dayOf, instantAt, minuteOfDay } from "../time/zone";
import { AlertBadges } from "../ui/AlertBadges";

type SheetLine = components["schemas"]["SheetLineOut"];
type Slot = components["schemas"]["SlotOut"];

export const PX_PER_MINUTE = 1.4;
export const SNAP_MINUTES = 15;

export interface GridProps {
  days: string[];
  zone: string;
  from: number;
  to: number;
  lines: SheetLine[];
  slots: Slot[];
  canBook: boolean;
  canMove: boolean;
  typeName: (code: string) => string;
  onSlot: (slot: Slot) => void;
  onOpen: (line: SheetLine) => void;
  onMove: (line: SheetLine, start: Date) => void;
}

interface Placed<T> {
  item: T;
  day: string;
  minute: number;
  minutes: number;
}

interface Moving {
  line: SheetLine;
  day: string;
  minute: number;
  grab: number;
  /** Moved by the pointer far enough to be a drag, or by the arrow keys. */
  shown: boolean;
  keys: boolean;
  pointerX: number;
  pointerY: number;
}

function snap(minute: number): number {
  return Math.round(minute / SNAP_MINUTES) * SNAP_MINUTES;
}

function place<T extends { start: string; end: string }>(items: T[], zone: string): Placed<T>[] {
  return items.map((item) => {
    const start = new Date(item.start);
    return {
      item,
      day: dayOf(start, zone),
      minute: minuteOfDay(start, zone),
      minutes: Math.round((new Date(item.end).getTime() - start.getTime()) / 60_000),
    };
  });
}

function CalendarGridView(props: GridProps) {
  const { days, zone, from, to, canBook, canMove, typeName, onSlot, onOpen, onMove } = props;
  const { t, i18n } = useTranslation();
  const language = i18n.language;
  const columns = useRef(new Map<string, HTMLDivElement>());
  const [moving, setMoving] = useState<Moving | null>(null);
  const justDragged = useRef(false);
  const lines = useMemo(() => place(props.lines, zone), [props.lines, zone]);
  const slots = useMemo(() => place(props.slots, zone), [props.slots, zone]);
  const hours = useMemo(() => {
    const found: number[] = [];
    for (let m = Math.ceil(from / 60) * 60; m < to; m += 60) found.push(m);
    return found;
  }, [from, to]);
  const height = (to - from) * PX_PER_MINUTE;
  const top = (minute: number) => (minute - from) * PX_PER_MINUTE;
  // The wall clock of the clinic, written as Spain writes it; Intl is too slow for 300 blocks.
  const clock = (_day: string, minute: number) => clockTime(minute);

  function target(clientX: number, clientY: number, grab: number): { day: string; minute: number } | null {
    for (const [day, column] of columns.current) {
      const rect = column.getBoundingClientRect();
      if (clientX >= rect.left && clientX < rect.right) {
        const minute = snap(from + (clientY - rect.top) / PX_PER_MINUTE - grab);
        return { day, minute: Math.max(from, Math.min(to - SNAP_MINUTES, minute)) };
      }
    }
    return null;
  }

  function pointerDown(event: PointerEvent<HTMLButtonElement>, placed: Placed<SheetLine>) {
    if (!canMove || event.button !== 0) return;
    const column = columns.current.get(placed.day);
    if (!column) return;
    const rect = column.getBoundingClientRect();
    const grab = (event.clientY - rect.top) / PX_PER_MINUTE + from - placed.minute;
    event.currentTarget.setPointerCapture(event.pointerId);
    setMoving({
      line: placed.item,
      day: placed.day,
      minute: placed.minute,
      grab,
      shown: false,
      keys: false,
      pointerX: event.clientX,
      pointerY: event.clientY,
    });
  }

  function pointerMove(event: PointerEvent<HTMLButtonElement>) {
    if (!moving) return;
    const far = Math.abs(event.clientX - moving.pointerX) + Math.abs(event.clientY - moving.pointerY) > 6;
    if (!moving.shown && !far) return;
    const found = target(event.clientX, event.clientY, moving.grab);
    if (found) setMoving({ ...moving, ...found, shown: true });
  }

  function pointerUp(placed: Placed<SheetLine>) {
    if (!moving || moving.keys) return;
    const { shown, day, minute } = moving;
    setMoving(null);
    if (!shown) return;
    justDragged.current = true;
    if (day !== placed.day || minute !== placed.minute) onMove(placed.item, instantAt(day, minute, zone));
  }

  function keyDown(event: KeyboardEvent<HTMLButtonElement>, placed: Placed<SheetLine>) {
    if (!canMove) return;
    const current = moving && moving.line === placed.item && moving.keys ? moving : null;
    const base: Moving = current ?? {
      line: placed.item,
      day: placed.day,
      minute: placed.minute,
      grab: 0,
      shown: true,
      keys: true,
      pointerX: 0,
      pointerY: 0,
    };
    const dayIndex = days.indexOf(base.day);
    let next: Moving | null = null;
    if (event.key === "ArrowUp") next = { ...base, minute: Math.max(from, base.minute - SNAP_MINUTES) };
    else if (event.key === "ArrowDown") next = { ...base, minute: Math.min(to - SNAP_MINUTES, base.minute + SNAP_MINUTES) };
    else if (event.key === "ArrowLeft" && dayIndex > 0) next = { ...base, day: days[dayIndex - 1] ?? base.day };
    else if (event.key === "ArrowRight" && dayIndex < days.length - 1) next = { ...base, day: days[dayIndex + 1] ?? base.day };
    else if (event.key === "Escape" && current) {
      event.preventDefault();
      event.stopPropagation();
      setMoving(null);
      return;
    } else if (event.key === "Enter" && current) {
      event.preventDefault();
      setMoving(null);
      if (current.day !== placed.day || current.minute !== placed.minute) {
        onMove(placed.item, instantAt(current.day, current.minute, zone));
      }
      return;
    }
    if (next) {
      event.preventDefault();
      setMoving(next);
    }
  }

  return (
    <div className="calendar-grid" style={{ gridTemplateColumns: `4rem repeat(${days.length}, minmax(8rem, 1fr))` }}>
      <div className="corner" aria-hidden="true" />
      {days.map((day) => (
        <div key={day} className="day-head" data-day={day}>
          {formatDay(day, zone, language, days.length > 1 ? "short" : "long")}
        </div>
      ))}
      <div className="gutter" style={{ height }} aria-hidden="true">
        {hours.map((m) => (
          <span key={m} className="hour" style={{ top: top(m) }}>
            {String(Math.floor(m / 60)).padStart(2, "0")}:00
          </span>
        ))}
      </div>
      {days.map((day) => (
        <div
          key={day}
          className="day-column"
          data-day={day}
          style={{ height, backgroundSize: `100% ${60 * PX_PER_MINUTE}px`, backgroundPositionY: top(Math.ceil(from / 60) * 60) }}
          ref={(node) => {
            if (node) columns.current.set(day, node);
            else columns.current.delete(day);
          }}
          role="group"
          aria-label={formatDay(day, zone, language)}
        >
          {canBook &&
            slots
              .filter((s) => s.day === day && s.minute >= from && s.minute < to)
              .map((s) => (
                <button
                  key={s.item.start}
                  type="button"
                  className="free-slot"
                  data-start={s.item.start}
                  style={{ top: top(s.minute), height: SNAP_MINUTES * PX_PER_MINUTE }}
                  onClick={() => onSlot(s.item)}
                  aria-label={t("calendar.freeSlot", { time: clock(day, s.minute) })}
                >
                  {clock(day, s.minute)}
                </button>
              ))}
          {lines
            .filter((l) => l.day === day)
            .map((l) => {
              const line = l.item;
              const label = `${clock(day, l.minute)}–${clock(day, l.minute + l.minutes)}`;
              return (
                <button
                  key={line.appointment_id}
                  type="button"
                  className={`appointment status-${line.status}${moving?.line === line ? " is-moving" : ""}`}
                  data-appointment-id={line.appointment_id}
                  data-start={line.start}
                  style={{ top: top(l.minute), height: Math.max(l.minutes * PX_PER_MINUTE, 18) }}
                  onPointerDown={(e) => pointerDown(e, l)}
                  onPointerMove={pointerMove}
                  onPointerUp={() => pointerUp(l)}
                  onPointerCancel={() => setMoving(null)}
                  onKeyDown={(e) => keyDown(e, l)}
                  onClick={() => {
                    if (justDragged.current) {
                      justDragged.current = false;
                      return;
                    }
                    if (!moving?.keys) onOpen(line);
                  }}
                  aria-describedby={canMove ? "move-help" : undefined}
                >
                  <span className="time">{label}</span>
                  <span className="who">
                    {line.patient_name ?? "—"} <AlertBadges codes={line.alerts} />
                  </span>
                  <span className="what">
                    {typeName(line.appointment_type)}
                    <span className="visually-hidden">, {t(`status.${line.status}`)}</span>
                  </span>
                </button>
              );
            })}
          {moving && moving.day === day && moving.shown && (
            <div
              className="move-ghost"
              aria-hidden="true"
              style={{
                top: top(moving.minute),
                height:
                  ((new Date(moving.line.end).getTime() - new Date(moving.line.start).getTime()) / 60_000) *
                  PX_PER_MINUTE,
              }}
            >
              {clock(day, moving.minute)}
            </div>
          )}
        </div>
      ))}
      <p id="move-help" className="visually-hidden">
        {t("calendar.moveHelp")}
      </p>
      <p className="visually-hidden" role="status" aria-live="polite">
        {moving && moving.shown
          ? t("calendar.movingTo", { when: `${formatDay(moving.day, zone, language, "short")} ${clock(moving.day, moving.minute)}` })
          : ""}
      </p>
    </div>
  );
}

export const CalendarGrid = memo(CalendarGridView);
