-- Q113: the slow query
--   SELECT id, post_id, created_at FROM comments
--   WHERE user_id = ? AND created_at >= '2024-02-01 00:00:00' ORDER BY created_at, id
-- EXPLAIN ANALYZE (PostgreSQL) / EXPLAIN QUERY PLAN (SQLite) shows a full scan of comments
-- ("Seq Scan on comments" with "Rows Removed by Filter", or "SCAN comments"). The equality
-- column first, then the range column: the index finds the user's comments since the date
-- as one range, already in created_at order.
CREATE INDEX comments_user_created_idx ON comments (user_id, created_at);
-- fresh statistics so the planner knows the new index is selective
ANALYZE comments;
