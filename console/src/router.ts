// Views and their URLs; a view's filters live in its query string, so that a link shares the view.
import { createRouter, createWebHashHistory } from "vue-router";
import { storedTokens } from "@/api/client";

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", redirect: "/dashboard" },
    { path: "/sign-in", name: "sign-in", component: () => import("@/views/SignInView.vue") },
    { path: "/dashboard", name: "dashboard", component: () => import("@/views/DashboardView.vue") },
    { path: "/review", name: "review", component: () => import("@/views/ReviewView.vue") },
    { path: "/flags", name: "flags", component: () => import("@/views/FlagsView.vue") },
    { path: "/enterprises", name: "enterprises", component: () => import("@/views/EnterprisesView.vue") },
    { path: "/partners", name: "partners", component: () => import("@/views/PartnersView.vue") },
    { path: "/audit", name: "audit", component: () => import("@/views/AuditView.vue") },
  ],
});

router.beforeEach((to) => {
  if (to.name !== "sign-in" && !storedTokens()) return { name: "sign-in", query: { next: to.fullPath } };
  return true;
});
