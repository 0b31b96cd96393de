/** A patient's medical alerts, shown wherever the patient's name appears. */
import { useTranslation } from "react-i18next";

export function AlertBadges({ codes }: { codes: string[] }) {
  const { t } = useTranslation();
  if (codes.length === 0) return null;
  return (
    <span className="alerts">
      <span className="visually-hidden">{t("alerts.prefix")}</span>
      {codes.map((code) => (
        <span key={code} className="alert-badge" title={t(`alertCode.${code}`, { defaultValue: code })}>
          <span aria-hidden="true">⚠ </span>
          {t(`alertCode.${code}`, { defaultValue: code })}
        </span>
      ))}
    </span>
  );
}

export function PatientLabel({ name, alerts }: { name: string; alerts: string[] }) {
  return (
    <span className="patient-label">
      <span className="patient-name">{name}</span> <AlertBadges codes={alerts} />
    </span>
  );
}
