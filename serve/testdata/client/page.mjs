// Drives the chat page in headless Chromium (Debian's /usr/bin/chromium)
// through playwright-core: two turns, then a screenshot. Run by go test
// ./serve (TestChatPage). Usage: node page.mjs URL SCREENSHOT.png
// Prints the transcript and the cache panel as JSON.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const [url, shot] = process.argv.slice(2);
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sinktrain-chromium-"));
const ctx = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1000, height: 640 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const page = ctx.pages()[0] || (await ctx.newPage());
  await page.goto(url);
  await page.waitForSelector("#model option", { state: "attached" });
  for (const [i, text] of ["Hello, who are you?", "Tell me about the rabbit."].entries()) {
    await page.fill("#input", text);
    await page.click("#send");
    await page.waitForFunction((n) => document.body.dataset.turns === String(n), i + 1, { timeout: 20000 });
  }
  await page.screenshot({ path: shot });
  const out = await page.evaluate(() => ({
    messages: [...document.querySelectorAll(".msg")].map((m) => ({ role: m.classList[1], text: m.querySelector(".text").textContent })),
    cache: Object.fromEntries([...document.querySelectorAll("aside dd")].map((d) => [d.id, d.textContent])),
    error: document.getElementById("error").textContent,
  }));
  process.stdout.write(JSON.stringify(out));
} finally {
  await ctx.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
