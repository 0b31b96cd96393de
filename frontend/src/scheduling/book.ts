/** The appointment book over the API: day sheets, free slots and every change to a booking. */
import { useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { api, ok } from "../api/client";
import type { components } from "../api/schema";
import { addDays, instantAt, isoInZone } from "../time/zone";

/** A day-sheet line: an appointment with its patient's name and alert codes. */
export type SheetLine = components["schemas"]["SheetLineOut"];

export interface Sheets {
  lines: SheetLine[][];
  pending: boolean;
  error: unknown;
}

/** The day sheets of these days; `lines` keeps its identity while the data is unchanged
 * (background refetches do not re-render a 300-appointment week). */
export function useDaySheets(days: string[], provider: string | null): Sheets {
  return useQueries({
    queries: days.map((day) => ({
      queryKey: ["book", "day-sheet", day, provider ?? "all"],
      queryFn: async ({ signal }: { signal: AbortSignal }) =>
        (
          await ok(
            api.GET("/api/day-sheet", {
              params: { query: { day, ...(provider ? { provider } : {}) } },
              signal,
            }),
          )
        ).items,
    })),
    combine: (results) => ({
      lines: results.map((r) => r.data ?? NO_LINES),
      pending: results.some((r) => r.isPending),
      error: results.find((r) => r.isError)?.error ?? null,
    }),
  });
}

const NO_LINES: SheetLine[] = [];

export interface SlotQuery {
  provider: string;
  chair: string;
  type: string;
  days: string[];
  zone: string;
}

export function useFreeSlots(q: SlotQuery | null) {
  return useQuery({
    queryKey: ["book", "availability", q?.provider, q?.chair, q?.type, q?.days[0], q?.days.length, q?.zone],
    enabled: q !== null,
    queryFn: async ({ signal }) => {
      if (!q) return [];
      const first = q.days[0] ?? "";
      const last = q.days[q.days.length - 1] ?? first;
      const found = await ok(
        api.GET("/api/availability", {
          params: {
            query: {
              provider: q.provider,
              operatory: q.chair,
              type: q.type,
              from: isoInZone(instantAt(first, 0, q.zone), q.zone),
              to: isoInZone(instantAt(addDays(last, 1), 0, q.zone), q.zone),
            },
          },
          signal,
        }),
      );
      const now = Date.now();
      return found.slots.filter((s) => new Date(s.start).getTime() > now);
    },
  });
}

export function useBookChanged() {
  const client = useQueryClient();
  return useCallback(
    () =>
      client
        .invalidateQueries({ queryKey: ["book"] })
        .then(() => client.invalidateQueries({ queryKey: ["appointments"] })),
    [client],
  );
}

export interface Booking {
  patient_id: string;
  provider_id: string;
  operatory_id: string;
  start: string;
  appointment_type: string;
  notes?: string | null;
}

export function book(booking: Booking) {
  return ok(api.POST("/api/appointments", { body: booking }));
}

/** Moves an appointment; `version` is the one the desk saw (If-Match), so a stale move fails. */
export function reschedule(line: SheetLine, start: Date, zone: string) {
  const minutes = Math.round((new Date(line.end).getTime() - new Date(line.start).getTime()) / 60_000);
  return ok(
    api.PUT("/api/appointments/{appointment_id}", {
      params: { path: { appointment_id: line.appointment_id }, header: { "If-Match": `"${line.version}"` } },
      body: { start: isoInZone(start, zone), duration_minutes: minutes },
    }),
  );
}

export type Step = "confirm" | "check-in" | "complete" | "no-show";

export function advance(line: SheetLine, step: Step) {
  const options = {
    params: { path: { appointment_id: line.appointment_id } },
    headers: { "If-Match": `"${line.version}"` },
  };
  switch (step) {
    case "confirm":
      return ok(api.POST("/api/appointments/{appointment_id}/confirm", options));
    case "check-in":
      return ok(api.POST("/api/appointments/{appointment_id}/check-in", options));
    case "complete":
      return ok(api.POST("/api/appointments/{appointment_id}/complete", options));
    case "no-show":
      return ok(api.POST("/api/appointments/{appointment_id}/no-show", options));
  }
}

export function cancel(line: SheetLine, reason: string, byPatient: boolean) {
  return ok(
    api.DELETE("/api/appointments/{appointment_id}", {
      params: { path: { appointment_id: line.appointment_id }, query: { reason, by_patient: byPatient } },
      headers: { "If-Match": `"${line.version}"` },
    }),
  );
}

/** What the desk may do next with an appointment in this status; a patient checks in only
 * on the appointment's own day (the API refuses any other). */
export function nextSteps(status: SheetLine["status"], onTheDay: boolean): (Step | "cancel")[] {
  const arrival: Step[] = onTheDay ? ["check-in"] : [];
  switch (status) {
    case "booked":
      return ["confirm", ...arrival, "no-show", "cancel"];
    case "confirmed":
      return [...arrival, "no-show", "cancel"];
    case "checked_in":
      return ["complete"];
    default:
      return [];
  }
}
