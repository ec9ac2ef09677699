-- Webhook subscriptions and their deliveries (issue #16).
--
-- A subscription's signing secret is not stored: it is derived from the server's webhook key (kept outside
-- the database) and `secret_version`, which a rotation moves on. `event_types` is the subscribed types
-- between commas (`,user.created,invitation.accepted,`) so that the write that causes an event finds its
-- subscriptions with one LIKE; `last_seq` numbers the subscription's deliveries in the order their
-- transactions commit (the increment locks the row until the transaction ends).
CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    secret_version BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant_id, id);

-- One row per (event, subscription): the outbox of webhooks, written in the transaction of the change.
-- `event_id` is the `webhook-id` a receiver deduplicates on (a manual redelivery keeps it); `seq` orders
-- a subscription's deliveries. A delivery is pending until `delivered_at` or `failed_at` (dead-lettered).
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_attempt_at BIGINT,
    last_status BIGINT,
    last_error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    failed_at BIGINT
);
CREATE UNIQUE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, seq)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
