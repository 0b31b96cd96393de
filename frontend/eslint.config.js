import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/api/schema.d.ts", "test-results"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.strict],
    languageOptions: { globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "no-console": "error",
      // Patient data never goes to browser storage (ADR 10): only the language is kept.
      "no-restricted-globals": [
        "error",
        { name: "localStorage", message: "use src/language.ts; no patient data in storage" },
        { name: "sessionStorage", message: "no patient data in browser storage" },
        { name: "indexedDB", message: "no patient data in browser storage" },
      ],
    },
  },
  {
    files: ["browser/**/*.mjs", "bench/**/*.mjs", "*.js"],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
