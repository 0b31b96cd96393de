/** The desk's form for a patient's demographics, contact details and consents. */
import type { FormEvent, ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Field } from "../ui/Field";
import type { PatientInput } from "./validation";

interface Props {
  value: PatientInput;
  onChange: (next: PatientInput) => void;
  errors: Record<string, string>;
  onSubmit: () => void;
  busy: boolean;
  submitLabel: string;
  children?: ReactNode;
}

export const CHANNELS = ["sms", "email", "whatsapp"] as const;

export function PatientForm({ value, onChange, errors, onSubmit, busy, submitLabel, children }: Props) {
  const { t } = useTranslation();
  const set = <K extends keyof PatientInput>(key: K, v: PatientInput[K]) => onChange({ ...value, [key]: v });
  const text = (key: keyof PatientInput, label: string, props: Record<string, unknown> = {}) => (
    <Field label={t(label)} error={errors[key]}>
      <input
        value={value[key] as string}
        onChange={(e) => set(key, e.target.value as never)}
        {...props}
      />
    </Field>
  );
  function submit(event: FormEvent) {
    event.preventDefault();
    onSubmit();
  }
  return (
    <form className="patient-form" onSubmit={submit} noValidate>
      <fieldset>
        <legend>{t("patient.demographics")}</legend>
        <div className="grid-2">
          {text("given_name", "patient.givenName", { autoComplete: "off", required: true })}
          {text("family_name", "patient.familyName", { autoComplete: "off", required: true })}
          {text("birth_date", "patient.birthDate", { type: "date", required: true })}
          <Field label={t("patient.sex")} error={errors.sex}>
            <select value={value.sex} onChange={(e) => set("sex", e.target.value as PatientInput["sex"])} required>
              <option value="">{t("form.choose")}</option>
              {(["female", "male", "other", "unknown"] as const).map((s) => (
                <option key={s} value={s}>
                  {t(`sex.${s}`)}
                </option>
              ))}
            </select>
          </Field>
          {text("national_id", "patient.nationalId", { autoComplete: "off" })}
        </div>
      </fieldset>
      <fieldset>
        <legend>{t("patient.contact")}</legend>
        <div className="grid-2">
          {text("phone", "patient.phone", { type: "tel", autoComplete: "off" })}
          {text("email", "patient.email", { type: "email", autoComplete: "off" })}
          {text("line1", "patient.line1", { autoComplete: "off" })}
          {text("line2", "patient.line2", { autoComplete: "off" })}
          {text("city", "patient.city", { autoComplete: "off" })}
          {text("postal_code", "patient.postalCode", { autoComplete: "off" })}
          <Field label={t("patient.language")}>
            <select value={value.language} onChange={(e) => set("language", e.target.value as "es" | "en")}>
              <option value="es">Español</option>
              <option value="en">English</option>
            </select>
          </Field>
        </div>
      </fieldset>
      <fieldset>
        <legend>{t("patient.consents")}</legend>
        {CHANNELS.map((channel) => (
          <label key={channel} className="check">
            <input
              type="checkbox"
              checked={value.consents[channel]}
              onChange={(e) => set("consents", { ...value.consents, [channel]: e.target.checked })}
            />{" "}
            {t(`channel.${channel}`)}
          </label>
        ))}
        {errors.consents && <small className="field-error">{errors.consents}</small>}
      </fieldset>
      {children}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? t("form.saving") : submitLabel}
      </button>
    </form>
  );
}
