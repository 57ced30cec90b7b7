// What every page does the same way: keep its refusal (shown in the user's language), hold filters in
// the URL, and ask an operator for the reason a decision needs.
import { computed, ref, type Ref, type WritableComputedRef } from "vue";
import { useI18n } from "vue-i18n";
import { useRoute, useRouter } from "vue-router";
import { ElMessageBox } from "element-plus";
import { explain, signedInRole } from "@/api/client";
import { signedInScope } from "@/scope";

/** What the signed-in administrator may change, as the API decides it: an auditor reads everything and
 * changes nothing; keys, partners and users are a super administrator's; an officer kept to one
 * community (not `district`) has its residents' pages only. Buttons and pages follow; the API refuses
 * anyway. */
export function usePowers(): { canChange: boolean; canAdminister: boolean; district: boolean } {
  const role = signedInRole();
  return {
    canChange: role === "admin-operator" || role === "admin-super",
    canAdminister: role === "admin-super",
    district: signedInScope() === null,
  };
}

/** A page's loading state and last refusal; `attempt` runs work, keeping any refusal to show. */
export function usePageState(): {
  loading: Ref<boolean>;
  refusal: Readonly<Ref<string>>;
  attempt: (work: () => Promise<void>) => Promise<boolean>;
} {
  const { locale } = useI18n();
  const loading = ref(false);
  const failure = ref<unknown>(null);
  const refusal = computed(() => (failure.value === null ? "" : explain(failure.value, locale.value)));
  async function attempt(work: () => Promise<void>): Promise<boolean> {
    loading.value = true;
    failure.value = null;
    try {
      await work();
      return true;
    } catch (error) {
      failure.value = error;
      return false;
    } finally {
      loading.value = false;
    }
  }
  return { loading, refusal, attempt };
}

/** A filter kept in the URL's query, so that a link shares the view; `fallback` when absent. */
export function useQueryParam<T extends string>(name: string, fallback: T): WritableComputedRef<T> {
  const route = useRoute();
  const router = useRouter();
  return computed<T>({
    get: () => {
      const value = route.query[name];
      return typeof value === "string" && value ? (value as T) : fallback;
    },
    set: (value) => void router.replace({ query: { ...route.query, [name]: value && value !== fallback ? value : undefined } }),
  });
}

/** Ask for the reason a decision is kept with; null when the operator cancels. */
export function useReasonPrompt(): (question: string, title: string) => Promise<string | null> {
  const { t } = useI18n();
  return async (question, title) => {
    try {
      const answer = await ElMessageBox.prompt(question, title, {
        inputPattern: /\S/,
        inputErrorMessage: t("review.reasonNeeded"),
        inputPlaceholder: t("review.reason"),
      });
      return answer.value.trim();
    } catch {
      return null;
    }
  };
}
