/** Find a patient by typing (accents ignored by the API) and pick one. */
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { components } from "../api/schema";
import { useDirectorySearch } from "../patients/Directory";
import { AlertBadges } from "../ui/AlertBadges";
import { Loading } from "../ui/states";

type DirectoryEntry = components["schemas"]["DirectoryEntryOut"];

export function PatientPicker({ onPick }: { onPick: (patient: DirectoryEntry) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  useEffect(() => {
    const timer = window.setTimeout(() => setQ(text.trim()), 60);
    return () => window.clearTimeout(timer);
  }, [text]);
  const search = useDirectorySearch(q);
  return (
    <div className="patient-picker">
      <label htmlFor="picker-search">{t("booking.findPatient")}</label>
      <input id="picker-search" type="search" autoComplete="off" value={text} onChange={(e) => setText(e.target.value)} />
      {q && search.isPending && <Loading />}
      {q && search.data && (
        <ul className="picker-results">
          {search.data.items.slice(0, 8).map((p) => (
            <li key={p.patient_id}>
              <button type="button" onClick={() => onPick(p)}>
                {p.given_name} {p.family_name} <AlertBadges codes={Object.values(p.alerts ?? {})} />
              </button>
            </li>
          ))}
          {search.data.items.length === 0 && <li>{t("directory.noMatch", { q })}</li>}
        </ul>
      )}
    </div>
  );
}
