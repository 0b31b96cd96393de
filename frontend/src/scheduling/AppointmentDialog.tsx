/** One appointment: who, when, what; confirm, check in, complete, no-show or cancel it. */
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { describe } from "../api/problems";
import type { components } from "../api/schema";
import { ACTIONS, useProfile } from "../auth/profile";
import { formatDateTime, formatTime } from "../time/format";
import { today } from "../time/zone";
import { PatientLabel } from "../ui/AlertBadges";
import { Dialog } from "../ui/Dialog";
import { Field } from "../ui/Field";
import { Notice } from "../ui/states";
import { advance, cancel, nextSteps, type Step } from "./book";

type SheetLine = components["schemas"]["SheetLineOut"];

interface Props {
  line: SheetLine;
  zone: string;
  typeName: string;
  providerName: string;
  chairName: string;
  onChanged: (message: string) => void;
  onConflict: () => void;
  onClose: () => void;
}

export function AppointmentDialog({ line, zone, typeName, providerName, chairName, onChanged, onConflict, onClose }: Props) {
  const { t, i18n } = useTranslation();
  const { may } = useProfile();
  const [reason, setReason] = useState("");
  const [byPatient, setByPatient] = useState(true);
  const [cancelling, setCancelling] = useState(false);
  const change = useMutation({
    mutationFn: (step: Step | "cancel") => (step === "cancel" ? cancel(line, reason.trim(), byPatient) : advance(line, step)),
    onSuccess: (_, step) => onChanged(t(`appointment.done.${step}`)),
    onError: (error) => {
      if (error && (error as { isConflict?: boolean }).isConflict) onConflict();
    },
  });
  const onTheDay = today(zone, new Date(line.start)) === today(zone);
  const steps = may(ACTIONS.appointmentsWrite) ? nextSteps(line.status, onTheDay) : [];
  return (
    <Dialog title={t("appointment.title")} onClose={onClose}>
      <p>
        <strong>
          {formatDateTime(line.start, zone, i18n.language)}–{formatTime(line.end, zone, i18n.language)}
        </strong>
      </p>
      <p>
        <Link to={`/patients/${line.patient_id}`}>
          <PatientLabel name={line.patient_name ?? "—"} alerts={line.alerts} />
        </Link>
      </p>
      <dl className="details">
        <div>
          <dt>{t("appointment.type")}</dt>
          <dd>{typeName}</dd>
        </div>
        <div>
          <dt>{t("appointment.provider")}</dt>
          <dd>{providerName}</dd>
        </div>
        <div>
          <dt>{t("appointment.chair")}</dt>
          <dd>{chairName}</dd>
        </div>
        <div>
          <dt>{t("appointment.status")}</dt>
          <dd>{t(`status.${line.status}`)}</dd>
        </div>
        {line.notes && (
          <div>
            <dt>{t("booking.notes")}</dt>
            <dd>{line.notes}</dd>
          </div>
        )}
      </dl>
      {change.isError && <Notice tone="error">{describe(t, change.error)}</Notice>}
      {cancelling ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            change.mutate("cancel");
          }}
        >
          <Field label={t("appointment.cancelReason")}>
            <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
          </Field>
          <label className="check">
            <input type="checkbox" checked={byPatient} onChange={(e) => setByPatient(e.target.checked)} />{" "}
            {t("appointment.byPatient")}
          </label>
          <div className="actions">
            <button type="submit" className="danger" disabled={change.isPending}>
              {t("appointment.step.cancel")}
            </button>
            <button type="button" onClick={() => setCancelling(false)}>
              {t("action.back")}
            </button>
          </div>
        </form>
      ) : (
        <div className="actions">
          {steps.map((step) => (
            <button
              key={step}
              type="button"
              className={step === "cancel" ? "danger" : ""}
              disabled={change.isPending}
              onClick={() => (step === "cancel" ? setCancelling(true) : change.mutate(step))}
            >
              {t(`appointment.step.${step}`)}
            </button>
          ))}
        </div>
      )}
    </Dialog>
  );
}
