/** The frame of every screen: navigation for what the role may use, language, sign-out. */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { NavLink } from "react-router";
import { ACTIONS, useProfile } from "../auth/profile";
import { signOut } from "../auth/session";
import { LanguageSwitch } from "./LanguageSwitch";

interface Link {
  to: string;
  label: string;
  action: string | null;
}

const LINKS: Link[] = [
  { to: "/calendar", label: "nav.calendar", action: ACTIONS.appointmentsRead },
  { to: "/day-sheet", label: "nav.daySheet", action: ACTIONS.appointmentsRead },
  { to: "/waitlist", label: "nav.waitlist", action: ACTIONS.appointmentsRead },
  { to: "/patients", label: "nav.patients", action: ACTIONS.patientsRead },
  { to: "/admin/staff", label: "nav.staff", action: ACTIONS.staffManage },
  { to: "/admin/clinic", label: "nav.clinic", action: ACTIONS.scheduleManage },
  { to: "/admin/providers", label: "nav.providers", action: ACTIONS.scheduleManage },
  { to: "/admin/security", label: "nav.security", action: ACTIONS.staffManage },
  { to: "/account", label: "nav.account", action: null },
];

export function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const { may, profile } = useProfile();
  const links = profile.second_factor_required
    ? LINKS.filter((l) => l.action === null)
    : LINKS.filter((l) => l.action === null || may(l.action));
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <header className="top-bar">
        <span className="brand">
          Sonrisa
        </span>
        <nav aria-label={t("nav.label")}>
          <ul>
            {links.map((link) => (
              <li key={link.to}>
                <NavLink to={link.to}>{t(link.label)}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span className="who-name">{profile.name}</span>
          <LanguageSwitch />
          <button type="button" onClick={() => void signOut()}>
            {t("nav.signOut")}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
