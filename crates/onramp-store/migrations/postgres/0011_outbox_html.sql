-- The HTML part of an email, beside its text part (`body`); empty for a message with text only (those
-- queued before this migration). Both parts come from the same templates, and both are emptied together
-- when an invitation's message is sent, given up or cancelled, since both hold its secret link.
ALTER TABLE outbox ADD COLUMN html_body TEXT NOT NULL DEFAULT '';
