import { nextSteps } from "./book";

describe("what the desk may do next with an appointment", () => {
  it("offers the patient's arrival only on the appointment's own day", () => {
    expect(nextSteps("confirmed", true)).toContain("check-in");
    expect(nextSteps("confirmed", false)).not.toContain("check-in");
    expect(nextSteps("booked", false)).toEqual(["confirm", "no-show", "cancel"]);
  });

  it("completes a visit once the patient has arrived, whatever the day shown", () => {
    expect(nextSteps("checked_in", false)).toEqual(["complete"]);
  });
});
