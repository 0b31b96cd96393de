import { mergeEdits } from "./PatientRecord";
import { EMPTY_PATIENT } from "./validation";

const base = { ...EMPTY_PATIENT, given_name: "Inés", phone: "+34600111222", email: "" };

describe("after a conflict, nothing either desk typed is lost", () => {
  it("keeps my change and takes theirs where I changed nothing", () => {
    const mine = { ...base, email: "ines@example.com" };
    const theirs = { ...base, phone: "+34611222333" };
    const merged = mergeEdits(base, mine, theirs);
    expect(merged.input.email).toBe("ines@example.com");
    expect(merged.input.phone).toBe("+34611222333");
    expect(merged.clashes).toEqual([]);
  });

  it("keeps mine where we both changed a field, and names it", () => {
    const merged = mergeEdits(base, { ...base, phone: "+34699000000" }, { ...base, phone: "+34611222333" });
    expect(merged.input.phone).toBe("+34699000000");
    expect(merged.clashes).toEqual(["phone"]);
  });

  it("merges consents channel by channel", () => {
    const merged = mergeEdits(
      base,
      { ...base, consents: { ...base.consents, sms: true } },
      { ...base, consents: { ...base.consents, whatsapp: true } },
    );
    expect(merged.input.consents).toEqual({ sms: true, email: false, whatsapp: true });
  });
});
