/** The shapes of the read models the API returns as free-form documents (typed here once). */

export type Role = "admin" | "dentist" | "hygienist" | "receptionist" | "inventory" | "auditor";
export const ROLES: readonly Role[] = [
  "admin",
  "dentist",
  "hygienist",
  "receptionist",
  "inventory",
  "auditor",
];
export type Weekday =
  | "monday"
  | "tuesday"
  | "wednesday"
  | "thursday"
  | "friday"
  | "saturday"
  | "sunday";
export const WEEKDAYS: readonly Weekday[] = [
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
];
/** Per weekday, spans of local "HH:MM" times. */
export type Hours = Partial<Record<Weekday, [string, string][]>>;

export interface DirectoryEntry {
  patient_id: string;
  given_name: string;
  family_name: string;
  birth_date: string;
  sex: string;
  national_id: string | null;
  phone: string | null;
  email: string | null;
  alerts: Record<string, string>;
  active_alerts: number;
  version: number;
}

export interface Address {
  line1: string;
  line2?: string | null;
  city: string;
  postal_code: string;
  region?: string | null;
  country?: string;
}

export interface Consents {
  sms: boolean;
  email: boolean;
  whatsapp: boolean;
}

export interface Alert {
  alert_id: string;
  code: string;
  description: string;
  severity: "low" | "moderate" | "high";
  raised_at?: string;
}

export interface HistoryEntry {
  entry_id: string;
  kind: "allergy" | "medication" | "condition";
  description: string;
  severity: "low" | "moderate" | "high" | null;
  started_on: string | null;
  notes: string | null;
  ended_on: string | null;
  active: boolean;
}

export interface Chart {
  id: string;
  patient_id: string;
  version: number;
  demographics: {
    given_name: string;
    family_name: string;
    birth_date: string;
    sex: "female" | "male" | "other" | "unknown";
    national_id: string | null;
  };
  contact: {
    phone: string | null;
    email: string | null;
    address: Address | null;
    language: "es" | "en";
    consents: Consents;
  };
  medical_history?: HistoryEntry[];
  alerts: Alert[];
}

export type AppointmentStatus =
  | "booked"
  | "confirmed"
  | "checked_in"
  | "completed"
  | "cancelled"
  | "no_show";

export interface Appointment {
  appointment_id: string;
  patient_id: string;
  provider_id: string;
  operatory_id: string;
  start: string;
  end: string;
  start_local: string;
  end_local: string;
  appointment_type: string;
  notes: string | null;
  status: AppointmentStatus;
  version: number;
}

/** A day-sheet line: an appointment with its patient's name and alert codes. */
export interface SheetLine extends Appointment {
  patient_name: string | null;
  alerts: string[];
}

export interface Provider {
  provider_id: string;
  staff_id: string;
  name: string;
  kind: "dentist" | "hygienist";
  working_hours: Hours;
  absences: { absence_id: string; start: string; end: string; reason: string }[];
}

export interface Chair {
  operatory_id: string;
  name: string;
}

export interface AppointmentType {
  code: string;
  name: string;
  minutes: number;
}

export interface Closure {
  closure_id: string;
  first_day: string;
  last_day: string;
  reason: string;
}

export interface Slot {
  start: string;
  end: string;
}

export interface WaitlistEntry {
  entry_id: string;
  patient_id: string;
  appointment_type: string;
  provider_id: string | null;
  weekdays: Weekday[];
  earliest: string;
  latest: string;
  until: string | null;
  note: string | null;
  since: string;
}

export interface WaitlistMatch {
  slot: Slot & { provider_id: string; operatory_id: string; freed_by: string };
  candidates: WaitlistEntry[];
}

export interface StaffMember {
  staff_id: string;
  name: string;
  email: string;
  roles: Role[];
  active: boolean;
  two_factor: boolean;
}
