/**
 * Wall-clock arithmetic in the clinic's zone, whatever zone the browser is in. Dates are
 * "YYYY-MM-DD" strings (a day on the clinic's calendar); instants are Date objects.
 */

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(zone: string): Intl.DateTimeFormat {
  let found = partsFormatters.get(zone);
  if (!found) {
    found = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partsFormatters.set(zone, found);
  }
  return found;
}

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function askIntl(instant: Date, zone: string): WallClock {
  const values: Record<string, number> = {};
  for (const part of partsFormatter(zone).formatToParts(instant)) {
    if (part.type !== "literal") values[part.type] = Number(part.value);
  }
  return {
    year: values.year ?? 0,
    month: values.month ?? 0,
    day: values.day ?? 0,
    hour: (values.hour ?? 0) % 24,
    minute: values.minute ?? 0,
    second: values.second ?? 0,
  };
}

function exactOffset(ms: number, zone: string): number {
  const w = askIntl(new Date(ms), zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

const HOUR = 3_600_000;
const offsets = new Map<string, number | null>();

/** Minutes the zone is ahead of UTC at this instant (Madrid: 60 in winter, 120 in summer).
 * Asked of Intl once per zone and hour: an hour whose two ends agree has no change inside
 * it (clocks change at most once in any hour), so every instant in it has that offset. */
export function offsetMinutes(instant: Date, zone: string): number {
  const ms = instant.getTime();
  const bucket = Math.floor(ms / HOUR);
  const key = `${zone}|${bucket}`;
  let found = offsets.get(key);
  if (found === undefined) {
    const start = exactOffset(bucket * HOUR, zone);
    found = start === exactOffset(bucket * HOUR + HOUR - 1, zone) ? start : null;
    if (offsets.size > 20_000) offsets.clear();
    offsets.set(key, found);
  }
  return found ?? exactOffset(ms, zone);
}

export function wallClock(instant: Date, zone: string): WallClock {
  const local = new Date(instant.getTime() + offsetMinutes(instant, zone) * 60_000);
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
  };
}

/** "HH:MM" for minutes past midnight: how Spain (and en-GB) write the time of day. */
export function clockTime(minutes: number): string {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

export function isoDate(year: number, month: number, day: number): string {
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

function dateParts(date: string): [number, number, number] {
  const [y, m, d] = date.split("-").map(Number);
  return [y ?? 1970, m ?? 1, d ?? 1];
}

/** The instant at which the clinic's clock shows `minutes` past midnight on `date`. */
export function instantAt(date: string, minutes: number, zone: string): Date {
  const [y, m, d] = dateParts(date);
  const naive = Date.UTC(y, m - 1, d, 0, minutes);
  let guess = naive - offsetMinutes(new Date(naive), zone) * 60_000;
  // A second pass settles instants near a change of offset (DST).
  guess = naive - offsetMinutes(new Date(guess), zone) * 60_000;
  return new Date(guess);
}

/** The clinic's calendar day of an instant. */
export function dayOf(instant: Date, zone: string): string {
  const w = wallClock(instant, zone);
  return isoDate(w.year, w.month, w.day);
}

/** Minutes past the clinic's midnight. */
export function minuteOfDay(instant: Date, zone: string): number {
  const w = wallClock(instant, zone);
  return w.hour * 60 + w.minute;
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = dateParts(date);
  const next = new Date(Date.UTC(y, m - 1, d + days));
  return isoDate(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate());
}

/** 0 is Monday, as the clinic's week starts. */
export function weekdayIndex(date: string): number {
  const [y, m, d] = dateParts(date);
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
}

export function mondayOf(date: string): string {
  return addDays(date, -weekdayIndex(date));
}

export function today(zone: string, now: Date = new Date()): string {
  return dayOf(now, zone);
}

/** "HH:MM" → minutes past midnight. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** An ISO 8601 instant with the clinic's offset, as the API likes it ("…T10:00:00+02:00"). */
export function isoInZone(instant: Date, zone: string): string {
  const w = wallClock(instant, zone);
  const offset = offsetMinutes(instant, zone);
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `${isoDate(w.year, w.month, w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
