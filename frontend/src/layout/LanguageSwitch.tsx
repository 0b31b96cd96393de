import { useTranslation } from "react-i18next";
import { chooseLanguage } from "../i18n";

/** One click to the other language. */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const other = i18n.language === "en" ? "es" : "en";
  return (
    <button
      type="button"
      className="language-switch"
      lang={other}
      onClick={() => chooseLanguage(other)}
      title={t("language.switchTo")}
    >
      {other === "en" ? "English" : "Español"}
    </button>
  );
}
