/** i18next with Spanish by default and English one click away; the choice is remembered. */
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "./en";
import { es } from "./es";

export const LANGUAGES = ["es", "en"] as const;
export type Language = (typeof LANGUAGES)[number];
const KEY = "sonrisa.language";

function remembered(): Language {
  try {
    // The language is the only thing the app keeps in storage; never patient data (ADR 10).
    // eslint-disable-next-line no-restricted-globals
    const value = localStorage.getItem(KEY);
    return value === "en" ? "en" : "es";
  } catch {
    return "es";
  }
}

export function chooseLanguage(language: Language): void {
  try {
    // eslint-disable-next-line no-restricted-globals
    localStorage.setItem(KEY, language);
  } catch {
    // private mode: the choice lasts for this page only
  }
  void i18n.changeLanguage(language);
}

void i18n.use(initReactI18next).init({
  resources: { es: { translation: es }, en: { translation: en } },
  lng: remembered(),
  fallbackLng: "es",
  interpolation: { escapeValue: false },
  returnNull: false,
});

i18n.on("languageChanged", (language) => {
  document.documentElement.lang = language;
});
document.documentElement.lang = i18n.language;

export default i18n;
