// The bytes a view receives: gzip-compressed JSON text, unzipped and parsed as the browser does.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";

import { inflateText } from "../../mpq_app/ui/live_js/inflate.js";
import { unpack } from "../../mpq_app/ui/live_js/packed.js";
import { fixture } from "./fixtures.mjs";

test("gzip bytes to the text they hold, UTF-8 included", async () => {
  const text = '{"name":"ffn·über «q»","x":[1,2]}';
  assert.equal(await inflateText(new Uint8Array(gzipSync(Buffer.from(text, "utf8")))), text);
});

test("a view's data, zipped, unzipped, parsed and unpacked: Python's state", async () => {
  const { views, unpacked } = fixture("tiny");
  const bytes = new Uint8Array(gzipSync(JSON.stringify(views.cards), { level: 6 }));
  const spec = JSON.parse(await inflateText(bytes));
  assert.deepEqual(unpack(spec.table, 1), unpacked.cards[1]);
});

test("bytes that are not gzip: the promise fails", async () => {
  await assert.rejects(inflateText(new Uint8Array([1, 2, 3, 4])));
});
