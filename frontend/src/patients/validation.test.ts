import { EMPTY_PATIENT, nationalIdProblem, patientBody, patientProblems, phoneProblem } from "./validation";

describe("the desk's checks on a patient, the same as the API's", () => {
  it("accepts a DNI or an NIE whose control letter matches", () => {
    expect(nationalIdProblem("12345678Z")).toBeNull();
    expect(nationalIdProblem("12345678-z")).toBeNull();
    expect(nationalIdProblem("X1234567L")).toBeNull();
  });

  it("refuses a wrong control letter and a malformed id", () => {
    expect(nationalIdProblem("12345678A")).toBe("rule.national_id_letter");
    expect(nationalIdProblem("1234")).toBe("rule.national_id_format");
  });

  it("reads Spanish numbers and refuses what cannot be a phone", () => {
    expect(phoneProblem("+34 612 345 678")).toBeNull();
    expect(phoneProblem("912 345 678")).toBeNull();
    expect(phoneProblem("12345")).toBe("rule.phone");
    expect(phoneProblem("512 345 678")).toBe("rule.phone");
  });

  it("asks for names, a past birth date and a sex, and a whole address or none", () => {
    const problems = patientProblems({ ...EMPTY_PATIENT, birth_date: "2099-01-01", city: "Madrid" }, "2026-11-27");
    expect(problems).toMatchObject({
      given_name: "field.missing",
      family_name: "field.missing",
      birth_date: "rule.birth_date_future",
      sex: "field.missing",
      line1: "field.missing",
      postal_code: "field.missing",
    });
  });

  it("sends blanks as nulls and no address when none was typed", () => {
    const body = patientBody({ ...EMPTY_PATIENT, given_name: " Ana ", family_name: "Gil", birth_date: "1990-01-01", sex: "female" });
    expect(body).toMatchObject({ given_name: "Ana", national_id: null, phone: null, address: null });
  });
});
