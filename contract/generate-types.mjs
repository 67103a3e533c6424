// Types for the TypeScript client, as openapi-typescript's documentation recommends for files: a
// `format: binary` string (an upload's file part, a download) is a Blob, so a multipart upload goes
// through openapi-fetch typed, with no cast.
//   node generate-types.mjs ../openapi/openapi.json ts/schema.d.ts
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error("usage: node generate-types.mjs <openapi.json> <schema.d.ts>");
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const ast = await openapiTS(pathToFileURL(input), {
  transform(schema) {
    if (schema.format === "binary") return BLOB;
    return undefined;
  },
});
writeFileSync(output, astToString(ast));
