/** The clinic's reference data: its zone and hours, chairs, providers, appointment types. */
import { useQuery } from "@tanstack/react-query";
import { api, read } from "../api/client";
import type { AppointmentType, Chair, Closure, Hours, Provider } from "../api/types";
import { ACTIONS, useProfile } from "../auth/profile";

export const DEFAULT_ZONE = "Europe/Madrid";
const LONG = 5 * 60_000;

export function useClinicHours() {
  const { may } = useProfile();
  return useQuery({
    queryKey: ["clinic", "hours"],
    queryFn: async () => (await read(api.GET("/api/clinic/hours"))) as { zone: string; hours: Hours },
    enabled: may(ACTIONS.scheduleRead),
    staleTime: LONG,
    retry: false,
  });
}

/** The clinic's zone: every date and time on screen is shown in it. */
export function useZone(): string {
  return useClinicHours().data?.zone ?? DEFAULT_ZONE;
}

export function useProviders() {
  return useQuery({
    queryKey: ["providers"],
    queryFn: async () => ((await read(api.GET("/api/providers"))) as { items: Provider[] }).items,
    staleTime: LONG,
  });
}

export function useChairs() {
  return useQuery({
    queryKey: ["operatories"],
    queryFn: async () => ((await read(api.GET("/api/operatories"))) as { items: Chair[] }).items,
    staleTime: LONG,
  });
}

export function useAppointmentTypes() {
  return useQuery({
    queryKey: ["appointment-types"],
    queryFn: async () =>
      ((await read(api.GET("/api/appointment-types"))) as { items: AppointmentType[] }).items,
    staleTime: LONG,
  });
}

export function useClosures() {
  return useQuery({
    queryKey: ["closures"],
    queryFn: async () => ((await read(api.GET("/api/closures"))) as { items: Closure[] }).items,
  });
}
