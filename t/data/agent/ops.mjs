// ops.mjs — the Node twin of ops.py for t/agent.bats.
import { spawn } from "node:child_process";

export function f(op, arg) {
  if (op === "greet") return "hello, " + arg;
  if (op === "pid") return process.pid;
  if (op === "getenv") return process.env[arg] ?? null;
  if (op === "boom") throw new RangeError("secret /etc/passwd token-1234");
  if (op === "len") return arg.length;
  if (op === "slow") return new Promise((r) => setTimeout(() => r("slept"), arg * 1000));
  if (op === "detached") {
    // a child in its own session, unref'd: the runner exits without it
    const c = spawn("sleep", ["300"], { detached: true, stdio: "ignore" });
    c.unref();
    return c.pid;
  }
  throw new Error("unknown op");
}
