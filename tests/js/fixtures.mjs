// The golden fixtures that scripts/gen_js_fixtures.py writes from the Python side.
import { readFileSync } from "node:fs";

export const PROBLEMS = ["tiny", "ladder"];

export function fixture(name) {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), "utf8"));
}
