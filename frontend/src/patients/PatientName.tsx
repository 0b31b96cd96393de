/** A patient's name and alerts, by id (read from the chart, cached in memory). */
import { useChart } from "./chart";
import { PatientLabel } from "../ui/AlertBadges";
import { Link } from "react-router";

export function PatientName({ patientId }: { patientId: string }) {
  const chart = useChart(patientId);
  if (!chart.data) return <span className="patient-label">…</span>;
  const d = chart.data.demographics;
  return (
    <Link to={`/patients/${patientId}`}>
      <PatientLabel name={`${d.given_name} ${d.family_name}`} alerts={chart.data.alerts.map((a) => a.code)} />
    </Link>
  );
}
