// The package entry asc resolves for `import { ... } from "praxis-wasm-sdk-assemblyscript"`
// (node_modules/<name>/index.ts). The SDK itself lives in assembly/.
export * from "./assembly/index";
