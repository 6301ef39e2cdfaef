-- Q39: move one post (:post_id) and its comments into the archive tables, atomically.
-- Inside one transaction either every statement takes effect or none does: if anything
-- fails midway (a constraint, a trigger, the connection), the client stops, the
-- transaction is rolled back (explicitly or by the disconnect) and the post is still where
-- it was, never half copied or half deleted. Order matters for the foreign keys: copy the
-- parent before its children, delete children before their parent.
BEGIN;

INSERT INTO posts_archive (id, user_id, title, body, status, created_at)
SELECT id, user_id, title, body, status, created_at FROM posts WHERE id = :post_id;

INSERT INTO comments_archive (id, post_id, user_id, body, created_at)
SELECT id, post_id, user_id, body, created_at FROM comments WHERE post_id = :post_id;

DELETE FROM post_tags WHERE post_id = :post_id;
DELETE FROM comments WHERE post_id = :post_id;
DELETE FROM posts WHERE id = :post_id;

COMMIT;
