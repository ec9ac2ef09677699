-- Whether an onboard holds its user DISABLED: the invitation's acceptance created the user DISABLED to wait
-- for this onboard, and nobody has set the user's status since. Only then does completing the onboard
-- enable the user; setting a user's status (or deleting the user) clears it on every onboard of the user.
ALTER TABLE onboards ADD COLUMN holds_user_disabled BIGINT NOT NULL DEFAULT 0;

-- Existing rows: an acceptance created its user DISABLED exactly when an onboard of the invitation existed
-- by the end of the acceptance (made before it, or started by it, so created no later than accepted_at); an
-- onboard made after the acceptance never disabled anyone. Of those, only onboards not completed whose user
-- is still DISABLED can still be holding the user.
UPDATE onboards SET holds_user_disabled = 1
WHERE user_id IS NOT NULL
  AND status <> 'completed'
  AND created_at <= (SELECT accepted_at FROM invitations WHERE invitations.id = onboards.invitation_id)
  AND (SELECT status FROM users WHERE users.id = onboards.user_id) = 'DISABLED';
