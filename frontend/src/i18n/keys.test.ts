import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { en } from "./en";
import { es } from "./es";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : /\.tsx?$/.test(name) && !name.includes(".test.") ? [full] : [];
  });
}

function has(dictionary: unknown, key: string): boolean {
  let node: unknown = dictionary;
  for (const part of key.split(".")) {
    if (typeof node !== "object" || node === null || !(part in node)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === "string";
}

describe("every message is in both languages", () => {
  const source = path.resolve(__dirname, "..");
  const used = new Set<string>();
  for (const file of files(source)) {
    for (const match of readFileSync(file, "utf8").matchAll(/\bt\(\s*"([a-zA-Z0-9_.-]+)"/g)) used.add(match[1] ?? "");
  }

  it("finds the keys the screens use", () => {
    expect(used.size).toBeGreaterThan(100);
  });

  it.each([...used])("%s is in Spanish and English", (key) => {
    expect(has(es, key)).toBe(true);
    expect(has(en, key)).toBe(true);
  });
});
