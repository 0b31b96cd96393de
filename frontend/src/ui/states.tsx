/** Loading, empty, error and not-allowed states, the same everywhere. */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { describe, isProblem } from "../api/problems";

export function Loading({ what }: { what?: string }) {
  const { t } = useTranslation();
  return (
    <p className="state loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what ?? t("state.loading")}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state empty">{children}</p>;
}

export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  const { t } = useTranslation();
  if (isProblem(error) && error.status === 403) return <NotAllowed />;
  return (
    <div className="state error" role="alert">
      <p>{describe(t, error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          {t("action.retry")}
        </button>
      )}
    </div>
  );
}

export function NotAllowed() {
  const { t } = useTranslation();
  return (
    <section className="state not-allowed" role="alert" aria-labelledby="not-allowed-title">
      <h1 id="not-allowed-title">{t("notAllowed.title")}</h1>
      <p>{t("notAllowed.body")}</p>
    </section>
  );
}

export function Notice({ tone, children }: { tone: "info" | "error" | "success"; children: ReactNode }) {
  return (
    <div className={`notice ${tone}`} role={tone === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}
