// A hot JavaScript function for the JIT test: `node --perf-basic-prof jit_hot.js SECONDS` spends
// nearly all its time in hotJsFunction, which V8 compiles; the perf map names its code.
function hotJsFunction(n) {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003;
  return x;
}
const end = Date.now() + 1000 * Number(process.argv[2] || 1);
let s = 0;
while (Date.now() < end) s += hotJsFunction(100000);
console.log(s > 0 ? "ok" : "no");
