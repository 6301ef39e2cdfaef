-- wrong (Q39): archives the post but throws its comments away instead of archiving them.
BEGIN;
INSERT INTO posts_archive (id, user_id, title, body, status, created_at)
SELECT id, user_id, title, body, status, created_at FROM posts WHERE id = :post_id;
DELETE FROM post_tags WHERE post_id = :post_id;
DELETE FROM comments WHERE post_id = :post_id;
DELETE FROM posts WHERE id = :post_id;
COMMIT;
