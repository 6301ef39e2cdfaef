-- Q118: one composite index for
--   SELECT id, title, created_at FROM posts
--   WHERE user_id = ? AND status = 'published' ORDER BY created_at DESC, id DESC LIMIT 10
-- Equality columns first (user_id, status: together they narrow the search to one
-- contiguous range of the index), then the ORDER BY columns in order: inside that range
-- the entries are already sorted by (created_at, id), so the database reads the newest 10
-- backwards and stops, with no sort step. A single-column index on user_id would find the
-- user's posts but filter status row by row and sort them all.
CREATE INDEX posts_user_status_created_idx ON posts (user_id, status, created_at, id);
