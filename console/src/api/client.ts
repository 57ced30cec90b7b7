// The one client the console talks to the API through, typed from mobile_api_docs/openapi.json
// (src/api/schema.d.ts, `npm run client`). Sign-in, token refresh and problem+json errors are handled
// here once: a page calls `api.GET(...)` through `call()` and gets data, or an ApiError whose message is
// already in the user's language.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Tokens = Schemas["TokenPair"];
type Problem = Schemas["Problem"];

const STORE = "tanpuhui.console.tokens";
let language: "zh-CN" | "en" = "zh-CN";

export function setLanguage(next: "zh-CN" | "en"): void {
  language = next;
}

/** Who is signed in: "enterprise", or one of the administrator roles; null when no one is. */
export function signedInRole(): string | null {
  return storedTokens()?.role ?? null;
}

/** Whether the signed-in administrator's tokens reach only their own account until TOTP is set up. */
export function enrolmentOnly(): boolean {
  return storedTokens()?.totp_enrolment_required === true;
}

export function storedTokens(): Tokens | null {
  const raw = sessionStorage.getItem(STORE);
  return raw ? (JSON.parse(raw) as Tokens) : null;
}

function keep(tokens: Tokens | null): void {
  if (tokens) sessionStorage.setItem(STORE, JSON.stringify(tokens));
  else sessionStorage.removeItem(STORE);
}

/** A refusal from the API, with the title and detail in the user's language. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly problem: Problem | null,
  ) {
    super(detail);
  }
}

function errorOf(response: Response, body: unknown): ApiError {
  const problem = body && typeof body === "object" && "code" in body ? (body as Problem) : null;
  if (!problem) return new ApiError(response.status, "HTTP_" + response.status, response.statusText, null);
  return new ApiError(response.status, problem.code, detailIn(problem, language), problem);
}

function detailIn(problem: Problem, lang: string): string {
  const words = (problem.i18n as Record<string, { title: string; detail: string }> | undefined)?.[lang];
  return words?.detail ?? problem.detail ?? problem.title;
}

/** What went wrong, in `lang`: a refusal's detail from the API in that language, else the error's text. */
export function explain(error: unknown, lang: string): string {
  if (error instanceof ApiError) return error.problem ? detailIn(error.problem, lang) : error.detail;
  return String(error);
}

let refreshing: Promise<boolean> | null = null;
let onSignedOut: () => void = () => {};

export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

/** Trade the refresh token for a new pair, once however many requests found the access token ended (or
 * when the account's access changed, as after setting up two-factor sign-in). */
export function refresh(): Promise<boolean> {
  const tokens = storedTokens();
  if (!tokens) return Promise.resolve(false);
  refreshing ??= fetch("/v1/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: tokens.refresh_token }),
  })
    .then(async (response) => {
      if (!response.ok) return false;
      keep((await response.json()) as Tokens);
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

const signedIn: Middleware = {
  onRequest({ request }) {
    const tokens = storedTokens();
    if (tokens) request.headers.set("Authorization", `Bearer ${tokens.access_token}`);
    request.headers.set("Accept-Language", language);
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || request.url.includes("/v1/auth/")) return response;
    if (await refresh()) {
      const retry = request.clone();
      retry.headers.set("Authorization", `Bearer ${storedTokens()!.access_token}`);
      return fetch(retry);
    }
    keep(null);
    onSignedOut();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(signedIn);

/** The data of a call, or an ApiError. */
export async function call<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await pending;
  if (error !== undefined || !response.ok) throw errorOf(response, error);
  return data as T;
}

/** The second factor of a sign-in, for a user with two-factor sign-in: a code, or a recovery code. */
export type SecondFactor = { totp_code: string } | { recovery_code: string } | Record<string, never>;

export async function signIn(username: string, password: string, second: SecondFactor = {}): Promise<Tokens> {
  const tokens = await call(api.POST("/v1/auth/login", { body: { username, password, ...second } }));
  keep(tokens);
  return tokens;
}

export async function signOut(): Promise<void> {
  const tokens = storedTokens();
  keep(null);
  if (tokens) await api.POST("/v1/auth/logout", { body: { refresh_token: tokens.refresh_token } });
}
