-- wrong (Q118): both filters, but created_at is not in the index: the rows still need a sort.
CREATE INDEX posts_user_status_idx ON posts (user_id, status);
