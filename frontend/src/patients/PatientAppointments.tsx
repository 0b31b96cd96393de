/** The patient's appointments, in the clinic's zone. */
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, ok } from "../api/client";
import { useAppointmentTypes, useProviders, useZone } from "../scheduling/reference";
import { formatDateTime } from "../time/format";
import { Empty, ErrorNote, Loading } from "../ui/states";


export function PatientAppointments({ patientId }: { patientId: string }) {
  const { t, i18n } = useTranslation();
  const zone = useZone();
  const providers = useProviders();
  const types = useAppointmentTypes();
  const book = useQuery({
    queryKey: ["appointments", "patient", patientId],
    queryFn: async ({ signal }) =>
      (await ok(api.GET("/api/appointments", { params: { query: { patient: patientId, limit: 200 } }, signal }))).items,
  });
  const providerName = (id: string) => providers.data?.find((p) => p.provider_id === id)?.name ?? "—";
  const typeName = (code: string) => types.data?.find((x) => x.code === code)?.name ?? code;
  return (
    <section aria-labelledby="appointments-title" className="card">
      <h2 id="appointments-title">{t("patient.appointments")}</h2>
      {book.isPending ? (
        <Loading />
      ) : book.isError ? (
        <ErrorNote error={book.error} retry={() => void book.refetch()} />
      ) : book.data.length === 0 ? (
        <Empty>{t("patient.noAppointments")}</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t("appointment.when")}</th>
              <th scope="col">{t("appointment.type")}</th>
              <th scope="col">{t("appointment.provider")}</th>
              <th scope="col">{t("appointment.status")}</th>
            </tr>
          </thead>
          <tbody>
            {book.data.map((a) => (
              <tr key={a.appointment_id} data-appointment={a.appointment_id}>
                <td>{formatDateTime(a.start, zone, i18n.language)}</td>
                <td>{typeName(a.appointment_type)}</td>
                <td>{providerName(a.provider_id)}</td>
                <td>{t(`status.${a.status}`)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
