import { createApp } from "vue";
import ElementPlus from "element-plus";
import "element-plus/dist/index.css";
import App from "./App.vue";
import { setLanguage, whenSignedOut } from "./api/client";
import { i18n, type Language } from "./i18n";
import { router } from "./router";

setLanguage(i18n.global.locale.value as Language);
whenSignedOut(() => router.push({ name: "sign-in" }));
createApp(App).use(i18n).use(router).use(ElementPlus).mount("#app");
