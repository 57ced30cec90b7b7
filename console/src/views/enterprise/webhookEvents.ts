// The event types an enterprise's webhook endpoint may receive, and the words that name them.

export const EVENT_TYPES = ["voucher.accepted", "voucher.cancelled", "retirement.certified"] as const;

/** The message key naming an event type; one the console does not know is named by itself. */
export function eventKey(type: string): string {
  return (EVENT_TYPES as readonly string[]).includes(type) ? `enterprise.webhooks.eventTypes.${type.replace(".", "_")}` : type;
}
