/** Reading and changing a patient's chart over the API. */
import { useQuery } from "@tanstack/react-query";
import { api, BREAK_GLASS_HEADER, ok } from "../api/client";
import type { components } from "../api/schema";
import type { PatientInput } from "./validation";

type Chart = components["schemas"]["ChartOut"];
type HistoryEntry = components["schemas"]["HistoryEntryOut"];

export function useChart(patientId: string) {
  return useQuery({
    queryKey: ["patients", "chart", patientId],
    queryFn: async ({ signal }) =>
      await ok(
        api.GET("/api/patients/{patient_id}", { params: { path: { patient_id: patientId } }, signal }),
      ),
    enabled: patientId !== "",
  });
}

/** The medical history, for a role that may read it only by giving an emergency reason. */
export async function historyInEmergency(patientId: string, reason: string): Promise<HistoryEntry[]> {
  const found = await ok(
    api.GET("/api/patients/{patient_id}/medical-history", {
      params: { path: { patient_id: patientId } },
      headers: { [BREAK_GLASS_HEADER]: reason },
    }),
  );
  return found.entries;
}

export function inputOf(chart: Chart): PatientInput {
  const d = chart.demographics;
  const c = chart.contact;
  return {
    given_name: d.given_name,
    family_name: d.family_name,
    birth_date: d.birth_date,
    sex: d.sex,
    national_id: d.national_id ?? "",
    phone: c.phone ?? "",
    email: c.email ?? "",
    line1: c.address?.line1 ?? "",
    line2: c.address?.line2 ?? "",
    city: c.address?.city ?? "",
    postal_code: c.address?.postal_code ?? "",
    language: c.language === "en" ? "en" : "es",
    consents: {
      sms: Boolean(c.consents?.sms),
      email: Boolean(c.consents?.email),
      whatsapp: Boolean(c.consents?.whatsapp),
    },
  };
}
