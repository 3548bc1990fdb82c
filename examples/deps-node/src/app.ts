import ms from "ms";

// {"text": "2d"} -> 172800000: computed by the locked npm package ms 2.1.3
// (the Node wrapper passes keyword arguments as one object)
export function duration({ text }: { text: string }): number {
  return ms(text);
}
