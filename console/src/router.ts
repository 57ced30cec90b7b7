// Views and their URLs; a view's filters live in its query string, so that a link shares the view.
import { createRouter, createWebHashHistory } from "vue-router";
import { enrolmentOnly, signedInRole, storedTokens } from "@/api/client";
import { enterpriseStatus } from "@/views/enterprise/standing";

/** Where each kind of user starts: an enterprise at its counter, an administrator on the dashboard. */
export function homeOf(role: string | null): string {
  return role === "enterprise" ? "/counter" : "/dashboard";
}

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", redirect: () => homeOf(signedInRole()) },
    { path: "/sign-in", name: "sign-in", component: () => import("@/views/SignInView.vue") },
    { path: "/dashboard", name: "dashboard", component: () => import("@/views/DashboardView.vue") },
    { path: "/review", name: "review", component: () => import("@/views/ReviewView.vue") },
    { path: "/flags", name: "flags", component: () => import("@/views/FlagsView.vue") },
    { path: "/enterprises", name: "enterprises", component: () => import("@/views/EnterprisesView.vue") },
    { path: "/partners", name: "partners", component: () => import("@/views/PartnersView.vue") },
    { path: "/sites", name: "sites", component: () => import("@/views/SitesView.vue") },
    { path: "/audit", name: "audit", component: () => import("@/views/AuditView.vue") },
    { path: "/factors", name: "factors", component: () => import("@/views/FactorsView.vue") },
    { path: "/factors/drafts/:id", name: "factor-draft", component: () => import("@/views/factors/DraftView.vue") },
    { path: "/users", name: "users", component: () => import("@/views/UsersView.vue") },
    { path: "/counter", name: "counter", component: () => import("@/views/CounterView.vue") },
    { path: "/credits", name: "credits", component: () => import("@/views/CreditsView.vue") },
    { path: "/residents/:publicId?", name: "residents", component: () => import("@/views/ResidentView.vue") },
    { path: "/reports", name: "reports", component: () => import("@/views/ReportsView.vue") },
    { path: "/apply", name: "apply", component: () => import("@/views/enterprise/ApplyView.vue") },
    { path: "/application", name: "application", component: () => import("@/views/enterprise/ApplicationView.vue") },
    { path: "/rewards", name: "rewards", component: () => import("@/views/enterprise/RewardsView.vue") },
    { path: "/vouchers", name: "vouchers", component: () => import("@/views/enterprise/VouchersView.vue") },
    { path: "/statement", name: "statement", component: () => import("@/views/enterprise/StatementView.vue") },
    { path: "/webhooks/:id?", name: "webhooks", component: () => import("@/views/enterprise/WebhooksView.vue") },
    { path: "/account", name: "account", component: () => import("@/views/AccountView.vue") },
  ],
});

/** Pages anyone may open: signing in, and an enterprise's application to join. */
export const PUBLIC_PAGES = new Set(["sign-in", "apply"]);

router.beforeEach(async (to) => {
  if (PUBLIC_PAGES.has(String(to.name))) return true;
  // an administrator held to two-factor sign-in reaches only their account until it is on
  if (storedTokens() && enrolmentOnly() && to.name !== "account") return { name: "account" };
  if (storedTokens()) return await untilApproved(to.name);
  // a page asked for is returned to after signing in; the bare address goes to the user's own home
  const asked = to.redirectedFrom === undefined || to.redirectedFrom.path !== "/";
  return { name: "sign-in", query: asked ? { next: to.fullPath } : {} };
});

/** An enterprise not approved yet sees its application, whatever page it asks for. */
async function untilApproved(name: unknown): Promise<true | { name: string }> {
  if (signedInRole() !== "enterprise" || name === "application" || name === "account") return true;
  try {
    return (await enterpriseStatus()) === "approved" ? true : { name: "application" };
  } catch {
    return true; // the page itself shows why the API refused
  }
}
