/** Weekly hours, one line per weekday: "09:00-14:00, 16:00-20:00" (a split day), empty = closed. */
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { WEEKDAYS, type Hours, type Weekday } from "../scheduling/weekdays";
import { Field } from "../ui/Field";

const SPAN = /^([01]\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]\d|2[0-3]|24):([0-5]\d)$/;

export function hoursText(hours: Hours, day: Weekday): string {
  return (hours[day] ?? []).map(([a, b]) => `${a}-${b}`).join(", ");
}

/** The spans typed for a day, or null when one of them is not "HH:MM-HH:MM" in order. */
export function parseSpans(text: string): [string, string][] | null {
  const spans: [string, string][] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const match = SPAN.exec(part);
    if (!match) return null;
    const start = `${match[1]}:${match[2]}`;
    const end = `${match[3]}:${match[4]}`;
    if (end <= start) return null;
    spans.push([start, end]);
  }
  return spans;
}

interface Props {
  hours: Hours;
  busy: boolean;
  onSave: (hours: Hours) => void;
}

export function HoursEditor({ hours, busy, onSave }: Props) {
  const { t } = useTranslation();
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    Object.fromEntries(WEEKDAYS.map((d) => [d, hoursText(hours, d)])),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  function submit(event: FormEvent) {
    event.preventDefault();
    const next: Hours = {};
    const found: Record<string, string> = {};
    for (const day of WEEKDAYS) {
      const spans = parseSpans(texts[day] ?? "");
      if (spans === null) found[day] = t("hours.invalid");
      else if (spans.length) next[day] = spans;
    }
    setErrors(found);
    if (Object.keys(found).length === 0) onSave(next);
  }
  return (
    <form onSubmit={submit} className="hours-editor">
      <div className="grid-2">
        {WEEKDAYS.map((day) => (
          <Field key={day} label={t(`weekday.${day}`)} error={errors[day]}>
            <input
              value={texts[day] ?? ""}
              placeholder={t("hours.closed")}
              onChange={(e) => setTexts({ ...texts, [day]: e.target.value })}
            />
          </Field>
        ))}
      </div>
      <p className="hint">{t("hours.hint")}</p>
      <button type="submit" className="primary" disabled={busy}>
        {t("form.save")}
      </button>
    </form>
  );
}
