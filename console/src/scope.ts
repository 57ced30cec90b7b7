// The community a town or community officer is kept to. The access token says it (its `scp` claim, set
// when the token was issued), so pages know it at once; its names come from /v1/communities, read once.
import { ref, type Ref } from "vue";
import { api, call, storedTokens, type Schemas } from "@/api/client";

type Community = Schemas["CommunityRead"];

/** The community the signed-in administrator is kept to; null for the whole district, or no one. */
export function signedInScope(): number | null {
  const token = storedTokens()?.access_token;
  const claims = token?.split(".")[1];
  if (!claims) return null;
  try {
    const decoded = JSON.parse(atob(claims.replace(/-/g, "+").replace(/_/g, "/"))) as { scp?: unknown };
    return typeof decoded.scp === "number" ? decoded.scp : null;
  } catch {
    return null;
  }
}

const communities = ref<Community[]>([]);
let reading: Promise<void> | null = null;

/** Jinnan's towns, streets and areas (a dozen), read once for every page that names one. */
export function useCommunities(): Ref<Community[]> {
  reading ??= call(api.GET("/v1/communities")).then(
    (found) => {
      communities.value = found;
    },
    () => {
      reading = null; // asked again by the next page
    },
  );
  return communities;
}

/** A community's name in the user's language. */
export function communityName(community: Community | null | undefined, lang: string): string {
  if (!community) return "";
  return lang === "en" ? community.name_en : community.name_zh;
}
