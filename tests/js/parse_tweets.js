// X's own twitter-text (3.1.0, pinned in package-lock.json) as a reference for bot.networks.x.text:
// reads a JSON array of texts on stdin, writes one JSON array with parseTweet's verdict on each
// (default configuration, v3). One process for the whole batch: tests/test_text.py.
"use strict";
const { parseTweet } = require("twitter-text");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((text) => {
    const parsed = parseTweet(text);
    return [parsed.weightedLength, parsed.valid, parsed.permillage, parsed.validRangeEnd];
  });
  process.stdout.write(JSON.stringify(results));
});
