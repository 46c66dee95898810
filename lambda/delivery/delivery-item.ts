import type { Delivery } from "../clarifai/to-annotation.js";

/** One annotation to deliver, keyed so its outcome can be found again. */
export interface DeliveryItem {
  readonly key: string;
  readonly delivery: Delivery;
  /** The record was received before (`ApproximateReceiveCount > 1`): an earlier attempt may have landed. */
  readonly redelivered: boolean;
  /** This is the record's last receive: a failure now dead-letters it, so first make sure it did not land. */
  readonly finalAttempt?: boolean;
}
