/** Dates, times and money shown in the clinic's zone and the user's locale. */
import { instantAt } from "./zone";

const cache = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, zone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${zone}|${JSON.stringify(options)}`;
  let found = cache.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat(locale, { ...options, timeZone: zone });
    cache.set(key, found);
  }
  return found;
}

const LOCALES: Record<string, string> = { es: "es-ES", en: "en-GB" };

export function localeOf(language: string): string {
  return LOCALES[language] ?? language;
}

export function formatTime(instant: Date | string, zone: string, language: string): string {
  return formatter(localeOf(language), zone, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
    new Date(instant),
  );
}

export function formatDateTime(instant: Date | string, zone: string, language: string): string {
  return formatter(localeOf(language), zone, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(instant));
}

/** A calendar day ("2027-03-28"), named in the user's language; noon avoids any DST edge. */
export function formatDay(
  date: string,
  zone: string,
  language: string,
  style: "long" | "short" = "long",
): string {
  const options: Intl.DateTimeFormatOptions =
    style === "long"
      ? { weekday: "long", day: "numeric", month: "long", year: "numeric" }
      : { weekday: "short", day: "numeric", month: "short" };
  return formatter(localeOf(language), zone, options).format(instantAt(date, 12 * 60, zone));
}

/** A birth date or any date without a time: shown as written, in the user's locale. */
export function formatPlainDate(date: string, language: string): string {
  const options: Intl.DateTimeFormatOptions = { day: "numeric", month: "long", year: "numeric" };
  return formatter(localeOf(language), "UTC", options).format(instantAt(date, 12 * 60, "UTC"));
}

const money = new Map<string, Intl.NumberFormat>();

/** Euros, exact to the cent (amounts travel in cents). */
export function formatMoney(cents: number, language: string, currency = "EUR"): string {
  const key = `${language}|${currency}`;
  let found = money.get(key);
  if (!found) {
    found = new Intl.NumberFormat(localeOf(language), { style: "currency", currency });
    money.set(key, found);
  }
  return found.format(cents / 100);
}
