import { fireEvent, screen } from "@testing-library/react";
import type { components } from "../api/schema";
import { renderAs } from "../test/render";
import { CalendarGrid, PX_PER_MINUTE } from "./CalendarGrid";

type SheetLine = components["schemas"]["SheetLineOut"];

const line: SheetLine = {
  appointment_id: "a1",
  patient_id: "p1",
  provider_id: "d1",
  operatory_id: "c1",
  start: "2027-03-28T08:00:00+00:00", // 10:00 in Madrid, the day the clocks go forward
  end: "2027-03-28T08:30:00+00:00",
  start_local: "2027-03-28T10:00:00+02:00",
  end_local: "2027-03-28T10:30:00+02:00",
  appointment_type: "check-up",
  notes: null,
  status: "booked",
  override_reason: null,
  booked_at: "2027-03-01T09:00:00+00:00",
  booked_by: "s1",
  version: 1,
  updated_at: "2027-03-01T09:00:00+00:00",
  patient_name: "Rocío Núñez Carrasco",
  alerts: ["anticoagulated"],
};

function grid(onMove = vi.fn(), onOpen = vi.fn()) {
  renderAs(
    "receptionist",
    <CalendarGrid
      days={["2027-03-27", "2027-03-28"]}
      zone="Europe/Madrid"
      from={9 * 60}
      to={20 * 60}
      lines={[line]}
      slots={[{ start: "2027-03-27T09:00:00+00:00", end: "2027-03-27T09:30:00+00:00" }]}
      canBook
      canMove
      typeName={() => "Revisión"}
      onSlot={vi.fn()}
      onOpen={onOpen}
      onMove={onMove}
    />,
  );
  return { onMove, onOpen };
}

describe("the calendar grid", () => {
  it("places an appointment at its time in the clinic's zone, with the patient's alert", () => {
    grid();
    const block = screen.getByRole("button", { name: /Rocío Núñez Carrasco/ });
    expect(block).toHaveTextContent("10:00–10:30");
    expect(block).toHaveTextContent("Anticoagulado");
    expect(block.style.top).toBe(`${60 * PX_PER_MINUTE}px`);
    expect(screen.getByRole("button", { name: "Hueco libre a las 10:00: dar cita" })).toBeInTheDocument();
  });

  it("moves an appointment with the keyboard: arrows, then Enter", () => {
    const { onMove } = grid();
    const block = screen.getByRole("button", { name: /Rocío Núñez Carrasco/ });
    fireEvent.keyDown(block, { key: "ArrowDown" });
    fireEvent.keyDown(block, { key: "ArrowDown" });
    fireEvent.keyDown(block, { key: "ArrowLeft" });
    fireEvent.keyDown(block, { key: "Enter" });
    expect(onMove).toHaveBeenCalledTimes(1);
    const [, start] = onMove.mock.calls[0] as [SheetLine, Date];
    expect(start.toISOString()).toBe("2027-03-27T09:30:00.000Z"); // Saturday 10:30, still winter time
  });

  it("leaves it where it was on Escape", () => {
    const { onMove } = grid();
    const block = screen.getByRole("button", { name: /Rocío Núñez Carrasco/ });
    fireEvent.keyDown(block, { key: "ArrowDown" });
    fireEvent.keyDown(block, { key: "Escape" });
    fireEvent.keyDown(block, { key: "Enter" });
    expect(onMove).not.toHaveBeenCalled();
  });
});
