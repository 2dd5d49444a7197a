// A provider's instance events (created, ready, failed, draining, deleted), recorded in the store before they are
// passed on: every provider the runtime starts reports through this.
import type { Store } from '../metrics/store.js';
import type { InstanceEvent } from '../providers/local.js';

export function recordInstanceEvents(store: Store, forward?: (e: InstanceEvent) => void): (e: InstanceEvent) => void {
  return (e) => {
    try {
      store.addEvent(e);
    } catch {
      // A store that failed has told onFailure; the event is still reported below.
    }
    forward?.(e);
  };
}
