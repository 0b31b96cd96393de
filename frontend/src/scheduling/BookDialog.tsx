/** Booking a free slot for a patient. */
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { describe, isProblem } from "../api/problems";
import type { components } from "../api/schema";
import { formatDateTime, formatTime } from "../time/format";
import { PatientLabel } from "../ui/AlertBadges";
import { Dialog } from "../ui/Dialog";
import { Field } from "../ui/Field";
import { Notice } from "../ui/states";
import { book } from "./book";
import { PatientPicker } from "./PatientPicker";

type Slot = components["schemas"]["SlotOut"];

export interface Chosen {
  patient_id: string;
  name: string;
  alerts: string[];
}

interface Props {
  slot: Slot;
  zone: string;
  provider: { id: string; name: string };
  chair: { id: string; name: string };
  type: { code: string; name: string };
  patient: Chosen | null;
  onDone: () => void;
  onStale: () => void;
  onClose: () => void;
}

export function BookDialog({ slot, zone, provider, chair, type, patient, onDone, onStale, onClose }: Props) {
  const { t, i18n } = useTranslation();
  const [chosen, setChosen] = useState<Chosen | null>(patient);
  const [notes, setNotes] = useState("");
  const booking = useMutation({
    mutationFn: () =>
      book({
        patient_id: chosen?.patient_id ?? "",
        provider_id: provider.id,
        operatory_id: chair.id,
        start: slot.start,
        appointment_type: type.code,
        notes: notes.trim() || null,
      }),
    onSuccess: onDone,
    onError: (error) => {
      if (isProblem(error) && error.isConflict) onStale(); // the slot went meanwhile: reload
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (chosen) booking.mutate();
  }
  const when = `${formatDateTime(slot.start, zone, i18n.language)}–${formatTime(slot.end, zone, i18n.language)}`;
  return (
    <Dialog title={t("booking.title")} onClose={onClose}>
      <form onSubmit={submit} className="book-form">
        <p className="booking-summary">
          <strong>{when}</strong>
          <br />
          {type.name} · {provider.name} · {chair.name}
        </p>
        {chosen ? (
          <p className="chosen">
            <PatientLabel name={chosen.name} alerts={chosen.alerts} />{" "}
            <button type="button" className="small" onClick={() => setChosen(null)}>
              {t("booking.change")}
            </button>
          </p>
        ) : (
          <PatientPicker
            onPick={(p) =>
              setChosen({ patient_id: p.patient_id, name: `${p.given_name} ${p.family_name}`, alerts: Object.values(p.alerts ?? {}) })
            }
          />
        )}
        <Field label={t("booking.notes")}>
          <textarea value={notes} onChange={(e) => setNotes(e.target.value)} maxLength={2000} rows={2} />
        </Field>
        {booking.isError && (
          <Notice tone="error">
            {isProblem(booking.error) && booking.error.isConflict ? t("booking.taken") : describe(t, booking.error)}
          </Notice>
        )}
        <div className="actions">
          <button type="submit" className="primary" disabled={!chosen || booking.isPending}>
            {t("booking.submit")}
          </button>
          <button type="button" onClick={onClose}>
            {t("form.cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
