/** The patient directory: search as you type (the API ignores accents and case). */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, read } from "../api/client";
import type { DirectoryEntry } from "../api/types";
import { ACTIONS, useProfile } from "../auth/profile";
import { formatPlainDate } from "../time/format";
import { AlertBadges } from "../ui/AlertBadges";
import { Empty, ErrorNote, Loading } from "../ui/states";

const SETTLE_MS = 60; // long enough to skip mid-word requests, short enough to feel instant

export function useDirectorySearch(q: string) {
  return useQuery({
    queryKey: ["patients", "search", q],
    queryFn: async ({ signal }) =>
      (await read(api.GET("/api/patients", { params: { query: { q, limit: 50 } }, signal }))) as {
        items: DirectoryEntry[];
        next_cursor: string | null;
      },
    placeholderData: keepPreviousData,
  });
}

function useSettled(value: string): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), SETTLE_MS);
    return () => window.clearTimeout(timer);
  }, [value]);
  return settled;
}

export default function Directory() {
  const { t, i18n } = useTranslation();
  const { may } = useProfile();
  // The search text is kept in memory only: never in the address bar, so not in the history.
  const [text, setText] = useState("");
  const q = useSettled(text.trim());
  const search = useDirectorySearch(q);
  const items = search.data?.items ?? [];

  return (
    <section className="directory">
      <div className="page-head">
        <h1>{t("directory.title")}</h1>
        {may(ACTIONS.patientsWrite) && (
          <Link className="button primary" to="/patients/new">
            {t("directory.new")}
          </Link>
        )}
      </div>
      <div className="search">
        <label htmlFor="patient-search">{t("directory.search")}</label>
        <input
          id="patient-search"
          type="search"
          autoComplete="off"
          placeholder={t("directory.searchHint")}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-controls="patient-results"
        />
      </div>
      <div id="patient-results" aria-live="polite" aria-busy={search.isFetching}>
        {search.isPending ? (
          <Loading />
        ) : search.isError ? (
          <ErrorNote error={search.error} retry={() => void search.refetch()} />
        ) : items.length === 0 ? (
          <Empty>{q ? t("directory.noMatch", { q }) : t("directory.empty")}</Empty>
        ) : (
          <table className="results" data-query={q}>
            <caption className="visually-hidden">{t("directory.title")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("patient.name")}</th>
                <th scope="col">{t("patient.birthDate")}</th>
                <th scope="col">{t("patient.phone")}</th>
                <th scope="col">{t("patient.nationalId")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.patient_id}>
                  <td>
                    <Link to={`/patients/${p.patient_id}`}>
                      {p.given_name} {p.family_name}
                    </Link>{" "}
                    <AlertBadges codes={Object.values(p.alerts ?? {})} />
                  </td>
                  <td>{formatPlainDate(p.birth_date, i18n.language)}</td>
                  <td>{p.phone ?? "—"}</td>
                  <td>{p.national_id ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
