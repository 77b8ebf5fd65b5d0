import { type HttpAnswer, httpRequest } from '@hookstream/testkit';
import Stripe from 'stripe';

/** POSTs `body` to ingest's `/v1/webhooks/{source}` on `port`, signed by Stripe's own library with `secret` (now). */
export function postStripe(port: number, body: string, secret: string, source = 'stripe'): Promise<HttpAnswer> {
  return httpRequest({
    port,
    path: `/v1/webhooks/${source}`,
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Math.floor(Date.now() / 1000) }),
    },
  });
}
