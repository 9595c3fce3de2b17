// wasm-opt -O1 on many modules in one Node process, through binaryen.js's
// API (the npm binaryen is itself wasm in Node: its wasm-opt command spends
// about a second starting up, and a build has about a hundred modules).
// Called by xtask/src/web_build.rs as
//   node optimise.mjs <binaryen's index.js> <module.wasm>...
// and rewrites each module in place. The features are wasm-opt's defaults
// plus SIMD (rustc's target_features section asks for it); with them the
// output is byte for byte what `wasm-opt -O1` writes (all 102 modules of the
// build, checked on 2026-12-07).
import fs from "node:fs";
import { pathToFileURL } from "node:url";

const [binaryenPath, ...modules] = process.argv.slice(2);
const { default: binaryen } = await import(pathToFileURL(binaryenPath).href);
const F = binaryen.Features;
const features =
  F.SignExt | F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory |
  F.BulkMemoryOpt | F.Multivalue | F.ReferenceTypes | F.CallIndirectOverlong |
  F.SIMD128;
binaryen.setOptimizeLevel(1);
binaryen.setShrinkLevel(0);
binaryen.setDebugInfo(false);
for (const path of modules) {
  const started = Date.now();
  const module = binaryen.readBinary(fs.readFileSync(path));
  module.setFeatures(features);
  if (!module.validate()) {
    console.error(`${path}: not valid wasm with the features rustc emits`);
    process.exit(1);
  }
  module.optimize();
  fs.writeFileSync(path, module.emitBinary());
  module.dispose();
  console.log(`${(Date.now() - started) / 1000} ${path}`);
}
