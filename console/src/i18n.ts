// The console's words, zh-CN first. Dates and periods are shown in Asia/Shanghai, the district's time.
import { createI18n, useI18n } from "vue-i18n";
import { setLanguage } from "./api/client";

const messages = {
  "zh-CN": {
    app: { title: "海河碳普惠 · 管理后台", language: "English", signOut: "退出登录" },
    signIn: {
      title: "登录管理后台",
      username: "用户名",
      password: "密码",
      submit: "登录",
      required: "请填写用户名和密码",
    },
    nav: { dashboard: "数据看板" },
    dashboard: {
      title: "数据看板",
      range: "统计区间",
      byDay: "按日",
      byMonth: "按月",
      credited: "累计减排",
      behaviours: "低碳行为",
      active: "活跃居民",
      registered: "注册居民",
      trend: "每日减排（千克 CO₂e）",
      trendMonth: "每月减排（千克 CO₂e）",
      byBehaviour: "按行为类型",
      byCommunity: "按街镇",
      unassigned: "未选择街镇",
      behaviourType: "行为类型",
      community: "街镇",
      grams: "减排（克）",
      residents: "居民",
      empty: "该区间内没有数据",
    },
  },
  en: {
    app: { title: "Haihe Carbon Inclusion · Console", language: "中文", signOut: "Sign out" },
    signIn: {
      title: "Sign in to the console",
      username: "Username",
      password: "Password",
      submit: "Sign in",
      required: "Enter your username and password",
    },
    nav: { dashboard: "Dashboard" },
    dashboard: {
      title: "Dashboard",
      range: "Range",
      byDay: "By day",
      byMonth: "By month",
      credited: "CO₂e reduced",
      behaviours: "Low-carbon behaviours",
      active: "Active residents",
      registered: "Registered residents",
      trend: "Reduced per day (kg CO₂e)",
      trendMonth: "Reduced per month (kg CO₂e)",
      byBehaviour: "By behaviour type",
      byCommunity: "By town",
      unassigned: "No town chosen",
      behaviourType: "Behaviour type",
      community: "Town",
      grams: "Reduced (g)",
      residents: "Residents",
      empty: "No data in this range",
    },
  },
};

export type Language = keyof typeof messages;
export const LANGUAGE_KEY = "tanpuhui.console.language";

export const i18n = createI18n({
  legacy: false,
  locale: (localStorage.getItem(LANGUAGE_KEY) as Language | null) ?? "zh-CN",
  fallbackLocale: "zh-CN",
  messages,
});

/** Today in Asia/Shanghai, as YYYY-MM-DD. */
export function shanghaiToday(): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

/** The user's language: switched here, remembered in the browser, told to the API client. */
export function useLanguage(): { switchLanguage: () => void } {
  const { locale } = useI18n();
  return {
    switchLanguage() {
      const next: Language = locale.value === "en" ? "zh-CN" : "en";
      locale.value = next;
      setLanguage(next);
      localStorage.setItem(LANGUAGE_KEY, next);
      document.documentElement.lang = next;
    },
  };
}
