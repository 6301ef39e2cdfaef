-- wrong (Q118): a single-column index: finds the user's posts, but filters status row by
-- row and sorts them afterwards.
CREATE INDEX posts_user_idx ON posts (user_id);
