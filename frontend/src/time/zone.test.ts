import { addDays, dayOf, instantAt, isoInZone, minuteOfDay, mondayOf, offsetMinutes } from "./zone";

const MADRID = "Europe/Madrid";

describe("the clinic's clock, whatever the browser's zone", () => {
  it("puts 10:00 in Madrid at 09:00 UTC in winter and 08:00 UTC in summer", () => {
    expect(instantAt("2027-03-27", 600, MADRID).toISOString()).toBe("2027-03-27T09:00:00.000Z");
    expect(instantAt("2027-03-28", 600, MADRID).toISOString()).toBe("2027-03-28T08:00:00.000Z");
    expect(instantAt("2027-10-30", 600, MADRID).toISOString()).toBe("2027-10-30T08:00:00.000Z");
    expect(instantAt("2027-10-31", 600, MADRID).toISOString()).toBe("2027-10-31T09:00:00.000Z");
  });

  it("reads an instant back as the same wall-clock minute on either side of the change", () => {
    for (const day of ["2027-03-27", "2027-03-28", "2027-10-30", "2027-10-31"]) {
      const instant = instantAt(day, 600, MADRID);
      expect(dayOf(instant, MADRID)).toBe(day);
      expect(minuteOfDay(instant, MADRID)).toBe(600);
    }
  });

  it("knows the Canary Islands are an hour behind the mainland", () => {
    const noon = new Date("2027-01-15T12:00:00Z");
    expect(offsetMinutes(noon, MADRID)).toBe(60);
    expect(offsetMinutes(noon, "Atlantic/Canary")).toBe(0);
  });

  it("writes instants with the clinic's offset, as the API expects", () => {
    expect(isoInZone(instantAt("2027-03-28", 600, MADRID), MADRID)).toBe("2027-03-28T10:00:00+02:00");
    expect(isoInZone(instantAt("2027-03-27", 600, MADRID), MADRID)).toBe("2027-03-27T10:00:00+01:00");
  });

  it("counts calendar days and weeks from Monday", () => {
    expect(addDays("2027-02-28", 1)).toBe("2027-03-01");
    expect(mondayOf("2027-03-28")).toBe("2027-03-22");
    expect(mondayOf("2027-03-22")).toBe("2027-03-22");
  });
});
