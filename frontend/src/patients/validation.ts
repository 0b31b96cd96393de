/** The checks the API makes on a patient's details, made as the desk types (same rules). */

export interface PatientInput {
  given_name: string;
  family_name: string;
  birth_date: string;
  sex: "female" | "male" | "other" | "unknown" | "";
  national_id: string;
  phone: string;
  email: string;
  line1: string;
  line2: string;
  city: string;
  postal_code: string;
  language: "es" | "en";
  consents: { sms: boolean; email: boolean; whatsapp: boolean };
}

export const EMPTY_PATIENT: PatientInput = {
  given_name: "",
  family_name: "",
  birth_date: "",
  sex: "",
  national_id: "",
  phone: "",
  email: "",
  line1: "",
  line2: "",
  city: "",
  postal_code: "",
  language: "es",
  consents: { sms: false, email: false, whatsapp: false },
};

const CONTROL_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE";
const OLDEST_AGE_YEARS = 130;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** A DNI (8 digits and a letter) or an NIE (X/Y/Z, 7 digits, a letter), control letter checked. */
export function nationalIdProblem(value: string): string | null {
  const text = value.replace(/[\s-]/g, "").toUpperCase();
  if (!text) return null;
  let number: number;
  let letter: string;
  const dni = /^(\d{8})([A-Z])$/.exec(text);
  const nie = /^([XYZ])(\d{7})([A-Z])$/.exec(text);
  if (dni) {
    number = Number(dni[1]);
    letter = dni[2] ?? "";
  } else if (nie) {
    number = Number(`${"XYZ".indexOf(nie[1] ?? "X")}${nie[2]}`);
    letter = nie[3] ?? "";
  } else {
    return "rule.national_id_format";
  }
  return CONTROL_LETTERS[number % 23] === letter ? null : "rule.national_id_letter";
}

export function phoneProblem(value: string): string | null {
  const text = value.replace(/[\s().-]/g, "");
  if (!text) return null;
  if (!/^\+?\d{6,15}$/.test(text)) return "rule.phone";
  const national = text.startsWith("+34") ? text.slice(3) : text.startsWith("+") ? null : text;
  if (national !== null && !/^[6789]\d{8}$/.test(national)) return "rule.phone";
  return null;
}

export function birthDateProblem(value: string, todayIso: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return "field.missing";
  if (value > todayIso) return "rule.birth_date_future";
  const [y, m, d] = todayIso.split("-");
  if (value < `${Number(y) - OLDEST_AGE_YEARS}-${m}-${d}`) return "rule.birth_date_old";
  return null;
}

/** Field name → translation key of what is wrong; empty when the API would accept it. */
export function patientProblems(input: PatientInput, todayIso: string): Record<string, string> {
  const found: Record<string, string> = {};
  const need = (name: keyof PatientInput, value: string, max: number) => {
    if (!value.trim()) found[name] = "field.missing";
    else if (value.trim().length > max) found[name] = "field.string_too_long";
  };
  need("given_name", input.given_name, 100);
  need("family_name", input.family_name, 100);
  const birth = birthDateProblem(input.birth_date, todayIso);
  if (birth) found.birth_date = birth;
  if (!input.sex) found.sex = "field.missing";
  const id = nationalIdProblem(input.national_id);
  if (id) found.national_id = id;
  const phone = phoneProblem(input.phone);
  if (phone) found.phone = phone;
  if (input.email.trim() && !EMAIL.test(input.email.trim())) found.email = "rule.email";
  const anyAddress = [input.line1, input.city, input.postal_code].some((v) => v.trim());
  if (anyAddress) {
    if (!input.line1.trim()) found.line1 = "field.missing";
    if (!input.city.trim()) found.city = "field.missing";
    if (!input.postal_code.trim()) found.postal_code = "field.missing";
  }
  return found;
}

/** The body of POST /api/patients and PUT /api/patients/{id}. */
export function patientBody(input: PatientInput) {
  const blank = (v: string) => (v.trim() ? v.trim() : null);
  const address = input.line1.trim()
    ? {
        line1: input.line1.trim(),
        line2: blank(input.line2),
        city: input.city.trim(),
        postal_code: input.postal_code.trim(),
        country: "ES",
      }
    : null;
  return {
    given_name: input.given_name.trim(),
    family_name: input.family_name.trim(),
    birth_date: input.birth_date,
    sex: (input.sex || "unknown") as "female" | "male" | "other" | "unknown",
    national_id: blank(input.national_id),
    phone: blank(input.phone),
    email: blank(input.email),
    address,
    language: input.language,
    consents: input.consents,
  };
}

/** API field paths (errors[].location) → the form's field names. */
export function formField(apiPath: string): string {
  const last = apiPath.split(".").pop() ?? apiPath;
  if (apiPath.startsWith("address")) return last === "address" ? "line1" : last;
  if (apiPath.startsWith("consents")) return "consents";
  return last;
}
