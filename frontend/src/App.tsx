/** The app: sign-in gate, then the screens each role may use, loaded on demand. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { forgetWrites } from "./api/consistency";
import { isProblem } from "./api/problems";
import { ACTIONS, ProfileProvider, useProfile, useProfileQuery } from "./auth/profile";
import { onSessionChange, resume } from "./auth/session";
import { SignIn } from "./auth/SignIn";
import { Shell } from "./layout/Shell";
import { ErrorNote, Loading, NotAllowed } from "./ui/states";

const Directory = lazy(() => import("./patients/Directory"));
const Registration = lazy(() => import("./patients/Registration"));
const PatientRecord = lazy(() => import("./patients/PatientRecord"));
const Calendar = lazy(() => import("./scheduling/Calendar"));
const DaySheet = lazy(() => import("./scheduling/DaySheet"));
const Waitlist = lazy(() => import("./scheduling/Waitlist"));
const Account = lazy(() => import("./auth/Account"));
const Staff = lazy(() => import("./admin/Staff"));
const ClinicSetup = lazy(() => import("./admin/ClinicSetup"));
const Providers = lazy(() => import("./admin/Providers"));
const SecurityPolicy = lazy(() => import("./admin/SecurityPolicy"));

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (failures, error) => !(isProblem(error) && error.status < 500) && failures < 2,
        refetchOnWindowFocus: true,
        staleTime: 10_000,
      },
    },
  });
}

function Allowed({ action, children }: { action: string; children: ReactNode }) {
  const { may } = useProfile();
  return may(action) ? <>{children}</> : <NotAllowed />;
}

function Home() {
  const { may, profile } = useProfile();
  if (profile.second_factor_required) return <Navigate to="/account" replace />;
  if (may(ACTIONS.appointmentsRead)) return <Navigate to="/calendar" replace />;
  if (may(ACTIONS.patientsRead)) return <Navigate to="/patients" replace />;
  if (may(ACTIONS.staffManage)) return <Navigate to="/admin/staff" replace />;
  return <Navigate to="/account" replace />;
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <section>
      <h1>{t("notFound.title")}</h1>
      <p>{t("notFound.body")}</p>
    </section>
  );
}

function Screens() {
  const { profile } = useProfile();
  if (profile.second_factor_required) {
    return (
      <Routes>
        <Route path="*" element={<Account />} />
      </Routes>
    );
  }
  return (
    <Routes>
      <Route path="/" element={<Home />} />
      <Route path="/calendar" element={<Allowed action={ACTIONS.appointmentsRead}><Calendar /></Allowed>} />
      <Route path="/day-sheet" element={<Allowed action={ACTIONS.appointmentsRead}><DaySheet /></Allowed>} />
      <Route path="/waitlist" element={<Allowed action={ACTIONS.appointmentsRead}><Waitlist /></Allowed>} />
      <Route path="/patients" element={<Allowed action={ACTIONS.patientsRead}><Directory /></Allowed>} />
      <Route path="/patients/new" element={<Allowed action={ACTIONS.patientsWrite}><Registration /></Allowed>} />
      <Route path="/patients/:patientId" element={<Allowed action={ACTIONS.patientsRead}><PatientRecord /></Allowed>} />
      <Route path="/account" element={<Account />} />
      <Route path="/admin/staff" element={<Allowed action={ACTIONS.staffManage}><Staff /></Allowed>} />
      <Route path="/admin/clinic" element={<Allowed action={ACTIONS.scheduleManage}><ClinicSetup /></Allowed>} />
      <Route path="/admin/providers" element={<Allowed action={ACTIONS.scheduleManage}><Providers /></Allowed>} />
      <Route path="/admin/security" element={<Allowed action={ACTIONS.staffManage}><SecurityPolicy /></Allowed>} />
      <Route path="/signin" element={<Navigate to="/" replace />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}

function SignedIn() {
  const profile = useProfileQuery(true);
  if (profile.isPending) return <Loading />;
  if (profile.isError) return <ErrorNote error={profile.error} retry={() => void profile.refetch()} />;
  return (
    <ProfileProvider profile={profile.data}>
      <Shell>
        <Suspense fallback={<Loading />}>
          <Screens />
        </Suspense>
      </Shell>
    </ProfileProvider>
  );
}

type Gate = "resuming" | "signed-in" | "signed-out";

export function Session({ client }: { client: QueryClient }) {
  const [gate, setGate] = useState<Gate>("resuming");
  useEffect(() => {
    const stop = onSessionChange((signedIn) => {
      if (!signedIn) {
        client.clear(); // nothing of the last user stays in memory either
        forgetWrites();
      }
      setGate(signedIn ? "signed-in" : "signed-out");
    });
    void resume().then((ok) => {
      if (!ok) setGate("signed-out");
    });
    return stop;
  }, [client]);
  if (gate === "resuming") return <Loading />;
  if (gate === "signed-out") return <SignIn />;
  return <SignedIn />;
}

export function App() {
  const [client] = useState(makeQueryClient);
  return (
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <Session client={client} />
      </BrowserRouter>
    </QueryClientProvider>
  );
}
