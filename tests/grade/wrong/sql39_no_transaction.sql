-- wrong (Q39): the right statements without BEGIN/COMMIT: each one commits on its own, so a
-- failure midway leaves the post half moved.
INSERT INTO posts_archive (id, user_id, title, body, status, created_at)
SELECT id, user_id, title, body, status, created_at FROM posts WHERE id = :post_id;
INSERT INTO comments_archive (id, post_id, user_id, body, created_at)
SELECT id, post_id, user_id, body, created_at FROM comments WHERE post_id = :post_id;
DELETE FROM post_tags WHERE post_id = :post_id;
DELETE FROM comments WHERE post_id = :post_id;
DELETE FROM posts WHERE id = :post_id;
