// ops.mjs — the Node twin of ops.py for t/agent.bats.
export function f(op, arg) {
  if (op === "greet") return "hello, " + arg;
  if (op === "pid") return process.pid;
  if (op === "boom") throw new RangeError("secret /etc/passwd token-1234");
  if (op === "len") return arg.length;
  if (op === "slow") return new Promise((r) => setTimeout(() => r("slept"), arg * 1000));
  throw new Error("unknown op");
}
