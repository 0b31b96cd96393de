/** The patient directory: search as you type (the API ignores accents and case). */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { api, ok } from "../api/client";
import { ACTIONS, useProfile } from "../auth/profile";
import { formatPlainDate } from "../time/format";
import { AlertBadges } from "../ui/AlertBadges";
import { Empty, ErrorNote, Loading } from "../ui/states";


export function useDirectorySearch(q: string) {
  return useQuery({
    queryKey: ["patients", "search", q],
    queryFn: async ({ signal }) =>
      ok(api.GET("/api/patients", { params: { query: { q, limit: 50 } }, signal })),
    placeholderData: keepPreviousData,
  });
}

export default function Directory() {
  const { t, i18n } = useTranslation();
  const { may } = useProfile();
  // The search text is kept in memory only: never in the address bar, so not in the history.
  // Every keystroke asks at once and aborts the previous request: waiting to see whether
  // another key comes would only delay the answer to the last one.
  const [text, setText] = useState("");
  const q = text.trim();
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
      <div
        id="patient-results"
        aria-live="polite"
        aria-busy={search.isFetching}
        data-shown-query={search.data && !search.isPlaceholderData ? q : undefined}
      >
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
