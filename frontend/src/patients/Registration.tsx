/** Registering a patient: the API's checks as the desk types, the API's field messages after. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { api, ok } from "../api/client";
import { describe, fieldErrors, isProblem } from "../api/problems";
import { useZone } from "../scheduling/reference";
import { today } from "../time/zone";
import { Notice } from "../ui/states";
import { PatientForm } from "./PatientForm";
import { EMPTY_PATIENT, formField, patientBody, patientProblems, type PatientInput } from "./validation";

export function serverFieldErrors(t: (key: string) => string, error: unknown): Record<string, string> {
  const byPath = fieldErrors(t as never, error);
  return Object.fromEntries(Object.entries(byPath).map(([path, message]) => [formField(path), message]));
}

export default function Registration() {
  const { t } = useTranslation();
  const zone = useZone();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [input, setInput] = useState<PatientInput>(EMPTY_PATIENT);
  const [shown, setShown] = useState<Record<string, string>>({});
  const register = useMutation({
    mutationFn: () => ok(api.POST("/api/patients", { body: patientBody(input) })),
    onSuccess: async (written) => {
      await client.invalidateQueries({ queryKey: ["patients"] });
      void navigate(`/patients/${written.id}`);
    },
    onError: (error) => setShown(serverFieldErrors(t, error)),
  });

  function submit() {
    const problems = patientProblems(input, today(zone));
    const messages = Object.fromEntries(Object.entries(problems).map(([k, key]) => [k, t(key)]));
    setShown(messages);
    if (Object.keys(messages).length === 0) register.mutate();
  }

  return (
    <section>
      <h1>{t("registration.title")}</h1>
      {register.isError && (
        <Notice tone="error">
          {isProblem(register.error) && register.error.status === 422
            ? t("registration.fix")
            : describe(t, register.error)}
        </Notice>
      )}
      <PatientForm
        value={input}
        onChange={setInput}
        errors={shown}
        onSubmit={submit}
        busy={register.isPending}
        submitLabel={t("registration.submit")}
      />
    </section>
  );
}
