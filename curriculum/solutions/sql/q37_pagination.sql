-- Q37: one page of posts, newest first. The order must be total (id breaks ties between
-- equal timestamps), otherwise the database may order tied rows differently from one page
-- to the next and a post can show up twice or never.
SELECT id, title, created_at
FROM posts
ORDER BY created_at DESC, id DESC
LIMIT :limit OFFSET :offset;
