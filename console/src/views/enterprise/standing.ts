// Whether the signed-in user's enterprise is approved: until it is, its users see their application and
// nothing else. Asked of the API once per sign-in (a review ends the tokens, and so asks again).
import { api, call, storedTokens } from "@/api/client";

let known: { key: string; status: string } | null = null;

/** The enterprise's status: pending, approved, rejected or suspended. */
export async function enterpriseStatus(): Promise<string> {
  const key = storedTokens()?.refresh_token ?? "";
  if (known !== null && known.key === key) return known.status;
  const status = (await call(api.GET("/v1/enterprise/application"))).status;
  known = { key: storedTokens()?.refresh_token ?? key, status };
  return status;
}

/** Keep a status just read, so that the next page does not ask again. */
export function rememberStatus(status: string): void {
  known = { key: storedTokens()?.refresh_token ?? "", status };
}
