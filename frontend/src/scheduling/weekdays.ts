/** The days of the week, Monday first, as the API names them. */
import type { components } from "../api/schema";

export type Weekday = components["schemas"]["Weekday"];

export const WEEKDAYS = [
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
] as const satisfies readonly Weekday[];

/** Per weekday, spans of local "HH:MM" times: the clinic's opening hours, a provider's. */
export type Hours = components["schemas"]["OpeningHoursOut"]["hours"];
