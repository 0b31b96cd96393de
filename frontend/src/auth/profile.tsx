/** Who is signed in and what their roles allow (`GET /api/auth/profile`, from the API's table). */
import { useQuery } from "@tanstack/react-query";
import { createContext, useContext, type ReactNode } from "react";
import { api, ok } from "../api/client";

export interface Profile {
  staff_id: string;
  name: string;
  roles: string[];
  second_factor_required: boolean;
  may: string[];
  break_glass: string[];
}

interface ProfileContext {
  profile: Profile;
  may: (action: string) => boolean;
  mayInEmergency: (action: string) => boolean;
}

const Context = createContext<ProfileContext | null>(null);

export function useProfileQuery(enabled: boolean) {
  return useQuery({
    queryKey: ["profile"],
    queryFn: () => ok(api.GET("/api/auth/profile")),
    enabled,
    staleTime: Infinity,
  });
}

export function ProfileProvider({ profile, children }: { profile: Profile; children: ReactNode }) {
  const value: ProfileContext = {
    profile,
    may: (action) => profile.may.includes(action),
    mayInEmergency: (action) => profile.break_glass.includes(action),
  };
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useProfile(): ProfileContext {
  const found = useContext(Context);
  if (!found) throw new Error("useProfile outside ProfileProvider");
  return found;
}

/** The actions of api/permissions.py that screens ask about. */
export const ACTIONS = {
  patientsRead: "patients:read",
  patientsWrite: "patients:write",
  clinicalRead: "clinical:read",
  clinicalWrite: "clinical:write",
  staffManage: "staff:manage",
  scheduleRead: "schedule:read",
  scheduleManage: "schedule:manage",
  appointmentsRead: "appointments:read",
  appointmentsWrite: "appointments:write",
} as const;
