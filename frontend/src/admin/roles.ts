/** The roles staff can hold, as the API names them, in the order the admin screens list them. */
import type { components } from "../api/schema";

export type Role = components["schemas"]["Role"];

export const ROLES = [
  "admin",
  "dentist",
  "hygienist",
  "receptionist",
  "inventory",
  "auditor",
] as const satisfies readonly Role[];
