import type { Page } from 'playwright-core';

// The browser's globals, for the functions evaluated in the page (the project compiles without the DOM library).
declare const window: { __tickflow?: Hooks };
declare const document: {
  querySelectorAll(selector: string): { length: number };
  getElementById(id: string): { textContent: string | null } | null;
};
declare const sessionStorage: { setItem(key: string, value: string): void };

/** Opens the console and waits until every panel has loaded once (the page's test hook). */
export async function openConsole(page: Page, url: string, token?: string): Promise<void> {
  if (token) await page.addInitScript((t) => sessionStorage.setItem('tickflow.console.token', t), token);
  await page.goto(url);
  await page.waitForFunction(() => window.__tickflow?.ready === true, null, {
    timeout: 60_000,
  });
}

/** Waits until the table body with data-testid `testid` holds at least `n` rows; returns the count. */
export async function waitForRowsIn(page: Page, testid: string, n: number, timeoutMs = 30_000): Promise<number> {
  await page.waitForFunction(
    ([id, min]) => document.querySelectorAll(`[data-testid="${id}"] tr`).length >= (min as number),
    [testid, n] as const,
    { timeout: timeoutMs },
  );
  return page.locator(`[data-testid="${testid}"] tr`).count();
}

export interface Hooks {
  ready: boolean;
  instrument: string;
  interval: string;
  barsLoaded: number;
  barsDrawn: number;
  markers: number;
}
