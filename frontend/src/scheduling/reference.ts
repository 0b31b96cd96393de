/** The clinic's reference data: its zone and hours, chairs, providers, appointment types. */
import { useQuery } from "@tanstack/react-query";
import { api, ok } from "../api/client";
import { ACTIONS, useProfile } from "../auth/profile";

export const DEFAULT_ZONE = "Europe/Madrid";
const LONG = 5 * 60_000;

export function useClinicHours() {
  const { may } = useProfile();
  return useQuery({
    queryKey: ["clinic", "hours"],
    queryFn: async () => await ok(api.GET("/api/clinic/hours")),
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
    queryFn: async () => (await ok(api.GET("/api/providers"))).items,
    staleTime: LONG,
  });
}

export function useChairs() {
  return useQuery({
    queryKey: ["operatories"],
    queryFn: async () => (await ok(api.GET("/api/operatories"))).items,
    staleTime: LONG,
  });
}

export function useAppointmentTypes() {
  return useQuery({
    queryKey: ["appointment-types"],
    queryFn: async () => (await ok(api.GET("/api/appointment-types"))).items,
    staleTime: LONG,
  });
}

export function useClosures() {
  return useQuery({
    queryKey: ["closures"],
    queryFn: async () => (await ok(api.GET("/api/closures"))).items,
  });
}
