// Views and their URLs; a view's filters live in its query string, so that a link shares the view.
import { createRouter, createWebHashHistory } from "vue-router";
import { signedInRole, storedTokens } from "@/api/client";

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
    { path: "/users", name: "users", component: () => import("@/views/UsersView.vue") },
    { path: "/counter", name: "counter", component: () => import("@/views/CounterView.vue") },
    { path: "/credits", name: "credits", component: () => import("@/views/CreditsView.vue") },
  ],
});

router.beforeEach((to) => {
  if (to.name === "sign-in" || storedTokens()) return true;
  // a page asked for is returned to after signing in; the bare address goes to the user's own home
  const asked = to.redirectedFrom === undefined || to.redirectedFrom.path !== "/";
  return { name: "sign-in", query: asked ? { next: to.fullPath } : {} };
});
